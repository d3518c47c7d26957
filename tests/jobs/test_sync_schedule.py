"""The scheduler tick (jobs/sync/schedule.py), called directly as the arq cron calls it: a
due flow gets one run and moves on to its next slot with its own bounded jitter; two
ticks at once queue it once; paused, error and busy flows are not doubled or started."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from sqlalchemy import update

from jobs.constants import SYNC_JOB
from jobs.sync import runs, upkeep
from jobs.sync.schedule import JITTER_CAP, claim_due, jitter, next_slot, schedule_due_flows
from store.db import Database
from store.models import DataFlow, Integration
from tests.jobs.conftest import Flow, make_flow
from tests.queued_jobs import run_queued_jobs
from tools.context import Services

HOUR = timedelta(hours=1)


async def _set(flow: Flow, **values: Any) -> None:
    async with flow.services.db.transaction(flow.caller.tenant_id) as session:
        await session.execute(update(DataFlow).where(DataFlow.id == flow.id).values(**values))


async def _jobs(services: Services) -> list[Any]:
    return [job for job in await services.queue.queued_jobs() if job.function == SYNC_JOB]


def test_jitter_is_the_flows_own_and_bounded() -> None:
    ids = [uuid.uuid4() for _ in range(500)]
    for span, bound in ((HOUR, JITTER_CAP), (timedelta(days=7), JITTER_CAP),
                        (timedelta(minutes=5), timedelta(seconds=30))):
        offsets = [jitter(i, span) for i in ids]
        assert all(timedelta(0) <= o < bound for o in offsets)
        assert offsets == [jitter(i, span) for i in ids]  # the same on every slot
        # spread over the window, not bunched at one moment: a tenant's hundred hourly
        # flows do not all start at :00
        assert len({int(o / bound * 20) for o in offsets}) == 20


def test_fixed_intervals_keep_their_phase_and_catch_up_once() -> None:
    flow_id = uuid.uuid4()
    offset = jitter(flow_id, HOUR)
    now = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
    due = datetime(2026, 3, 2, 10, 0, tzinfo=UTC) + offset
    assert next_slot(flow_id, "hourly", {}, due, now) == due + HOUR
    # five hours without a worker: one run now, then the next slot of the same series
    late = due - 5 * HOUR
    assert next_slot(flow_id, "hourly", {}, late, now) == due + HOUR
    # a realtime flow's safety net is hourly; a manual flow has no slots
    assert next_slot(flow_id, "realtime", {}, due, now) == due + HOUR
    assert next_slot(flow_id, "manual", {}, due, now) is None
    # a new flow: one interval from now
    assert next_slot(flow_id, "daily", {}, None, now) == now + timedelta(days=1) + jitter(
        flow_id, timedelta(days=1))


async def test_a_due_flow_runs_and_moves_to_its_next_slot(contacts_flow: Flow) -> None:
    services = contacts_flow.services
    due = datetime.now(UTC) - timedelta(minutes=1)
    await _set(contacts_flow, next_run_at=due)

    assert await schedule_due_flows(contacts_flow.ctx()) == 1
    [run] = await contacts_flow.runs()
    assert (run.status, run.trigger) == ("queued", "schedule")
    flow = await contacts_flow.flow()
    # the next hourly slot of the same series: an hour on, jitter (its own, under five
    # minutes) kept
    assert flow.next_run_at == due + HOUR
    assert timedelta(0) <= jitter(flow.id, HOUR) < JITTER_CAP
    [job] = await _jobs(services)
    assert job.args == (str(flow.id), str(run.id))

    assert await schedule_due_flows(contacts_flow.ctx()) == 0  # not due any more
    done = await contacts_flow.run(run.id)
    assert done["status"] == "succeeded" and await contacts_flow.count() == 250


async def test_a_cron_flow_moves_to_its_next_time_in_its_zone(contacts_flow: Flow) -> None:
    schedule = {"cron": "0 6 * * 1-5", "timezone": "Europe/Berlin"}
    await _set(contacts_flow, sync_frequency="cron", schedule=schedule,
               next_run_at=datetime.now(UTC) - timedelta(seconds=5))
    before = datetime.now(UTC)
    assert await schedule_due_flows(contacts_flow.ctx()) == 1
    flow = await contacts_flow.flow()
    berlin = ZoneInfo("Europe/Berlin")
    expected = croniter(schedule["cron"], before.astimezone(berlin)).get_next(datetime)
    assert expected.hour == 6 and expected.weekday() < 5
    assert flow.next_run_at is not None
    offset = flow.next_run_at - expected.astimezone(UTC)
    assert offset == jitter(flow.id, timedelta(days=1)) or offset == jitter(
        flow.id, timedelta(days=3))  # the gap to the time after: a day, or a weekend
    assert timedelta(0) <= offset < JITTER_CAP


async def test_two_ticks_at_once_queue_each_due_flow_once(services: Services,
                                                          sandbox: Any) -> None:
    flows = [await make_flow(services, sandbox.url, contacts=10, sandbox=sandbox)
             for _ in range(6)]
    due = datetime.now(UTC) - timedelta(seconds=30)
    for flow in flows:
        await _set(flow, next_run_at=due)
    # four workers' crons in the same moment, each with its own database engine
    engines = [Database(services.db.url) for _ in range(4)]
    try:
        ticks = await asyncio.gather(*(schedule_due_flows(flows[0].ctx(db=db))
                                       for db in engines))
    finally:
        for db in engines:
            await db.dispose()
    assert sum(ticks) == len(flows)
    for flow in flows:
        [run] = await flow.runs()
        assert run.status == "queued"
        assert (await flow.flow()).next_run_at == due + HOUR
    jobs = await _jobs(services)
    assert sorted(job.args[0] for job in jobs) == sorted(str(f.id) for f in flows)
    # a second enqueue of the same run is a no-op at arq too (the job id is the run's)
    assert await claim_due(services.db) == []


async def test_paused_error_and_switched_off_flows_are_not_scheduled(
        services: Services, sandbox: Any) -> None:
    past = datetime.now(UTC) - timedelta(minutes=5)
    paused, stopped, off = [await make_flow(services, sandbox.url, contacts=10, sandbox=sandbox)
                            for _ in range(3)]
    await _set(paused, status="paused", next_run_at=past)
    await _set(stopped, status="error", next_run_at=past)
    await _set(off, next_run_at=past)
    async with services.db.transaction(off.caller.tenant_id) as session:
        await session.execute(update(Integration).values(status="inactive"))
    assert await schedule_due_flows(paused.ctx()) == 0
    for flow in (paused, stopped, off):
        assert await flow.runs() == []
        assert (await flow.flow()).next_run_at == past
    assert await _jobs(services) == []
    # switched back on, the integration's flow runs at once: its slot was missed
    async with services.db.transaction(off.caller.tenant_id) as session:
        await session.execute(update(Integration).values(status="active"))
    assert await schedule_due_flows(off.ctx()) == 1


async def test_a_flow_still_running_answers_its_run_and_moves_on(contacts_flow: Flow) -> None:
    services, tenant = contacts_flow.services, contacts_flow.caller.tenant_id
    going = await runs.claim(services.db, tenant, contacts_flow.id, owner="elsewhere",
                             lease_s=60)
    assert going is not None
    due = datetime.now(UTC) - timedelta(seconds=10)
    await _set(contacts_flow, next_run_at=due)
    assert await schedule_due_flows(contacts_flow.ctx()) == 0
    assert [r.id for r in await contacts_flow.runs()] == [going.id]
    assert (await contacts_flow.flow()).next_run_at == due + HOUR
    assert await _jobs(services) == []


async def test_a_flow_held_by_a_deletion_check_stays_due_and_runs_after_it(
        contacts_flow: Flow) -> None:
    services, tenant = contacts_flow.services, contacts_flow.caller.tenant_id
    check = await upkeep.start(services.db, tenant, contacts_flow.id, owner="checker",
                               lease_s=60, trigger="deletions")
    assert check is not None
    due = datetime.now(UTC) - timedelta(seconds=10)
    await _set(contacts_flow, next_run_at=due)
    assert await schedule_due_flows(contacts_flow.ctx()) == 0
    assert (await contacts_flow.flow()).next_run_at == due  # the slot is not skipped
    await upkeep.finish(services.db, check, "checker")
    assert await schedule_due_flows(contacts_flow.ctx()) == 1
    assert [r.trigger for r in await contacts_flow.runs() if r.status == "queued"] == [
        "schedule"]


async def test_a_realtime_flow_waits_for_its_run_then_follows_up_once(
        contacts_flow: Flow) -> None:
    services, tenant = contacts_flow.services, contacts_flow.caller.tenant_id
    going = await runs.claim(services.db, tenant, contacts_flow.id, owner="elsewhere",
                             lease_s=60)
    assert going is not None
    due = datetime.now(UTC) - timedelta(seconds=10)
    await _set(contacts_flow, sync_frequency="realtime", next_run_at=due)
    for _ in range(3):  # stays due while the run goes on
        assert await schedule_due_flows(contacts_flow.ctx()) == 0
    assert (await contacts_flow.flow()).next_run_at == due
    await runs.finish(services.db, going, "elsewhere", status="succeeded")
    assert await schedule_due_flows(contacts_flow.ctx()) == 1
    assert await schedule_due_flows(contacts_flow.ctx()) == 0
    first, follow_up = await contacts_flow.runs()
    assert first.id == going.id and follow_up.status == "queued"
    assert (await contacts_flow.flow()).next_run_at > datetime.now(UTC) + HOUR / 2


async def test_the_ticks_log_only_what_they_did(contacts_flow: Flow, redis_url: str,
                                                caplog: pytest.LogCaptureFixture) -> None:
    services = contacts_flow.services
    caplog.set_level(logging.INFO)

    async def burst() -> list[str]:
        caplog.clear()
        await run_queued_jobs(services, redis_url)
        return [r.getMessage() for r in caplog.records]

    quiet = await burst()  # the sweep and the scheduler ran at startup and found nothing
    [done] = [int(m[1]) for line in quiet if (m := re.search(r"(\d+) jobs complete", line))]
    assert done >= 2, quiet  # at least the two ticks that run at startup
    assert not [line for line in quiet if "→ cron:" in line or "← cron:" in line], quiet
    await _set(contacts_flow, next_run_at=datetime.now(UTC) - timedelta(seconds=1))
    busy = await burst()
    assert "scheduled 1 due data flow run(s)" in busy
    assert any("run_data_flow" in line for line in busy)  # real work is still logged
    assert await contacts_flow.count() == 250
