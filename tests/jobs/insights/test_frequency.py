"""Sync-frequency advice from the flow's change rate and API cost, applied by itself only
where the tenant turned it on, with an audit entry saying what changed and why."""

from __future__ import annotations

from tests.jobs.insights.kit import DAY, HOUR, NOW, History, hourly, make_history
from tools.context import Services


async def idle_hourly_flow(services: Services) -> History:
    """An hourly flow whose 30 runs of the past 30 hours found 1 change, at 12 calls a run."""
    history = await make_history(services)
    flow = await history.flow()
    times = hourly(NOW - 30 * HOUR, NOW)
    await history.runs(flow, times[:-1], records_read=0)
    await history.runs(flow, times[-1:], records_read=1, records_written=1)
    await history.usage({at.replace(minute=0): (12, 0) for at in times})
    return history


async def test_an_idle_hourly_flow_is_advised_daily_and_left_alone(services: Services) -> None:
    history = await idle_hourly_flow(services)
    flow = history.flows["Contacts Sync"]

    await history.tick()

    advice = await history.only("sync_frequency")
    assert advice.insight_type == "optimization" and not advice.is_resolved
    assert advice.details["from"] == "hourly" and advice.details["to"] == "daily"
    assert advice.details["calls_saved_per_day"] == 276  # 23 fewer runs of 12 calls
    assert "1 of its last 30 runs found any change" in advice.description
    assert (await history.reload(flow)).sync_frequency == "hourly"
    assert [a for a in await history.audit() if a.action == "data_flow.frequency_tuned"] == []


async def test_auto_tune_applies_the_advice_with_an_audit_entry(services: Services) -> None:
    history = await idle_hourly_flow(services)
    flow = history.flows["Contacts Sync"]
    await history.settings(auto_tune_frequency=True)

    await history.tick()

    changed = await history.reload(flow)
    assert changed.sync_frequency == "daily"
    assert changed.next_run_at is not None and changed.next_run_at - NOW == DAY
    entry = next(a for a in await history.audit() if a.action == "data_flow.frequency_tuned")
    assert entry.target_id == str(flow.id) and entry.user_id is None
    assert entry.details["from"] == "hourly" and entry.details["to"] == "daily"
    assert "1 of its last 30 runs found any change" in entry.details["why"]
    insight = await history.only("sync_frequency")
    assert insight.is_resolved and "changed from hourly to daily" in insight.title

    await history.tick(NOW + HOUR)  # judged again only on runs since the change: no more
    assert (await history.reload(flow)).sync_frequency == "daily"
    assert len([a for a in await history.audit()
                if a.action == "data_flow.frequency_tuned"]) == 1


async def test_a_flow_that_finds_changes_keeps_its_frequency(services: Services) -> None:
    history = await make_history(services)
    flow = await history.flow()
    await history.runs(flow, hourly(NOW - 30 * HOUR, NOW), records_read=30, records_written=8)
    await history.tick()
    assert await history.insights("sync_frequency") == []
