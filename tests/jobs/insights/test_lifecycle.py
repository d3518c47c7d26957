"""The life of an insight, on the failing-sync detector: it opens on a failure, is one
row however many ticks see it, resolves only after a day without failures, reopens when
failures return, and stays resolved by a person while the same failures last."""

from __future__ import annotations

from tests.jobs.insights.kit import DAY, HOUR, NOW, hourly, make_history
from tools.context import Services


async def test_a_healthy_history_opens_nothing(services: Services) -> None:
    history = await make_history(services)
    flow = await history.flow()
    await history.runs(flow, hourly(NOW - 7 * DAY, NOW), records_read=40, records_written=3)
    await history.usage({at.replace(minute=0): (50, 0) for at in hourly(NOW - 7 * DAY, NOW)})

    result = await history.tick()

    assert result.findings == 0
    assert await history.insights() == []


async def test_failing_sync_opens_once_and_resolves_after_a_day_without_failures(
        services: Services) -> None:
    history = await make_history(services)
    flow = await history.flow()
    await history.runs(flow, hourly(NOW - 2 * DAY, NOW - 3 * HOUR))
    await history.runs(flow, [NOW - 2 * HOUR, NOW - HOUR], status="failed")

    await history.tick()
    await history.tick(NOW + HOUR / 12)  # the next tick sees the same
    insight = await history.only("failing_sync")
    assert not insight.is_resolved and insight.priority == "high"
    assert "2 of" in insight.description and "expired token" in insight.description
    assert insight.times_opened == 1

    # runs succeed again: still open until a whole day has passed since the last failure
    await history.runs(flow, hourly(NOW, NOW + 23 * HOUR))
    await history.tick(NOW + 22 * HOUR)
    insight = await history.only("failing_sync")
    assert not insight.is_resolved
    assert insight.priority == "medium"  # no longer failing now, failed within the day

    await history.tick(NOW + 25 * HOUR)
    insight = await history.only("failing_sync")
    assert insight.is_resolved and insight.resolved_by == "condition"


async def test_failures_returning_reopen_the_same_insight_unread(services: Services) -> None:
    history = await make_history(services)
    flow = await history.flow()
    await history.runs(flow, [NOW - HOUR], status="failed")
    await history.tick()
    first = await history.only("failing_sync")
    await history.tick(NOW + 2 * DAY)
    assert (await history.only("failing_sync")).is_resolved

    await history.runs(flow, [NOW + 3 * DAY], status="failed")
    await history.tick(NOW + 3 * DAY + HOUR)

    again = await history.only("failing_sync")
    assert again.id == first.id and again.fingerprint == first.fingerprint
    assert not again.is_resolved and not again.is_read
    assert again.times_opened == 2 and again.resolved_at is None
    assert again.opened_at > first.opened_at


async def test_a_person_resolving_holds_until_the_condition_clears(services: Services) -> None:
    from tools.insights import resolve_insight

    history = await make_history(services)
    flow = await history.flow()
    await history.runs(flow, [NOW - HOUR], status="failed")
    await history.tick()
    insight = await history.only("failing_sync")

    resolved = await resolve_insight(services, history.caller, insight.id)
    assert resolved.is_resolved and resolved.resolved_by == "person"
    await history.tick(NOW + HOUR)  # the same failure is still within the day
    assert (await history.only("failing_sync")).is_resolved

    await history.tick(NOW + 2 * DAY)  # cleared
    await history.runs(flow, [NOW + 3 * DAY], status="failed")
    await history.tick(NOW + 3 * DAY + HOUR)  # and back
    back = await history.only("failing_sync")
    assert not back.is_resolved and back.times_opened == 2
