"""`connectus mcp`: the MCP server on stdin/stdout, for clients that start it themselves,
acting for the user of CONNECTUS_API_KEY with the CLI's database settings."""

from __future__ import annotations

from mcp.server.stdio import stdio_server

from tools.auth import authenticate
from tools.context import AuthenticationFailed, Settings
from tools.runtime import running
from ui.mcp.server import build_server


async def serve_stdio(settings: Settings, api_key: str | None) -> None:
    if not api_key:
        raise AuthenticationFailed("set CONNECTUS_API_KEY to the API key to act as")
    # no migrations here: clients start this often, and `connectus up` or a deploy owns them
    async with running(settings, migrate=False) as services:
        caller = await authenticate(services, api_key)
        server = build_server(services, lambda _: caller)
        async with stdio_server() as (reading, writing):
            await server.run(reading, writing, server.create_initialization_options())
