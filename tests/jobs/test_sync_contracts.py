"""Sync contracts: a zero-record full run against a baseline of many is a failure that
alerts, a delta with no changes is not; min_records; a stale flow alerts once per
episode; contracts are checked on save with precise errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from jobs.health.inputs import gather
from jobs.sync.contracts import (
    alert_stale_flows,
    check_contract,
    parse_duration,
    stale_alerts,
    staleness_limit,
)
from store.errors import ValidationFailed
from store.models import DataFlow
from tests.jobs.conftest import Flow
from tests.jobs.upkeep_helpers import age_runs, logs


async def _set(flow: Flow, **values: Any) -> None:
    async with flow.services.db.transaction(flow.caller.tenant_id) as session:
        await session.execute(update(DataFlow).where(DataFlow.id == flow.id).values(**values))


def _empty(sandbox: Any) -> None:
    box = sandbox.sandboxes["hubspot"]
    box.counts_override = {"contacts": 0}
    box.reset()


async def test_a_zero_record_full_run_against_a_baseline_fails_and_alerts(
        contacts_flow: Flow, sandbox: Any) -> None:
    assert (await contacts_flow.run())["status"] == "succeeded"
    cursor = (await contacts_flow.flow()).cursor
    _empty(sandbox)  # the provider answers an empty list, as a revoked list permission might
    await _set(contacts_flow, cursor={})  # a full read
    result = await contacts_flow.run()
    assert result["status"] == "failed" and result["records_read"] == 0
    assert "no records at all" in result["error"] and "250" in result["error"]
    _, failed = await contacts_flow.runs()
    assert failed.summary["failure"] == "contract"
    [log] = await logs(contacts_flow, "sync_contract")
    assert log.severity == "error" and log.details["sync_run_id"] == str(failed.id)
    flow = await contacts_flow.flow()
    assert flow.cursor == {} and flow.last_run_id == failed.id  # the cursor did not move
    assert cursor


async def test_a_delta_with_no_changes_is_a_success(contacts_flow: Flow, sandbox: Any) -> None:
    await contacts_flow.run()
    _empty(sandbox)  # a delta that finds nothing at all
    result = await contacts_flow.run()
    assert result["status"] == "succeeded" and result["records_read"] == 0
    assert await logs(contacts_flow, "sync_contract") == []


async def test_no_baseline_no_failure_and_min_records_zero_allows_empty(
        contacts_flow: Flow, sandbox: Any) -> None:
    _empty(sandbox)
    assert (await contacts_flow.run())["status"] == "succeeded"  # nothing to compare with
    sandbox.sandboxes["hubspot"].counts_override = {"contacts": 250}
    sandbox.sandboxes["hubspot"].reset()
    await _set(contacts_flow, cursor={})
    await contacts_flow.run()
    _empty(sandbox)
    await _set(contacts_flow, cursor={}, contract={"min_records": 0})
    assert (await contacts_flow.run())["status"] == "succeeded"  # said to be fine


async def test_a_full_run_under_min_records_fails(contacts_flow: Flow) -> None:
    await _set(contacts_flow, contract={"min_records": 300})
    result = await contacts_flow.run()
    assert result["status"] == "failed"
    assert "read 250 records" in result["error"] and "at least 300" in result["error"]
    assert await contacts_flow.count() == 250  # what it read is kept; only the verdict fails


async def test_a_stale_flow_alerts_once_per_episode(contacts_flow: Flow) -> None:
    ctx = contacts_flow.ctx()
    db, tenant = contacts_flow.services.db, contacts_flow.caller.tenant_id
    await contacts_flow.run()
    assert await alert_stale_flows(ctx) == 0  # fresh
    await age_runs(contacts_flow, datetime.now(UTC) - timedelta(hours=3))
    assert await alert_stale_flows(ctx) == 1  # hourly: stale past 2h
    assert await alert_stale_flows(ctx) == 0  # the same episode: no second alert
    [alert] = await stale_alerts(db, tenant, contacts_flow.id)
    assert "is stale" in alert.message and alert.resolved_at is None
    assert alert.details["limit_s"] == 7200

    await _set(contacts_flow, contract={"max_staleness": "6h"})
    assert await alert_stale_flows(ctx) == 0
    [alert] = await stale_alerts(db, tenant, contacts_flow.id)
    assert alert.resolved_at is None  # still the same episode, though within the contract

    await _set(contacts_flow, contract={"max_staleness": 3600})
    await contacts_flow.run()  # synced again: the episode is over
    assert await alert_stale_flows(ctx) == 0
    [alert] = await stale_alerts(db, tenant, contacts_flow.id)
    assert alert.resolved_at is not None and alert.resolution == "the flow synced again"
    await age_runs(contacts_flow, datetime.now(UTC) - timedelta(hours=2))
    assert await alert_stale_flows(ctx) == 1  # a new episode alerts again
    assert len(await stale_alerts(db, tenant, contacts_flow.id)) == 2


FRIDAY_6AM_BERLIN = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize(("frequency", "schedule", "contract", "limit"), [
    ("hourly", {}, {}, timedelta(hours=2)),
    ("weekly", {}, {}, timedelta(days=14)),
    ("realtime", {}, {}, timedelta(hours=2)),  # two of its hourly safety-net deltas
    ("manual", {}, {}, None),
    ("daily", {}, {"max_staleness": "10m"}, timedelta(minutes=10)),
    # weekdays at 06:00 Berlin, last run on a Friday: Monday's and Tuesday's runs missed
    ("cron", {"cron": "0 6 * * 1-5", "timezone": "Europe/Berlin"}, {},
     timedelta(days=4)),
    ("cron", {"cron": "*/15 * * * *", "timezone": "UTC"}, {}, timedelta(minutes=30)),
])
def test_a_flow_is_stale_once_two_of_its_own_slots_are_missed(
        frequency: str, schedule: dict[str, Any], contract: dict[str, Any],
        limit: timedelta | None) -> None:
    flow = DataFlow(sync_frequency=frequency, schedule=schedule, contract=contract)
    assert staleness_limit(flow, FRIDAY_6AM_BERLIN) == limit


async def test_a_cron_flow_is_judged_by_its_own_schedule(contacts_flow: Flow) -> None:
    """A cron flow every minute, one minute late is fine; three minutes late is stale, for
    the stale alerts and the health score alike (the score once skipped cron flows)."""
    ctx, tenant = contacts_flow.ctx(), contacts_flow.caller.tenant_id
    await _set(contacts_flow, sync_frequency="cron", last_run_at=None,
               schedule={"cron": "* * * * *", "timezone": "UTC"})
    await contacts_flow.run()

    async def judged(ago: timedelta) -> tuple[int, list[str]]:
        when = datetime.now(UTC) - ago
        await age_runs(contacts_flow, when)
        await _set(contacts_flow, last_run_at=when)
        alerts = await alert_stale_flows(ctx)
        async with contacts_flow.services.db.session(tenant) as session:
            found = await gather(session, contacts_flow.services.vault, datetime.now(UTC),
                                 [contacts_flow.integration.id])
        return alerts, [f.name for f in found[contacts_flow.integration.id].stale_flows]

    assert await judged(timedelta(seconds=30)) == (0, [])
    assert await judged(timedelta(minutes=3)) == (1, [contacts_flow.row.name])


async def test_a_flow_that_never_synced_is_stale_from_its_creation(contacts_flow: Flow) -> None:
    await _set(contacts_flow, created_at=datetime.now(UTC) - timedelta(days=1))
    assert await alert_stale_flows(contacts_flow.ctx()) == 1
    [alert] = await stale_alerts(contacts_flow.services.db, contacts_flow.caller.tenant_id,
                                 contacts_flow.id)
    assert "never synced" in alert.message and alert.details["since"] == "never"


@pytest.mark.parametrize(("given", "field", "words"), [
    ({"max_stalenes": "6h"}, "contract.max_stalenes", "did you mean 'max_staleness'"),
    ({"max_staleness": "6 hours"}, "contract.max_staleness", "is not a duration"),
    ({"max_staleness": 10}, "contract.max_staleness", "between 60 seconds"),
    ({"max_staleness": True}, "contract.max_staleness", "is a duration"),
    ({"min_records": -1}, "contract.min_records", "whole number"),
    ({"min_records": "100"}, "contract.min_records", "whole number"),
    ({"deletion_check": "monthly"}, "contract.deletion_check", "hourly, daily, weekly, off"),
    ({"reconcile": 1}, "contract.reconcile", "one of"),
])
def test_a_bad_contract_is_named_precisely(given: dict[str, Any], field: str,
                                           words: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_contract(given)
    assert caught.value.details[0]["field"] == field
    assert words in caught.value.message


def test_durations() -> None:
    assert parse_duration("6h", "f") == 21600 == parse_duration(21600, "f")
    assert parse_duration("1h30m", "f") == 5400 and parse_duration("1w", "f") == 604800
    assert parse_duration("90", "f") == 90
    good = {"max_staleness": "6h", "min_records": 5, "deletion_check": "weekly",
            "reconcile": "off"}
    assert check_contract(good) == good
