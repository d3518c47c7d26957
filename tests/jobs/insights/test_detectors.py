"""Each detector on a constructed history: it fires on trouble, says so with the numbers,
stays quiet on a healthy history, and resolves when the trouble clears."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from store.models import Integration
from tests.jobs.insights.kit import DAY, HOUR, NOW, History, hourly, make_history
from tools.context import Services

MINUTE = HOUR / 60
TODAY = NOW.replace(hour=0, minute=0)


def week_of_usage(errors: int = 1) -> dict[datetime, tuple[int, int]]:
    """A week of 100 calls an hour up to this hour, with 0..2 errors an hour (mean 1)."""
    hours = hourly((NOW - 7 * DAY).replace(minute=0), NOW.replace(minute=0) + HOUR)
    return {hour: (100, (errors + n % 3 - 1) if errors else 0) for n, hour in enumerate(hours)}


async def test_error_spike_against_the_integrations_own_baseline(services: Services) -> None:
    history = await make_history(services)
    usage = week_of_usage()
    for back in range(3):  # the last three hours, this one included
        usage[NOW.replace(minute=0) - back * HOUR] = (100, 40)
    await history.usage(usage)

    await history.tick()

    spike = await history.only("error_spike")
    assert spike.priority == "high" and spike.details["errors_per_hour"] == 40
    assert "40 failed calls an hour" in spike.description
    assert spike.details["baseline_per_hour"] < 2

    await history.tick(NOW + 3 * HOUR)  # the spike's hours are behind the window
    assert (await history.only("error_spike")).is_resolved


async def test_errors_at_the_usual_level_are_no_spike(services: Services) -> None:
    history = await make_history(services, slug="steady")
    usage = week_of_usage(errors=20)  # always noisy, so 20 an hour is its normal
    await history.usage(usage)

    await history.tick()

    assert await history.insights("error_spike") == []


def todays_usage(per_hour: int, now_so_far: int) -> dict[datetime, tuple[int, int]]:
    hours = {hour: (per_hour, 0) for hour in hourly(TODAY, NOW.replace(minute=0))}
    return {**hours, NOW.replace(minute=0): (now_so_far, 0)}


async def test_rate_limit_forecast_names_the_hour_it_runs_out(services: Services) -> None:
    # 500 calls an hour since midnight, 40 so far this hour: 5,040 used at 10:05. The
    # limit of 7,800 is reached in the 15:00 hour (7,500 at 15:00, 300 more at 15:36).
    history = await make_history(services, api_calls_limit=7_800)
    await history.usage(todays_usage(500, 40))

    await history.tick()

    forecast = await history.only("rate_limit_forecast")
    assert forecast.details["runs_out_hour"] == "2026-11-30T15:00:00+00:00"
    assert forecast.details["used"] == 5_040 and forecast.details["limit"] == 7_800
    assert ("the daily limit of 7,800 runs out at 15:00 UTC (about 15:36 UTC), before the "
            "reset at 00:00 UTC") in forecast.description
    assert forecast.priority == "medium"  # more than three hours away

    async with services.db.transaction(history.tenant_id) as session:  # the limit is raised
        await session.execute(update(Integration).values(api_calls_limit=50_000))
    await history.tick(NOW + MINUTE)
    assert (await history.only("rate_limit_forecast")).is_resolved


async def test_a_quota_that_lasts_the_day_gives_no_forecast(services: Services) -> None:
    history = await make_history(services, api_calls_limit=20_000)
    await history.usage(todays_usage(500, 40))  # 12,000 by midnight at this rate

    await history.tick()

    assert await history.insights("rate_limit_forecast") == []


async def test_expiring_token_without_refresh_warns_with_a_reconnect_step(
        services: Services) -> None:
    expires = int((NOW + 10 * HOUR).timestamp())
    history = await make_history(services, credentials={"access_token": "t0ken-secret",
                                                        "expires_at": expires})
    await history.tick()

    token = await history.only("token_expiry")
    assert token.priority == "high" and "expires in 10 hours" in token.title
    assert any("oauth/connect" in step for step in token.action_items)
    assert "t0ken-secret" not in str(token.details) + token.description

    async with services.db.transaction(history.tenant_id) as session:  # reconnected
        await session.execute(update(Integration).values(auth_credentials=services.vault.encrypt(
            {"access_token": "fresh", "expires_at": expires + 30 * 24 * 3600})))
    await history.tick(NOW + MINUTE)
    assert (await history.only("token_expiry")).is_resolved


async def test_a_token_that_renews_itself_is_no_worry(services: Services) -> None:
    history = await make_history(services, credentials={
        "access_token": "a", "refresh_token": "r", "expires_at": int((NOW + HOUR).timestamp())})
    await history.tick()
    assert await history.insights("token_expiry") == []


async def test_stale_flow_and_its_recovery(services: Services) -> None:
    history = await make_history(services)
    daily = await history.flow("Daily Deals", frequency="daily")
    fresh = await history.flow("Fresh Contacts", frequency="hourly")
    await history.runs(daily, [NOW - 3 * DAY], records_written=5)
    await history.runs(fresh, hourly(NOW - 5 * HOUR, NOW), records_written=5)

    await history.tick()

    stale = await history.only("stale_flow")
    assert stale.details["flow_id"] == str(daily.id)
    assert "No successful run for 3.0 days; it may go at most 2.0 days without one (daily)" \
        in stale.description

    await history.runs(daily, [NOW + HOUR], records_written=5)
    await history.runs(fresh, [NOW + HOUR], records_written=5)
    await history.tick(NOW + 2 * HOUR)
    assert (await history.only("stale_flow")).is_resolved


async def rejections_history(services: Services, recent_failed: int) -> History:
    history = await make_history(services)
    flow = await history.flow(mappings=[
        {"source": "email", "target": "email", "rules": [{"rule": "email"}]},
        {"source": "phone", "target": "phone", "rules": ["trim", {"rule": "phone"}]}])
    await history.runs(flow, hourly(NOW - 7 * DAY, NOW - DAY), records_read=100,
                       records_failed=1, records_written=5)
    await history.runs(flow, hourly(NOW - DAY + HOUR, NOW), records_read=100,
                       records_failed=recent_failed, records_written=5)
    return history


async def test_data_quality_drift_names_the_rule_that_fails_most(services: Services) -> None:
    history = await rejections_history(services, recent_failed=20)
    flow = history.flows["Contacts Sync"]
    await history.dead_letters(flow, [{"field": "email", "rule": 0, "message": "not an email"}]
                               * 15 + [{"field": "phone", "rule": 1, "message": "no number"}] * 5)

    await history.tick()

    drift = await history.only("data_quality")
    assert drift.details["rate"] == 0.2 and drift.details["baseline_rate"] == 0.01
    assert drift.details["top_rule"]["field"] == "email"
    assert drift.details["top_rule"]["rule"] == "email"
    assert drift.details["top_rule"]["count"] == 15
    assert "rule email (15 of 20)" in drift.description


async def test_refusals_at_their_usual_rate_are_no_drift(services: Services) -> None:
    history = await rejections_history(services, recent_failed=1)
    await history.tick()
    assert await history.insights("data_quality") == []


async def test_trigger_gone_quiet_against_its_delivery_rate(services: Services) -> None:
    history = await make_history(services)
    workflow = await history.workflow()
    await history.deliveries(hourly(NOW - 7 * DAY, NOW - 10 * HOUR, step=30 * MINUTE))

    await history.tick()

    quiet = await history.only("quiet_trigger")
    assert quiet.details["workflow_id"] == str(workflow.id)
    assert "not been triggered for 10 hours" in quiet.title

    await history.deliveries([NOW + HOUR])
    await history.tick(NOW + HOUR + MINUTE)
    assert (await history.only("quiet_trigger")).is_resolved


async def test_a_trigger_with_its_usual_deliveries_is_not_quiet(services: Services) -> None:
    history = await make_history(services)
    await history.workflow()
    await history.deliveries(hourly(NOW - 7 * DAY, NOW - 10 * MINUTE, step=30 * MINUTE))
    await history.tick()
    assert await history.insights("quiet_trigger") == []


async def test_record_volume_far_below_the_flows_baseline(services: Services) -> None:
    history = await make_history(services)
    flow = await history.flow(frequency="daily")
    await history.runs(flow, [NOW - n * DAY for n in range(7, 0, -1)], records_read=200,
                       records_written=50)
    await history.runs(flow, [NOW - HOUR], records_read=3, records_written=1)

    await history.tick()

    volume = await history.only("record_volume")
    assert volume.details == {"flow_id": str(flow.id), "last": 3, "median": 200}
    assert "far fewer" in volume.title

    await history.runs(flow, [NOW + HOUR], records_read=190, records_written=40)
    await history.tick(NOW + 2 * HOUR)
    assert (await history.only("record_volume")).is_resolved


async def test_volume_like_its_baseline_is_quiet(services: Services) -> None:
    history = await make_history(services)
    flow = await history.flow(frequency="daily")
    await history.runs(flow, [NOW - n * DAY for n in range(7, 0, -1)], records_read=200,
                       records_written=50)
    await history.runs(flow, [NOW - HOUR], records_read=180, records_written=45)
    await history.tick()
    assert await history.insights("record_volume") == []


