"""What a worker's workflow runs share: one HTTP client that carries nothing from one
tenant's request to another's, and provider usage counted together, none of it lost."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from aiohttp import web
from sqlalchemy import select

from jobs.http_client import shared_client
from jobs.usage_batches import UsageBatches
from store.models import ApiUsage, Integration
from tests.jobs.workflow_kit import new_tenant
from tools.context import Services


async def test_the_shared_client_never_sends_a_cookie_a_provider_set_for_another_call() -> None:
    seen: list[str | None] = []

    def provider(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"Set-Cookie": "session=tenant-a; Path=/"})

    async with shared_client(httpx.MockTransport(provider)) as client:
        await client.get("https://api.example.com/a", headers={"Authorization": "Bearer a"})
        await client.get("https://api.example.com/b", headers={"Authorization": "Bearer b"})
    assert seen == [None, None]
    assert not client.cookies


async def test_the_default_transport_keeps_no_cookie_either() -> None:
    """The worker's own client (aiohttp underneath, with a jar of its own), against a real
    server on loopback that sets a cookie on every answer."""
    seen: list[str | None] = []

    async def provider(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Cookie"))
        response = web.Response(text="{}")
        response.set_cookie("session", "tenant-a")
        return response

    app = web.Application()
    app.router.add_get("/{tail:.*}", provider)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with shared_client() as client:
            for path in ("a", "b", "c"):
                # a name, not an IP: aiohttp's own jar would keep no cookie of an IP's
                answer = await client.get(f"http://localhost:{port}/{path}")
                assert answer.status_code == 200 and "session" in answer.headers["set-cookie"]
    finally:
        await runner.cleanup()
    assert seen == [None, None, None]


async def test_usage_of_many_runs_is_written_together_and_every_call_counted(
        services: Services, api: httpx.AsyncClient, sandbox: Any) -> None:
    tenant = await new_tenant(services, api, sandbox)
    hubspot = tenant.integrations["hubspot"]
    batches = UsageBatches(services.db, every_s=3600)  # flushed by hand below
    tenant_id = tenant.caller.tenant_id
    for _ in range(5):  # five runs, each with a recorder from the batch
        recorder = batches.recorder(tenant_id, uuid.UUID(hubspot))
        await recorder.call(status=200, elapsed_ms=1.0, error=None)
    assert await _calls(services, tenant_id) == 0  # nothing written per run
    await batches.flush()
    await batches.recorder(tenant_id, uuid.UUID(hubspot)).call(status=200, elapsed_ms=1.0,
                                                           error=None)
    assert await _calls(services, tenant_id) == 5
    await batches.close()  # what a stopping worker does: the last call is not lost
    assert await _calls(services, tenant_id) == 6
    async with services.db.session(tenant_id) as session:
        row = await session.get(Integration, uuid.UUID(hubspot))
    assert row is not None and row.api_calls_today == 6


async def _calls(services: Services, tenant_id: Any) -> int:
    async with services.db.session(tenant_id) as session:
        return sum((await session.scalars(select(ApiUsage.calls))).all())
