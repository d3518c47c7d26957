"""`connectus mcp` as a client starts it: a subprocess speaking MCP on stdin/stdout, acting
for the user of CONNECTUS_API_KEY over the CLI's database settings."""

from __future__ import annotations

import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from sqlalchemy import select

from store.models import Integration, Role
from tests.mcp.conftest import Live
from tools.registry import every_tool

ROOT = Path(__file__).resolve().parents[2]


async def test_connectus_mcp_over_stdio_lists_tools_and_reads(live: Live, tmp_path: Path,
                                                               ) -> None:
    server = StdioServerParameters(command=sys.executable, args=["-m", "ui.cli", "mcp"],
                                   cwd=ROOT, env={
        "DATABASE_URL": live.database_url, "REDIS_URL": live.redis_url,
        "CONNECTUS_DATA_DIR": str(tmp_path), "CONNECTUS_SECRET_KEYS": live.secret_key,
        "CONNECTUS_API_KEY": live.viewer_key})
    with (tmp_path / "stderr.log").open("w+") as errors:
        async with stdio_client(server, errlog=errors) as (reading, writing), \
                ClientSession(reading, writing) as session:
            await session.initialize()
            names = {tool.name for tool in (await session.list_tools()).tools}
            listed = await session.call_tool("list_integrations", {})
            refused = await session.call_tool("delete_integration",
                                              {"integration": "HubSpot (sandbox)"})
    # the viewer's own tools: reads, and the decisions
    assert names == {tool.name for tool in every_tool() if not tool.writes
                     and tool.role == Role.viewer} | {"confirm", "cancel"}
    assert not listed.is_error, listed.content
    async with live.services.db.session(live.demo.tenant_id) as db:
        stored = set((await db.scalars(select(Integration.name))).all())
    assert listed.structured_content is not None
    assert {i["name"] for i in listed.structured_content["result"]} == stored
    assert refused.is_error and "you are viewer" in str(refused.content)  # the key's role
