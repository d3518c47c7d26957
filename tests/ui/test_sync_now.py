"""POST /integrations/integrations/{id}/sync_now/ queues one run per flow (never a second
one for a flow already running), a worker runs it, and /integrations/sync-runs/ shows it."""

from __future__ import annotations

from typing import Any

import httpx

from store.accounts import create_user, issue_api_key
from store.models import Role
from tests.conftest import make_tenant
from tests.jobs.conftest import make_flow
from tests.queued_jobs import run_queued_jobs
from tools.context import Services


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_sync_now_queues_one_run_and_a_worker_syncs_it(
        services: Services, api: httpx.AsyncClient, sandbox: Any, redis_url: str) -> None:
    flow = await make_flow(services, sandbox.url, contacts=250, sandbox=sandbox)
    url = f"/integrations/integrations/{flow.integration.id}/sync_now/"
    first = await api.post(url, headers=_auth(flow.key))
    assert first.status_code == 202, first.text
    [started] = first.json()["runs"]
    assert started["data_flow"] == str(flow.id) and started["started"]
    assert started["status"] == "queued"
    again = await api.post(url, headers=_auth(flow.key), json={"data_flow": "Contacts Sync"})
    assert again.status_code == 202
    assert again.json()["runs"][0]["run_id"] == started["run_id"]
    assert not again.json()["runs"][0]["started"]

    await run_queued_jobs(services, redis_url)
    runs = await api.get("/integrations/sync-runs/", params={"data_flow": str(flow.id)},
                         headers=_auth(flow.key))
    assert runs.status_code == 200
    [run] = runs.json()  # and no upkeep check: the burst worker runs no timed tick
    assert run["id"] == started["run_id"] and run["status"] == "succeeded"
    assert run["records_written"] == 250 and await flow.count() == 250
    one = await api.get(f"/integrations/sync-runs/{run['id']}/", headers=_auth(flow.key))
    assert one.json()["records_read"] == 250

    # the audit log's filter by object finds it with the integration's other actions
    audited = await api.get("/integrations/audit-log/", headers=_auth(flow.key),
                            params={"action": "integration."})
    [entry] = [e for e in audited.json()["items"] if e["action"] == "integration.sync_now"]
    assert entry["details"]["runs"] == [started["run_id"]]


async def test_sync_now_needs_a_member_and_names_an_unknown_flow(
        services: Services, api: httpx.AsyncClient, sandbox: Any) -> None:
    flow = await make_flow(services, sandbox.url, contacts=10, sandbox=sandbox)
    url = f"/integrations/integrations/{flow.integration.id}/sync_now/"
    missing = await api.post(url, headers=_auth(flow.key), json={"data_flow": "Nope"})
    assert missing.status_code == 404 and "Nope" in missing.json()["error"]["message"]
    # another tenant's integration is not found, and a viewer may not start syncs
    _, stranger = await make_tenant(services, "other")
    assert (await api.post(url, headers=_auth(stranger))).status_code == 404
    async with services.db.transaction(None) as session:
        user = await create_user(session, flow.caller.tenant_id, "viewer@acme.example",
                                 Role.viewer)
        viewer = await issue_api_key(session, user)
    refused = await api.post(url, headers=_auth(viewer))
    assert refused.status_code == 403 and "member" in refused.json()["error"]["message"]
