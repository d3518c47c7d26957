"""What the bot posts: a pending write's Block Kit, escaped, and the decided one."""

from __future__ import annotations

import json

from ui.slack import blocks
from ui.slack.threads import question, thread_id


def test_a_pending_write_shows_what_changes_and_quotes_third_party_data_inertly() -> None:
    text, rows = blocks.pending({"id": "3f1c", "needs_role": "admin", "preview": {
        "summary": "Rename <!channel> & co", "records": 12, "api_calls": 3,
        "quota_share": 0.25, "notes": ["<@U999> said so"],
        "changes": [{"object": "contact 'a'", "field": "name", "before": "<b>",
                     "after": "<!channel>"}]}})
    shown = json.dumps(rows, ensure_ascii=False)
    assert "<!channel>" not in shown and "<@U999>" not in shown and "<!channel>" not in text
    assert "`&lt;b&gt;` → `&lt;!channel&gt;`" in shown
    assert "records: 12 · API calls: 3 · share of the daily quota: 25%" in shown
    assert "at least the admin role" in shown
    [actions] = [r for r in rows if r["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (blocks.CONFIRM, "3f1c"), (blocks.CANCEL, "3f1c")]
    many = blocks.pending({"id": "x", "preview": {"summary": "s", "changes": [
        {"object": f"o{i}", "field": "f", "before": 1, "after": 2} for i in range(25)]}})[1]
    assert "… and 15 more" in json.dumps(many, ensure_ascii=False)


def test_a_decided_write_has_no_buttons_and_says_who() -> None:
    text, rows = blocks.decided({"summary": "Sync now", "changes": []}, "cancelled", "U1")
    assert all(r["type"] != "actions" for r in rows)
    assert text == "Sync now: Cancelled by <@U1>: nothing was written."


def test_thread_ids_are_stable_safe_and_short() -> None:
    assert thread_id("T1", "C2", "1712.000100") == "slack-T1-C2-1712_000100"
    long = thread_id("T" * 30, "C" * 30, "1712.000100")
    assert long.startswith("slack-") and len(long) <= 64
    assert long == thread_id("T" * 30, "C" * 30, "1712.000100")
    assert long != thread_id("T" * 30, "C" * 30, "1712.000101")
    assert question("<@UBOT> sync   <@U2> HubSpot", "UBOT") == "sync U2 HubSpot"
