"""Realtime flows, end to end: a signed HubSpot webhook from the simulator -> a delta run
queued -> a worker syncs the changed records. A burst of events costs one run, and
events during a run one follow-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from connectors.registry import connector_spec
from connectors.sandbox.hubspot import webhook_delivery
from jobs.constants import SYNC_JOB
from jobs.sync import realtime, runs
from jobs.sync.schedule import schedule_due_flows
from store.models import DataFlow, SyncedRecord, SyncRun
from tests.queued_jobs import run_queued_jobs
from tools.context import Services

CONTACTS = 60


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _integration(api: httpx.AsyncClient, key: str, provider: str, sandbox_url: str) -> dict:
    demo = connector_spec(provider).sandbox_demo
    created = await api.post("/integrations/integrations/", headers=_auth(key), json={
        "provider": provider, "name": provider, "credentials": demo["credentials"],
        "settings": {**demo["settings"], "sandbox_url": sandbox_url}})
    assert created.status_code == 201, created.text
    return created.json()


class Live:
    """A tenant's HubSpot integration with a realtime contacts flow, made over REST."""

    def __init__(self, services: Services, api: httpx.AsyncClient, key: str, sandbox: Any,
                 redis_url: str) -> None:
        self.services, self.api, self.key, self.sandbox = services, api, key, sandbox
        self.redis_url = redis_url

    async def setup(self) -> None:
        integration = await _integration(self.api, self.key, "hubspot", self.sandbox.url)
        self.webhook_url = "http://connectus.test" + integration["webhook_path"]
        created = await self.api.post("/integrations/data-flows/", headers=_auth(self.key),
                                      json={"integration": integration["id"],
                                            "name": "Contacts Live", "stream": "contacts",
                                            "source_fields": ["email", "firstname"],
                                            "target_fields": ["email", "firstName"],
                                            "sync_frequency": "realtime"})
        assert created.status_code == 201, created.text
        self.flow = created.json()

    async def deliver(self, events: list[dict[str, Any]]) -> httpx.Response:
        headers, body = webhook_delivery(self.sandbox.sandboxes["hubspot"], self.webhook_url,
                                         events)
        answer = await self.api.post(self.webhook_url, headers=headers, content=body)
        assert answer.status_code == 200, answer.text
        return answer

    async def runs(self) -> list[SyncRun]:
        """The flow's sync runs, upkeep checks included: the burst worker starts none."""
        async with self.services.db.transaction(None) as session:
            return list((await session.scalars(select(SyncRun).where(
                SyncRun.data_flow_id == self.flow["id"]).order_by(SyncRun.started_at))).all())

    async def jobs(self) -> list[Any]:
        return [j for j in await self.services.queue.queued_jobs() if j.function == SYNC_JOB]

    async def work(self) -> None:
        await run_queued_jobs(self.services, self.redis_url)

    async def records(self) -> dict[str, dict[str, Any]]:
        async with self.services.db.transaction(None) as session:
            rows = (await session.scalars(select(SyncedRecord).where(
                SyncedRecord.data_flow_id == self.flow["id"]))).all()
        return {r.external_id: r.data for r in rows}

    async def next_run_at(self) -> datetime | None:
        async with self.services.db.transaction(None) as session:
            found: datetime | None = await session.scalar(
                select(DataFlow.next_run_at).where(DataFlow.id == self.flow["id"]))
        return found


def _changes(n: int, kind: str = "contact.propertyChange") -> list[dict[str, Any]]:
    return [{"subscriptionType": kind, "objectId": 1001 + n % 7} for n in range(n)]


