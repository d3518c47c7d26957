"""The readers of a message: providers, time windows, entities, intents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.offline.entities import read_entities
from agent.offline.intents import score_intents
from agent.offline.providers import find_providers
from agent.offline.text import Text
from agent.offline.timewindow import iso, window_start

NOW = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(("said", "keys"), [
    ("sync Hubspt now", ["hubspot"]),
    ("why is sales force failing", ["salesforce"]),
    ("mail chimp and Slak", ["mailchimp", "slack"]),
    ("google ads spend vs facebok ads", ["google_ads", "facebook_ads"]),
    ("copy leads from Salesforce to HubSpot", ["salesforce", "hubspot"]),
    ("my zapier zaps", ["zapier"]),
])
def test_providers_are_found_misspelt_and_in_order(said: str, keys: list[str]) -> None:
    assert [m.provider.key for m in find_providers(Text.of(said))] == keys


@pytest.mark.parametrize("said", ["show the last logs", "what went black", "stack trace",
                                  "mailing list", "track the flag", "i was sleeping"])
def test_ordinary_words_are_not_providers(said: str) -> None:
    assert find_providers(Text.of(said)) == []


@pytest.mark.parametrize(("said", "back"), [
    ("errors in the past 3 days", timedelta(days=3)),
    ("the last hour", timedelta(hours=1)),
    ("over the last 24 hours", timedelta(hours=24)),
    ("in the past two weeks", timedelta(weeks=2)),
    ("5 minutes ago", timedelta(minutes=5)),
])
def test_spans_count_back_from_now(said: str, back: timedelta) -> None:
    assert window_start(said, NOW) == NOW - back


def test_named_days_start_at_midnight() -> None:
    midnight = NOW.replace(hour=0, minute=0)
    assert window_start("what failed last night", NOW) == midnight - timedelta(hours=6)
    assert window_start("yesterday's errors", NOW) == midnight - timedelta(days=1)
    assert window_start("anything today?", NOW) == midnight
    assert window_start("since monday", NOW) == midnight - timedelta(days=2)
    assert window_start("how are things", NOW) is None
    assert iso(NOW) == "2026-12-02T15:30:00Z"


def test_entities_read_names_values_and_fields() -> None:
    found = read_entities(Text.of(
        'replay the failed records of the HubSpot contacts flow, errors only, every hour'))
    assert found.names["data_flow"] == "HubSpot contacts"
    assert found.severity == "error"
    assert found.frequency == "hourly"
    quoted = read_entities(Text.of('run the "New lead alert" workflow, don\'t wait'))
    assert quoted.quoted == ["New lead alert"]
    fields = read_entities(Text.of("copy email, first name and last name from Mailchimp"))
    assert fields.fields == ["email", "first_name", "last_name"]
    pairs = read_entities(Text.of("map email to email_address and first name to fname"))
    assert pairs.field_pairs == [("email", "email_address"), ("first_name", "fname")]
    assert read_entities(Text.of("make it weekly")).frequency == "weekly"
    assert read_entities(Text.of("sync as it happens")).frequency == "realtime"


@pytest.mark.parametrize(("said", "tool"), [
    ("how healthy is everything", "health_summary"),
    ("show me the logs", "health_logs"),
    ("why did it fail?", "explain_failure"),
    ("are we near the rate limit", "api_usage"),
    ("undo that", "undo"),
    ("replay the dead letters", "replay_failed_records"),
    ('run the "New lead alert" workflow', "execute_workflow"),  # quoted words ask nothing
])
def test_the_strongest_cue_wins(said: str, tool: str) -> None:
    assert score_intents(said.lower())[0].tool == tool


def test_nothing_scores_for_a_question_off_topic() -> None:
    assert all(s.score < 1.0 for s in score_intents("what's the weather in paris"))


def test_an_integration_is_named_whole_when_the_person_says_more() -> None:
    assert read_entities(Text.of("sync HubSpot (sandbox) now")).provider == "HubSpot (sandbox)"
    assert read_entities(Text.of("pause Salesforce EU")).provider == "Salesforce EU"
    assert read_entities(Text.of("why is hubspt failing")).provider == "HubSpot"
    assert read_entities(Text.of("Slack is down again")).provider == "Slack"


def test_names_said_without_their_noun_and_unpunctuated_contractions() -> None:
    assert read_entities(Text.of("execute Churn alert")).bare == "Churn alert"
    assert read_entities(Text.of("re-run the failed records for Leads to CRM")).bare == \
        "Leads to CRM"
    assert read_entities(Text.of("execute it now")).bare is None
    assert read_entities(Text.of("show me Slack")).bare is None  # a provider is no bare name
    assert Text.of("whats connected").lower == "what's connected"
