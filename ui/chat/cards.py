"""What the chat shows as text: a write's confirmation card and a tool's compact result.
Values from providers are shown as data (escaped, in code spans), never as markup."""

from __future__ import annotations

import json
from typing import Any

RESULT_CHARS = 800
CHANGE_ROWS = 12


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = text.replace("`", "'").replace("\n", " ").replace("|", "\\|")
    return f"`{text[:80]}`" if text else "—"


def confirmation_card(pending: dict[str, Any]) -> str:
    """Markdown: what will change (before → after), how many records, the API calls and
    share of quota it spends, who may confirm it."""
    preview = pending.get("preview") or {}
    lines = [f"**Needs your confirmation: {_plain(preview.get('summary') or pending['tool'])}**",
             ""]
    changes = preview.get("changes") or []
    if changes:
        lines += ["| what | field | before | → after |", "| --- | --- | --- | --- |"]
        lines += [f"| {_cell(c.get('object'))} | {_cell(c.get('field'))} | "
                  f"{_cell(c.get('before'))} | {_cell(c.get('after'))} |"
                  for c in changes[:CHANGE_ROWS]]
        if len(changes) > CHANGE_ROWS:
            lines.append(f"| … {len(changes) - CHANGE_ROWS} more | | | |")
        lines.append("")
    facts = [f"records: **{preview.get('records') or 0}**",
             f"API calls: **{preview.get('api_calls') or 0}**"]
    share = preview.get("quota_share")
    if share is not None:
        facts.append(f"share of quota: **{float(share):.1%}**")
    facts.append(f"confirmable by: **{pending.get('needs_role', 'member')}** or above")
    lines.append(" · ".join(facts))
    lines += [f"- {_plain(note)}" for note in preview.get("notes") or []]
    return "\n".join(lines)


def _plain(text: Any) -> str:
    """Text for markdown: no markup of its own (links, images, html) survives."""
    value = str(text)
    for char in "\\`*_[]<>!#|":
        value = value.replace(char, "\\" + char)
    return value


def compact(result: Any) -> str:
    """A tool's result, short enough to read at a glance: JSON cut at RESULT_CHARS."""
    text = json.dumps(result, indent=1, default=str, ensure_ascii=False) \
        if not isinstance(result, str) else result
    if len(text) > RESULT_CHARS:
        text = text[:RESULT_CHARS] + f"\n… ({len(text) - RESULT_CHARS} more characters)"
    return text


def _facts(item: dict[str, Any]) -> str:
    return ", ".join(f"{key} {_cell(value)}" for key, value in item.items()
                     if isinstance(value, str | int | float | bool) or value is None)


def outcome(result: Any, items: int = 5) -> str:
    """A write's result as a line of its plain fields, then a line per listed item (the
    runs a sync started, say), at most ``items`` of each list."""
    if not isinstance(result, dict):
        return _cell(result)
    lines = [_facts(result)] if _facts(result) else []
    for key, value in result.items():
        if isinstance(value, list):
            lines += [f"- {_plain(key)}: {_facts(v) if isinstance(v, dict) else _cell(v)}"
                      for v in value[:items]]
    return "\n".join(lines) or "nothing to report"
