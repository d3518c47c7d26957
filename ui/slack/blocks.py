"""What the bot shows: answers as text, pending writes as Block Kit with Confirm and
Cancel, and a decided write without its buttons.

Everything shown is escaped for Slack's mrkdwn (``&``, ``<``, ``>``): an answer quotes
third-party data, and a record named ``<!channel>`` must not ping a channel.
"""

from __future__ import annotations

from typing import Any

CONFIRM = "connectus_confirm"
CANCEL = "connectus_cancel"
MAX_SECTION = 2900  # Slack's section text stops at 3000 characters
MAX_CHANGES = 10
DECIDED = {"done": "Confirmed by {who}: done.", "failed": "Confirmed by {who}, but it failed.",
           "cancelled": "Cancelled by {who}: nothing was written.",
           "confirmed": "Confirmed by {who}: running."}


def escape(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> dict[str, Any]:
    if len(text) > MAX_SECTION:
        text = text[:MAX_SECTION - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _what_changes(preview: dict[str, Any]) -> list[dict[str, Any]]:
    changes = preview.get("changes") or []
    lines = [f"• {escape(c.get('object'))} {escape(c.get('field') or '')}: "
             f"`{escape(c.get('before'))}` → `{escape(c.get('after'))}`"
             for c in changes[:MAX_CHANGES]]
    if len(changes) > MAX_CHANGES:
        lines.append(f"… and {len(changes) - MAX_CHANGES} more")
    blocks = [_section(f"*{escape(preview.get('summary', 'A change'))}*")]
    if lines:
        blocks.append(_section("\n".join(lines)))
    cost = [f"records: {preview.get('records', 0)}", f"API calls: {preview.get('api_calls', 0)}"]
    if preview.get("quota_share") is not None:
        cost.append(f"share of the daily quota: {float(preview['quota_share']):.0%}")
    notes = [escape(n) for n in preview.get("notes") or []]
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": " · ".join(cost + notes)}]})
    return blocks


def pending(confirmation: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and blocks for a write waiting for a person."""
    preview, ident = confirmation.get("preview") or {}, str(confirmation["id"])
    text = f"This needs your confirmation: {escape(preview.get('summary', 'a change'))}."
    blocks = [_section("This needs a confirmation "
                       f"(at least the {escape(confirmation.get('needs_role'))} role):"),
              *_what_changes(preview),
              {"type": "actions", "block_id": f"confirmation:{ident}", "elements": [
                  {"type": "button", "action_id": CONFIRM, "value": ident, "style": "primary",
                   "text": {"type": "plain_text", "text": "Confirm"}},
                  {"type": "button", "action_id": CANCEL, "value": ident, "style": "danger",
                   "text": {"type": "plain_text", "text": "Cancel"}}]}]
    return text, blocks


def decided(preview: dict[str, Any], status: str,
            slack_user: str) -> tuple[str, list[dict[str, Any]]]:
    """The same message once decided: what it was, who decided, no buttons."""
    said = DECIDED.get(status, f"{status}.").format(who=f"<@{escape(slack_user)}>")
    text = f"{escape(preview.get('summary', 'A change'))}: {said}"
    return text, [*_what_changes(preview), _section(said)]


def answer(text: str) -> str:
    return escape(text) or "(no answer)"
