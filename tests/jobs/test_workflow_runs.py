"""Running workflows: conditions, templates, retries by the failure taxonomy, a permanent
failure and its replays, the HTTP action's address guard, exact counters, delays and
dead letters. Real PostgreSQL, Redis, arq workers and the provider sandbox."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from arq.constants import in_progress_key_prefix
from sqlalchemy import select, update

from connectors.sandbox.kit.faults import Faults
from jobs.constants import QUEUE_NAME
from jobs.workflows import runner, runs
from jobs.workflows.dispatch import sweep
from jobs.workflows.run_writes import End, Save, writes_for
from jobs.workflows.runner import run_workflow
from store.models import HealthLog, Integration, WorkflowRun
from store.models.base import utcnow
from tests.jobs.workflow_kit import NEW_LEAD_ALERT, Tenant, auth, creation, new_tenant
from tools.context import Services

ALERT = NEW_LEAD_ALERT["actions"]


@pytest.fixture
async def tenant(services: Services, api: httpx.AsyncClient, sandbox: Any) -> Tenant:
    return await new_tenant(services, api, sandbox)


def ctx(tenant: Tenant, **extra: Any) -> dict[str, Any]:
    return {"db": tenant.services.db, "vault": tenant.services.vault,
            "redis": tenant.services.queue, "workflow_retry_base_s": 0.05, **extra}


async def test_a_condition_that_does_not_match_runs_nothing(tenant: Tenant) -> None:
    # read from the event alone: decided on arrival, so no run is even made
    await tenant.workflow(name="Only 51", conditions={
        "field": "event.objectId", "op": "equals", "value": 51})
    # read from the fetched record: decided in the run, which does nothing
    await tenant.workflow(name="Only customers", conditions={"all": [
        {"field": "record.properties.email", "op": "exists"},
        {"field": "record.properties.lifecyclestage", "op": "in", "value": ["nobody"]}]})
    await tenant.deliver(creation())
    await tenant.work()
    [run] = await tenant.runs()
    assert run.status == "skipped" and all(s["status"] == "pending" for s in run.steps)
    assert await tenant.contacts() == [] and tenant.slack_messages() == []


async def test_a_condition_that_matches_runs(tenant: Tenant) -> None:
    person = tenant.hubspot_contact()
    await tenant.workflow(conditions={"any": [
        {"field": "record.properties.email", "op": "regex", "value": r"@[a-z.]+\.example$"},
        {"not": {"field": "event.objectId", "op": "gt", "value": "0"}}]})
    await tenant.deliver(creation())
    await tenant.work()
    [run] = await tenant.runs()
    assert run.status == "succeeded"
    assert [c.email for c in await tenant.contacts()] == [person["email"]]


async def test_templates_read_the_event_the_record_and_earlier_steps(tenant: Tenant) -> None:
    person = tenant.hubspot_contact()
    await tenant.workflow(actions=[
        {"type": "create_contact", "target": "digisol_crm", "id": "crm",
         "fields": {"lead_source": "{{ event.changeSource | lower }}"}},
        {"type": "send_notification", "text": "{{ record.properties.firstname }} via "
         "{{ event.subscriptionType }} #{{ event.objectId }} -> {{ steps.crm.key }} "
         "(new: {{ steps[0].created }})"}])
    await tenant.deliver(creation(changeSource="CRM_UI"))
    await tenant.work()
    [message] = tenant.slack_messages()
    assert message["text"] == (f"{person['firstname']} via contact.creation #1001 -> "
                               f"{person['email'].lower()} (new: True)")
    [contact] = await tenant.contacts()
    assert contact.data["lead_source"] == "crm_ui"


async def test_a_transient_failure_is_retried_with_backoff(tenant: Tenant) -> None:
    workflow = await tenant.workflow()
    await tenant.deliver(creation())
    [run] = await tenant.runs()
    slack = tenant.sandbox.sandboxes["slack"]
    slack.set_faults(Faults(rate_5xx=1.0))  # Slack is down for the first try
    first = await run_workflow(ctx(tenant), str(run.id))
    assert first["status"] == "retrying"
    slack.set_faults(Faults())
    await tenant.work()  # the retry, queued for when its backoff ends
    [run] = await tenant.runs()
    assert run.status == "succeeded" and run.error is None
    crm, notify = run.steps
    assert crm["attempts"] == 1 and notify["attempts"] == 2
    [retry] = notify["retries"]
    assert retry["code"] == "provider_down" and retry["retry_in_s"] == pytest.approx(0.05)
    assert len(tenant.slack_messages()) == 1 and len(await tenant.contacts()) == 1
    assert await tenant.counts(workflow["id"]) == (1, 1)


async def test_a_permanent_failure_stops_the_run_with_its_cause_and_replays(
        tenant: Tenant) -> None:
    workflow = await tenant.workflow(actions=[
        ALERT[0], {"type": "send_notification", "slack_channel": "C069999999"},
        {"type": "create_contact", "target": "digisol_crm", "key": "never"}])
    await tenant.deliver(creation())
    await tenant.work()
    [run] = await tenant.runs()
    assert run.status == "failed"
    assert "step 2 (send_notification) failed" in run.error
    assert "channel_not_found" in run.error
    assert [s["status"] for s in run.steps] == ["succeeded", "failed", "pending"]
    assert run.steps[1]["attempts"] == 1 and run.steps[1]["error_kind"] == "config"
    assert await tenant.counts(workflow["id"]) == (1, 0)
    async with tenant.services.db.session(tenant.caller.tenant_id) as session:
        [log] = (await session.scalars(select(HealthLog).where(
            HealthLog.category.startswith("workflow_")))).all()
        slack = await session.get(Integration, uuid.UUID(tenant.integrations["slack"]))
    assert log.category == "workflow_action_refused" and log.details["step"] == "actions[1]"
    assert str(log.integration_id) == tenant.integrations["slack"]
    assert slack is not None and slack.status != "error"  # one message refused, not Slack
    keys = sorted(c.key for c in await tenant.contacts())
    assert len(keys) == 1

    # fix the channel, then go on from the failed step: the CRM step is not run again
    fixed = await tenant.api.patch(f"/integrations/workflows/{workflow['id']}/",
                                   headers=auth(tenant.key), json={"actions": [
                                       ALERT[0], {"type": "send_notification"},
                                       {"type": "create_contact", "key": "never"}]})
    assert fixed.status_code == 200, fixed.text
    replay = await tenant.api.post(f"/integrations/workflow-runs/{run.id}/replay/",
                                   headers=auth(tenant.key), json={"from": "failed_step"})
    assert replay.status_code == 202, replay.text
    assert replay.json()["started"] and replay.json()["run"]["replay_of"] == str(run.id)
    twice = await tenant.api.post(f"/integrations/workflow-runs/{run.id}/replay/",
                                  headers=auth(tenant.key), json={"from": "failed_step"})
    assert not twice.json()["started"]  # the open replay, not a second one
    await tenant.work()
    done = (await tenant.api.get(f"/integrations/workflow-runs/{replay.json()['run']['id']}/",
                                 headers=auth(tenant.key))).json()
    assert done["status"] == "succeeded", done
    assert done["steps"][0]["reused_from"] == str(run.id)
    assert [s["status"] for s in done["steps"]] == ["succeeded"] * 3
    assert len(tenant.slack_messages()) == 1
    assert sorted(c.key for c in await tenant.contacts()) == sorted([*keys, "never"])

    # and from the trigger: every step again, the CRM contact updated, not duplicated
    again = await tenant.api.post(f"/integrations/workflow-runs/{run.id}/replay/",
                                  headers=auth(tenant.key), json={"from": "trigger"})
    assert again.status_code == 202
    await tenant.work()
    last = (await tenant.api.get(f"/integrations/workflow-runs/{again.json()['run']['id']}/",
                                 headers=auth(tenant.key))).json()
    assert last["status"] == "succeeded" and last["steps"][0]["attempts"] == 1
    assert last["steps"][0]["output"]["created"] is False
    assert len(tenant.slack_messages()) == 2 and len(await tenant.contacts()) == 2
    assert await tenant.counts(workflow["id"]) == (3, 2)
    refused = await tenant.api.post(f"/integrations/workflow-runs/{again.json()['run']['id']}"
                                    "/replay/", headers=auth(tenant.key),
                                    json={"from": "failed_step"})
    assert refused.status_code == 409


@pytest.mark.parametrize("url", ["http://10.0.0.7/hook", "http://169.254.169.254/latest/",
                                 "http://127.0.0.1:9/x", "http://[::1]/x"])
async def test_the_http_action_refuses_a_private_address(tenant: Tenant, url: str) -> None:
    saved = await tenant.api.post("/integrations/workflows/", headers=auth(tenant.key), json={
        "integration": tenant.integrations["hubspot"], "name": "Hook", "trigger_type":
        "webhook", "trigger_config": {"event": "contact.creation"},
        "actions": [{"type": "http_request", "url": url}]})
    assert saved.status_code == 422, saved.text
    error = saved.json()["error"]
    assert error["code"] == "private_url" and error["details"][0]["field"] == "actions[0].url"
    # a templated URL is checked when it is known: in the run, before any connection
    await tenant.workflow(name="Hook", actions=[
        {"type": "http_request", "url": "{{ event.callback }}", "json_body": {"id": "1"}}])
    await tenant.deliver(creation(callback=url))
    await tenant.work()
    [run] = await tenant.runs()
    assert run.status == "failed" and run.steps[0]["error_code"] == "private_url"
    assert "CONNECTUS_ALLOW_PRIVATE_URLS" in run.error


async def test_the_http_action_posts_templated_json_to_a_public_address(
        tenant: Tenant) -> None:
    hook = f"{tenant.sandbox.url}/zapier/hooks/catch/1234567/templated/"  # our own sandbox
    await tenant.workflow(actions=[{"type": "http_request", "url": hook, "id": "hook",
                                    "json_body": {"email": "{{ record.properties.email }}",
                                                  "event": "{{ event }}"}},
                                   {"type": "send_notification",
                                    "text": "posted: {{ steps.hook.status }}"}])
    await tenant.deliver(creation())
    await tenant.work()
    [run] = await tenant.runs()
    assert run.status == "succeeded", run.error
    [sent] = [r for r in tenant.sandbox.sandboxes["zapier"].requests
              if r["path"].endswith("/templated/")]
    assert sent["method"] == "POST"
    assert tenant.slack_messages()[0]["text"] == "posted: 200"


async def test_counts_are_exact_when_runs_finish_at_once(tenant: Tenant) -> None:
    workflow = await tenant.workflow(name="Manual", trigger_type="manual", trigger_config={},
                                     actions=[{"type": "create_contact",
                                               "fields": {"email": "{{ event.email }}"}}])
    runs = []
    for n in range(20):
        queued = await tenant.api.post(f"/integrations/workflows/{workflow['id']}/execute/",
                                       headers=auth(tenant.key),
                                       json={"payload": {"email": f"p{n % 5}@x.example"}})
        assert queued.status_code == 202, queued.text
        runs.append(queued.json()["run"]["id"])
    done = await asyncio.gather(*(run_workflow(ctx(tenant), r) for r in runs))
    assert {d["status"] for d in done} == {"succeeded"}
    assert await tenant.counts(workflow["id"]) == (20, 20)
    assert len(await tenant.contacts()) == 5  # keyed by e-mail: repeats are updates
    again = await asyncio.gather(*(run_workflow(ctx(tenant), r) for r in runs))
    assert {d["status"] for d in again} == {"held elsewhere or ended"}
    assert await tenant.counts(workflow["id"]) == (20, 20)


async def test_a_delay_waits_without_holding_a_worker(tenant: Tenant) -> None:
    await tenant.workflow(actions=[{"type": "delay", "seconds": 1}, ALERT[1]])
    await tenant.deliver(creation())
    [run] = await tenant.runs()
    first = await run_workflow(ctx(tenant), str(run.id))
    assert first["status"] == "waiting" and tenant.slack_messages() == []
    assert (await run_workflow(ctx(tenant), str(run.id)))["status"] == \
        "held elsewhere or ended"  # not before its time
    await tenant.work()
    [run] = await tenant.runs()
    assert run.status == "succeeded" and len(tenant.slack_messages()) == 1
    assert run.steps[0]["output"]["waited_until"] == run.steps[0]["resume_at"]


async def test_events_no_workflow_takes_are_dead_lettered_and_replayed(tenant: Tenant) -> None:
    workflow = await tenant.workflow(status="paused")
    await tenant.deliver(creation())
    await tenant.deliver({"subscriptionType": "deal.creation", "objectId": 5})
    await tenant.work()
    assert await tenant.runs() == []
    letters = (await tenant.api.get("/integrations/workflow-dead-letters/",
                                    headers=auth(tenant.key))).json()
    by_type = {letter["event_type"]: letter for letter in letters}
    assert "'New Lead Alert' is paused" in by_type["contact.creation"]["reason"]
    assert "listen for contact.creation" in by_type["deal.creation"]["reason"]

    await tenant.api.patch(f"/integrations/workflows/{workflow['id']}/",
                           headers=auth(tenant.key), json={"status": "active"})
    replayed = await tenant.api.post(
        f"/integrations/workflow-dead-letters/{by_type['contact.creation']['id']}/replay/",
        headers=auth(tenant.key))
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["status"] == "replayed" and len(replayed.json()["runs"]) == 1
    still = await tenant.api.post(
        f"/integrations/workflow-dead-letters/{by_type['deal.creation']['id']}/replay/",
        headers=auth(tenant.key))
    assert still.json()["status"] == "open"
    await tenant.work()
    [run] = await tenant.runs()
    assert run.status == "succeeded" and len(tenant.slack_messages()) == 1
    discarded = await tenant.api.post(
        f"/integrations/workflow-dead-letters/{by_type['deal.creation']['id']}/discard/",
        headers=auth(tenant.key))
    assert discarded.json()["status"] == "discarded"
    left = (await tenant.api.get("/integrations/workflow-dead-letters/",
                                 headers=auth(tenant.key))).json()
    assert left == []


class Written:
    """The contexts each save and end of a run writes (None: the column left alone)."""

    def __init__(self, tenant: Tenant) -> None:
        self.writes = writes_for(tenant.services.db)
        self.saves: list[str | None] = []
        self.ends: list[str | None] = []

    def __enter__(self) -> Written:
        saves, ends = self.flushes = self.writes.saves._flush, self.writes.ends._flush

        async def save(items: list[Save]) -> list[bool | BaseException]:
            self.saves.extend(i.context for i in items)
            return await saves(items)

        async def end(items: list[End]) -> list[Any]:
            self.ends.extend(i.context for i in items)
            return await ends(items)

        self.writes.saves._flush, self.writes.ends._flush = save, end
        return self

    def __exit__(self, *exc: object) -> None:
        self.writes.saves._flush, self.writes.ends._flush = self.flushes


async def _manual(tenant: Tenant, name: str, actions: list[dict[str, Any]]) -> str:
    workflow = await tenant.workflow(name=name, trigger_type="manual", trigger_config={},
                                     actions=actions)
    queued = await tenant.api.post(f"/integrations/workflows/{workflow['id']}/execute/",
                                   headers=auth(tenant.key),
                                   json={"payload": {"email": f"{name.lower()}@x.example"}})
    assert queued.status_code == 202, queued.text
    return str(queued.json()["run"]["id"])


UPSERT = {"type": "create_contact", "fields": {"email": "{{ event.email }}"}}
NOTIFY = {"type": "send_notification", "text": "hello {{ event.email }}"}
MARK = {"type": "update_contact", "fields": {"email": "{{ event.email }}", "notified": "yes"}}


async def test_a_context_unchanged_since_its_last_write_is_not_written_again(
        tenant: Tenant) -> None:
    run_id = await _manual(tenant, "Twice", [UPSERT, NOTIFY, MARK])
    with Written(tenant) as written:
        done = await run_workflow(ctx(tenant), run_id)
    assert done["status"] == "succeeded"
    # the post's save writes it; the end leaves it be
    assert len(written.saves) == 1 and written.saves[0] is not None
    assert written.ends == [None]
    [run] = await tenant.runs()
    assert run.context["conditions_met"] is True and len(run.context["actions"]) == 3
    assert [s["status"] for s in run.steps] == ["succeeded"] * 3


async def test_a_step_after_one_that_cannot_be_done_twice_is_written_first(
        tenant: Tenant) -> None:
    run_id = await _manual(tenant, "Upserts", [UPSERT, MARK, NOTIFY, MARK])
    with Written(tenant) as written:
        done = await run_workflow(ctx(tenant), run_id)
    assert done["status"] == "succeeded"
    # the upserts, repeatable, go unwritten until the post; the post is written as done
    # before the last step starts, so a run taken over then does not post again
    assert len(written.saves) == 1 and len(written.ends) == 1
    assert len(tenant.slack_messages()) == 1


async def test_a_run_of_upserts_is_written_at_its_claim_and_end_alone(
        tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = await _manual(tenant, "Quick", [UPSERT, MARK])
    with Written(tenant) as written:
        assert (await run_workflow(ctx(tenant), run_id))["status"] == "succeeded"
    assert written.saves == [] and len(written.ends) == 1
    [run] = await tenant.runs()
    assert [s["status"] for s in run.steps] == ["succeeded", "succeeded"]
    # a run that has gone a while without a write shows which step it is on
    monkeypatch.setattr(runner, "PROGRESS_EVERY_S", 0.0)
    run_id = await _manual(tenant, "Slow", [UPSERT, MARK])
    with Written(tenant) as written:
        assert (await run_workflow(ctx(tenant), run_id))["status"] == "succeeded"
    assert len(written.saves) == 2


async def test_a_save_renews_the_lease_only_once_half_of_it_has_gone(tenant: Tenant) -> None:
    workflow = await tenant.workflow(name="Lease", trigger_type="manual", trigger_config={},
                                     actions=[{"type": "create_contact",
                                               "fields": {"email": "{{ event.email }}"}}])
    queued = await tenant.api.post(f"/integrations/workflows/{workflow['id']}/execute/",
                                   headers=auth(tenant.key),
                                   json={"payload": {"email": "lease@x.example"}})
    run_id = uuid.UUID(queued.json()["run"]["id"])
    db = tenant.services.db
    run = await runs.claim(db, run_id, owner="w1", lease_s=60)
    assert run is not None
    claimed = await _lease(tenant, run_id)
    await runs.save(db, run, "w1", lease_s=60)
    assert await _lease(tenant, run_id) == claimed  # 60 s left of 60: kept, no index write
    nearly = utcnow() + timedelta(seconds=10)
    async with db.transaction(run.tenant_id) as session:
        await session.execute(update(WorkflowRun).where(WorkflowRun.id == run_id)
                              .values(lease_expires_at=nearly))
    await runs.save(db, run, "w1", lease_s=60)
    renewed = await _lease(tenant, run_id)
    assert renewed > nearly + timedelta(seconds=40)  # 10 s left of 60: renewed to ~60
    with pytest.raises(runs.LeaseLost):  # and still only for the lease's owner
        await runs.save(db, run, "w2", lease_s=60)


async def _lease(tenant: Tenant, run_id: uuid.UUID) -> Any:
    async with tenant.services.db.session(tenant.caller.tenant_id) as session:
        row = await session.get(WorkflowRun, run_id)
    assert row is not None and row.lease_owner == "w1"
    return row.lease_expires_at


async def test_the_sweep_requeues_a_queued_run_only_when_no_waiting_job_can_hold_it(
        tenant: Tenant) -> None:
    queue = tenant.services.queue
    await queue.delete(QUEUE_NAME)  # only this test's job waits
    run_id = uuid.UUID(await _manual(tenant, "Backlog", [UPSERT]))
    [(job_id, _)] = await queue.zrange(QUEUE_NAME, 0, -1, withscores=True)
    async with tenant.services.db.transaction(tenant.caller.tenant_id) as session:
        await session.execute(update(WorkflowRun).where(WorkflowRun.id == run_id)
                              .values(started_at=utcnow() - timedelta(seconds=120)))

    async def waiting_since(seconds_ago: float) -> dict[str, int]:
        await queue.zadd(QUEUE_NAME, {job_id: (time.time() - seconds_ago) * 1000})
        return await sweep(ctx(tenant))

    # a backlog: the oldest waiting job is older than the run, which may be in it
    assert (await waiting_since(130))["runs"] == 0
    # unless a worker has taken that job (it stays queued, in progress, until it ends;
    # its worker may have died with it)
    taken = in_progress_key_prefix + (job_id.decode() if isinstance(job_id, bytes) else job_id)
    await queue.set(taken, b"1", px=60_000)
    assert (await waiting_since(130))["runs"] == 1
    await queue.delete(taken)
    # the waiting jobs are all newer than the run: its own job has gone, the run is not
    assert (await waiting_since(110))["runs"] == 1
    await queue.delete(QUEUE_NAME)
    assert (await sweep(ctx(tenant)))["runs"] == 1  # nothing waits: queued again
