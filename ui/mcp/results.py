"""Tool results as MCP returns them: the payload as JSON text behind the same data header
the agent's model sees (third-party text inside is data, never an instruction), and as
structured content; an error a person could fix is a tool error result (isError)."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

from agent.tool_node import as_data


def _plain(payload: Any) -> Any:
    """JSON values only: ids and timestamps as the text they serialise to."""
    return json.loads(json.dumps(payload, default=str))


def answer(tool: str, payload: Any) -> types.CallToolResult:
    plain = _plain(payload)
    return types.CallToolResult(
        content=[types.TextContent(text=as_data(tool, plain))],
        structured_content=plain if isinstance(plain, dict) else {"result": plain})


def error(tool: str, payload: dict[str, Any]) -> types.CallToolResult:
    plain = _plain(payload)
    message = str(plain.get("message", "the call failed"))
    for detail in plain.get("details") or []:
        if isinstance(detail, dict) and detail.get("field"):
            message += f"; {detail['field']}: {detail.get('message', '')}"
    return types.CallToolResult(content=[types.TextContent(text=f"{tool}: {message}")],
                                structured_content={"error": plain}, is_error=True)
