"""/mcp counts every request against its key's CONNECTUS_MCP_RATE_LIMIT, in Redis, after
the key is checked and before the MCP SDK reads anything: past it a 429 in the one error
shape with Retry-After; another key has its own window; an unknown key stays a 401."""

from __future__ import annotations

import dataclasses

import httpx
from starlette.types import Receive, Scope, Send

from tests.conftest import make_tenant, second_key
from tools.context import Services
from ui.mcp.http import KeyRequired


async def test_a_key_past_its_mcp_rate_gets_a_429_before_the_sdk_sees_it(
        services: Services) -> None:
    limited = dataclasses.replace(services, settings=dataclasses.replace(
        services.settings, mcp_rate_limit="3/minute"), extras={})
    caller, key = await make_tenant(services, "acme")
    other_key = await second_key(services, caller)
    reached: list[str] = []

    async def sdk(scope: Scope, receive: Receive, send: Send) -> None:  # stands in for it
        reached.append(dict(scope["headers"])[b"authorization"].decode())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    transport = httpx.ASGITransport(app=KeyRequired(sdk, limited))
    async with httpx.AsyncClient(transport=transport, base_url="http://connectus.test") as mcp:
        def post(key: str) -> httpx.Request:
            return mcp.build_request("POST", "/mcp", json={"jsonrpc": "2.0", "id": 1,
                                                           "method": "tools/list"},
                                     headers={"Authorization": f"Bearer {key}"})
        for _ in range(3):
            assert (await mcp.send(post(key))).status_code == 200
        refused = await mcp.send(post(key))
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "rate_limited" and "CONNECTUS_MCP_RATE_LIMIT" in error["message"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert (await mcp.send(post(other_key))).status_code == 200
        assert (await mcp.send(post("cx_not-a-key"))).status_code == 401
    assert len(reached) == 4  # the refused ones never reached the SDK