@pytest.fixture
async def live(services: Services, api: httpx.AsyncClient, tenant, sandbox: Any,
               redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Live:
    monkeypatch.setattr(realtime, "REALTIME_SETTLE_S", 0.0)  # no waiting in tests
    box = sandbox.sandboxes["hubspot"]
    box.counts_override = {"contacts": CONTACTS}
    box.reset()
    made = Live(services, api, tenant[1], sandbox, redis_url)
    await made.setup()
    return made


async def test_a_signed_webhook_syncs_the_changed_records(live: Live) -> None:
    # the safety net: an hourly delta, for a delivery that never comes
    safety = datetime.fromisoformat(live.flow["next_run_at"]) - datetime.now(UTC)
    assert timedelta(minutes=59) < safety < timedelta(minutes=66)

    first = await live.deliver(_changes(100, "contact.creation"))
    assert first.headers["x-connectus-events-stored"] == "100"
    for _ in range(4):  # the rest of the burst, while the run is still queued
        await live.deliver(_changes(25))
    [run] = await live.runs()
    assert (run.status, run.trigger) == ("queued", "webhook")
    [job] = await live.jobs()
    assert job.args == (live.flow["id"], str(run.id))
    await live.work()
    [run] = await live.runs()
    assert run.status == "succeeded" and run.records_written == CONTACTS
    assert len(await live.records()) == CONTACTS

    # two contacts change at HubSpot, which says so: a delta moves just those two
    async with httpx.AsyncClient(base_url=f"{live.sandbox.url}/hubspot",
                                 headers={"Authorization": "Bearer sandbox"}) as hubspot:
        for contact in ("1003", "1005"):
            changed = await hubspot.patch(f"/crm/v3/objects/contacts/{contact}",
                                          json={"properties": {"firstname": "Live"}})
            assert changed.status_code == 200, changed.text
    await live.deliver(_changes(2))
    _, delta = await live.runs()
    assert (delta.status, delta.trigger) == ("queued", "webhook")
    await live.work()
    _, delta = await live.runs()
    assert delta.status == "succeeded" and delta.cursor_before == run.cursor_after
    assert delta.records_written == 2 and delta.records_read < CONTACTS
    records = await live.records()
    assert {k for k, v in records.items() if v["firstName"] == "Live"} == {"1003", "1005"}


async def test_events_about_other_streams_start_nothing(live: Live) -> None:
    await live.deliver(_changes(3, "company.propertyChange") + _changes(2, "deal.creation"))
    assert await live.runs() == [] and await live.jobs() == []


async def test_events_during_a_run_give_one_follow_up(live: Live, services: Services) -> None:
    await live.deliver(_changes(1))
    [going] = await live.runs()
    taken = await runs.claim(services.db, going.tenant_id, going.data_flow_id,
                             owner="elsewhere", lease_s=60)
    assert taken is not None and taken.status == "running"
    for _ in range(5):  # these may come after the run read past them
        await live.deliver(_changes(20))
    assert len(await live.runs()) == 1
    due = await live.next_run_at()
    assert due is not None and due <= datetime.now(UTC)
    ctx = {"db": services.db, "redis": services.queue}
    assert await schedule_due_flows(ctx) == 0  # not while the run is going

    await runs.finish(services.db, taken, "elsewhere", status="succeeded")
    assert await schedule_due_flows(ctx) == 1
    await live.deliver(_changes(20))  # the follow-up has not started: it reads these too
    assert await schedule_due_flows(ctx) == 0
    first, follow_up = await live.runs()
    assert first.id == going.id and follow_up.status == "queued"
    next_due = await live.next_run_at()
    assert next_due is not None and next_due > datetime.now(UTC) + timedelta(minutes=59)
    await live.work()
    _, follow_up = await live.runs()
    assert follow_up.status == "succeeded" and len(await live.records()) == CONTACTS


async def test_with_redis_down_the_run_waits_in_the_database(
        live: Live, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    async def down(*args: Any, **kwargs: Any) -> None:
        raise RedisConnectionError("redis is down")

    monkeypatch.setattr(services.queue, "enqueue_job", down)
    await live.deliver(_changes(3))  # still answered 200: the events and the run are stored
    [run] = await live.runs()
    assert run.status == "queued"
    # once its job is overdue, the sweep hands it to a worker
    assert [r for _, r, _ in await runs.stalled(services.db, queued_for_s=0)] == [run.id]


async def test_a_realtime_flow_needs_a_stream_its_provider_announces(
        live: Live, api: httpx.AsyncClient, tenant) -> None:
    zapier = await _integration(api, tenant[1], "zapier", live.sandbox.url)
    refused = await api.post("/integrations/data-flows/", headers=_auth(tenant[1]), json={
        "integration": zapier["id"], "name": "Zaps Live", "stream": "zaps",
        "source_fields": ["id"], "target_fields": ["id"], "sync_frequency": "realtime"})
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["details"][0]["field"] == "sync_frequency"
    assert "zapier sends none about 'zaps'" in error["message"]


async def test_a_change_of_anything_else_keeps_the_flows_slot(live: Live,
                                                             api: httpx.AsyncClient) -> None:
    url = f"/integrations/data-flows/{live.flow['id']}/"
    renamed = await api.patch(url, headers=_auth(live.key), json={"name": "Contacts Now"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["next_run_at"] == live.flow["next_run_at"]
    hourly = await api.patch(url, headers=_auth(live.key), json={"sync_frequency": "hourly"})
    assert hourly.json()["next_run_at"] != live.flow["next_run_at"]  # a new frequency: anew
