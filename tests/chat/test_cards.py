"""The confirmation card and a write's outcome as the chat shows them."""

from __future__ import annotations

import re

from ui.chat.cards import compact, confirmation_card, outcome


def test_the_card_shows_what_changes_and_what_it_costs():
    card = confirmation_card({"id": "c1", "tool": "sync_now", "needs_role": "admin",
                              "preview": {"summary": "Sync 2 flows", "records": 1200,
                                          "api_calls": 12, "quota_share": 0.034,
                                          "changes": [{"object": "flow A", "field": "status",
                                                       "before": "idle", "after": "running"}],
                                          "notes": ["a first run reads everything"]}})
    assert "Sync 2 flows" in card
    assert "| `flow A` | `status` | `idle` | `running` |" in card
    assert "records: **1200**" in card and "API calls: **12**" in card
    assert "share of quota: **3.4%**" in card and "**admin** or above" in card


def test_provider_text_on_the_card_is_shown_as_data_not_markup():
    card = confirmation_card({"id": "c1", "tool": "update_integration", "preview": {
        "summary": "Rename to [click](http://evil.example) <img src=x>",
        "changes": [{"object": "x", "field": "name", "before": "a|b",
                     "after": "`![p](http://evil.example/p.png)`"}]}})
    assert "[click](" not in card and not re.search(r"(?<!\\)<img", card)
    assert "a\\|b" in card  # a pipe cannot break out of its table cell
    assert "`![p]" not in card  # a backtick cannot close the code span early


def test_an_outcome_lists_the_runs_a_sync_started():
    text = outcome({"runs": [{"run_id": "r-1", "status": "queued", "data_flow_name": "A"}]})
    assert text == "- runs: run_id `r-1`, status `queued`, data_flow_name `A`"
    assert len(compact({"rows": ["x" * 50] * 100})) < 900
