"""Every tool the agent (and the MCP server) may call, in one place: names and argument
names are a contract the evals rely on.

Reads answer at once; writes are planned, shown, confirmed by a person, then applied
(tools/agent_tool.py). Tenant and user always come from the caller, never from a tool's
arguments.

A new tool is one AgentTool line with an args model and a read function (like
``list_workflows``), or a plan and an apply for a write.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from tools.agent_flow_writes import FLOW_WRITES, UNDO_ONLY
from tools.agent_insights import INSIGHTS
from tools.agent_monitoring import MONITORING
from tools.agent_reads import READS
from tools.agent_tool import AgentTool, Applier
from tools.agent_writes import WRITES
from tools.confirmations import UNDO

TOOLS: dict[str, AgentTool] = {tool.name: tool for tool in [
    *READS, *MONITORING, *INSIGHTS, *WRITES, *FLOW_WRITES, UNDO]}


def tool_named(name: str) -> AgentTool | None:
    return TOOLS.get(name)


def applier(name: str) -> Applier:
    """What applies a write by name: a tool's, or one only an undo runs."""
    tool = TOOLS.get(name)
    if tool is not None and tool.apply is not None:
        return tool.apply
    return UNDO_ONLY[name]


def every_tool() -> list[AgentTool]:
    return list(TOOLS.values())


@cache
def tool_schemas() -> tuple[dict[str, Any], ...]:
    """Every tool as the model sees it; built once (pydantic's JSON schema is not cheap)."""
    return tuple(tool.schema() for tool in TOOLS.values())
