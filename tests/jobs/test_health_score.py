"""The health formula on constructed inputs: each input moves the score the right way,
says why in words, and the forecast-style inputs cost points before anything breaks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from jobs.health.inputs import HealthInputs, StaleFlow
from jobs.health.score import score

NOW = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)


def healthy(**changes: object) -> HealthInputs:
    inputs = HealthInputs(integration_id=uuid.uuid4(), name="HubSpot", provider="hubspot",
                          status="active", runs_finished=10, limit=250_000, used_today=1_000,
                          recent_operations=100, recent_hours=2.5)
    for name, value in changes.items():
        setattr(inputs, name, value)
    return inputs


def reasons(inputs: HealthInputs) -> dict[str, tuple[int, str]]:
    return {r.input: (r.points, r.reason) for r in score(inputs, NOW).reasons}


def test_a_healthy_integration_scores_100_with_no_reasons() -> None:
    found = score(healthy(), NOW)
    assert (found.score, found.status, found.reasons) == (100, "healthy", [])


def test_failed_syncs_cost_points_in_proportion() -> None:
    one = score(healthy(runs_failed=1, last_failure="HubSpot answered 502"), NOW)
    half = score(healthy(runs_failed=5), NOW)
    assert 100 > one.score > half.score
    points, why = reasons(healthy(runs_failed=1, last_failure="HubSpot answered 502"))["syncs"]
    assert points == 3 and "1 of 10 syncs" in why and "HubSpot answered 502" in why


def test_open_errors_weigh_by_severity() -> None:
    warnings = score(healthy(open_logs={"warning": 3}), NOW).score
    errors = score(healthy(open_logs={"error": 3}), NOW).score
    critical = score(healthy(open_logs={"critical": 3}), NOW).score
    assert 100 > warnings > errors > critical
    assert score(healthy(open_logs={"info": 40}), NOW).score == 100
    _, why = reasons(healthy(open_logs={"error": 2, "warning": 1}, latest_log="token revoked"))[
        "errors"]
    assert why.startswith("unresolved in the last 24 h: 2 error, 1 warning")
    assert "token revoked" in why


def test_each_input_is_capped() -> None:
    found = score(healthy(open_logs={"critical": 50}), NOW)
    assert found.score == 75 and found.reasons[0].points == 25


def test_usage_near_the_limit_costs_more_the_nearer() -> None:
    steady = {"recent_operations": 0}
    scores = [score(healthy(used_today=used, **steady), NOW).score
              for used in (100_000, 180_000, 220_000, 250_000)]
    assert scores[0] == 100 and scores[0] > scores[1] > scores[2] > scores[3] == 80
    assert "220,000 of today's 250,000 calls used (88%)" in reasons(
        healthy(used_today=220_000, **steady))["quota"][1]


def test_a_pace_that_exhausts_the_quota_before_reset_lowers_the_score_early() -> None:
    # 40% used, nothing refused yet, but 12,000 calls an hour runs out at about 23:00
    found = healthy(used_today=100_000, recent_operations=30_000, recent_hours=2.5)
    points, why = reasons(found)["quota"]
    assert points == 15 and score(found, NOW).score == 85
    assert "12,000 calls/h" in why and "23:00 UTC" in why and "1 h before it resets" in why
    # the same usage at a pace that lasts the day costs nothing
    assert score(healthy(used_today=100_000, recent_operations=1_000), NOW).score == 100


def test_a_token_that_will_expire_lowers_the_score_before_it_does() -> None:
    def at(delta: timedelta, **more: object) -> int:
        return score(healthy(token_expires_at=NOW + delta, can_refresh=False, **more),
                     NOW).score
    week, days, hours, gone = (at(timedelta(days=6)), at(timedelta(days=2)),
                               at(timedelta(hours=5)), at(timedelta(hours=-1)))
    assert 100 > week > days > hours > gone == 60
    _, why = reasons(healthy(token_expires_at=NOW + timedelta(hours=5), can_refresh=False))[
        "connection"]
    assert "expires in 5 h" in why and "reconnect" in why
    # a token the provider lets us renew is routine, not a risk
    assert score(healthy(token_expires_at=NOW + timedelta(hours=5), can_refresh=True),
                 NOW).score == 100
    assert at(timedelta(days=30)) == 100


def test_reconnect_needed_costs_the_most() -> None:
    found = score(healthy(status="reconnect_needed"), NOW)
    assert found.score == 60 and found.reasons[0].input == "connection"
    assert score(healthy(status="error", last_error="HTTP 500"), NOW).score == 85


def test_stale_flows_cost_points_each() -> None:
    one = StaleFlow("Contacts", "hourly", NOW - timedelta(hours=5), timedelta(hours=5))
    two = StaleFlow("Deals", "daily", None, timedelta(days=3))
    assert score(healthy(stale_flows=[one]), NOW).score == 90
    assert score(healthy(stale_flows=[one, two]), NOW).score == 80
    why = reasons(healthy(stale_flows=[one, two]))["staleness"][1]
    assert "Contacts (hourly) has not run for 5 h" in why and "Deals (daily) has never run" in why


def test_webhooks_gone_quiet_lower_the_score_only_against_their_own_rhythm() -> None:
    usual = {"webhook_events": 49, "first_event_at": NOW - timedelta(hours=53)}
    quiet = healthy(**usual, last_event_at=NOW - timedelta(hours=5))  # hourly before that
    assert score(quiet, NOW).score == 90
    assert "no webhook delivery for 5 h" in reasons(quiet)["webhooks"][1]
    assert score(healthy(**usual, last_event_at=NOW - timedelta(hours=3)), NOW).score == 100
    # a trickle of deliveries says nothing about a usual gap
    assert score(healthy(webhook_events=2, first_event_at=NOW - timedelta(days=5),
                         last_event_at=NOW - timedelta(days=4)), NOW).score == 100


def test_reasons_are_ordered_by_cost_and_sum_to_the_loss() -> None:
    found = score(healthy(runs_failed=5, open_logs={"error": 1}, status="error"), NOW)
    points = [r.points for r in found.reasons]
    assert points == sorted(points, reverse=True)
    assert found.score == 100 - sum(points) and found.status == "warning"
