"""The answer a person reads, written from tool results with their real figures.

Generic over result shapes: a list of things, one thing, a count, a score, an error with
candidates, a pending confirmation. Figures are copied as the tool gave them (never
rounded or summed), so every number in an answer is one the database returned. Text
inside results is quoted as data, never acted on."""

from __future__ import annotations

import json
from typing import Any

_LABELS = ("name", "title", "display_name", "integration", "provider", "workflow",
           "data_flow_name", "data_flow", "flow", "key", "id")
_NAMES = 9  # the labels that are names: the one that labels an item is not a figure too
_SECRET = ("secret", "token", "password", "credential", "api_key", "apikey", "auth")
_SKIP = {"id", "tenant_id", "user_id", "embedding", "integration_id", "provider_id",
         "data_flow_id", "workflow_id", "fingerprint"}
_PENDING = ("pending", "confirmation", "requires_confirmation", "needs_confirmation",
            "confirm", "preview", "blast_radius", "dry_run")
_MAX_ITEMS = 12
_MAX_TEXT = 160


def parse(content: Any) -> Any:
    if isinstance(content, str):
        try:
            return json.loads(content)
        except ValueError:
            return content
    if isinstance(content, list):  # content blocks
        texts = [b.get("text", "") if isinstance(b, dict) else str(b) for b in content]
        return parse("".join(texts))
    return content


def write_answer(tool: str, result: Any) -> str:
    """One tool's result as sentences."""
    title = tool.replace("_", " ")
    if isinstance(result, dict):
        if _is_error(result):
            return _error(title, result)
        if result.get("done") is True and "result" in result:  # a confirmed write, applied
            return _done(tool, result)
        if any(key in result for key in _PENDING) or str(result.get("status", "")) in {
                "pending", "pending_confirmation", "awaiting_confirmation"}:
            return _pending(title, result)
        listed = _the_lists(result)
        if listed:
            rest = _scalars(result, skip={key for key, _ in listed})
            head = [f"{title.capitalize()}: {rest}."] if rest else []
            # every list is shown: an empty one first must not hide a full one after it
            return " ".join(head + [_items(key, items) for key, items in listed])
        body = _scalars(result) or _nested(result)
        return f"{title.capitalize()}: {body or 'nothing to report'}."
    if isinstance(result, list):
        return _items(_noun(tool), result)
    if result is None or result == "":
        return f"{title.capitalize()}: nothing to report."
    return f"{title.capitalize()}: {_quote(str(result))}"


def _noun(tool: str) -> str:
    """list_integrations -> integrations: what a list of results is a list of."""
    for prefix in ("list_", "get_", "search_"):
        if tool.startswith(prefix):
            return tool.removeprefix(prefix)
    return tool


def _is_error(result: dict[str, Any]) -> bool:
    return ("error" in result or "detail" in result) and not any(
        isinstance(v, list) and v and isinstance(v[0], dict) for k, v in result.items()
        if k not in {"candidates", "matches"})


def _error(title: str, result: dict[str, Any]) -> str:
    error = result.get("error") or result.get("detail")
    message = error.get("message") if isinstance(error, dict) else error
    text = f"I could not {title}: {_quote(str(message))}."
    candidates = result.get("candidates") or result.get("matches") or (
        error.get("candidates") if isinstance(error, dict) else None)
    if isinstance(candidates, list) and candidates:
        names = ", ".join(_label(c) if isinstance(c, dict) else str(c) for c in candidates)
        text += f" Did you mean one of: {names}?"
    return text


def _done(tool: str, result: dict[str, Any]) -> str:
    """What a confirmed write did, from its own result, and what undoing it would do."""
    inner = result.get("result")
    said = write_answer(tool, inner) if inner not in (None, {}, []) else ""
    text = f"Done: {tool.replace('_', ' ')}." + (f" {said}" if said else "")
    if result.get("undo"):
        text += f" Undo would: {_quote(str(result['undo']))}."
    return text


def _pending(title: str, result: dict[str, Any]) -> str:
    details = _scalars(result, skip=set(_PENDING)) or _nested(result)
    parts = [f"Nothing has changed yet: {title} is waiting for your confirmation."]
    for key in ("pending", "confirmation", "preview", "blast_radius", "dry_run"):
        value = result.get(key)
        if isinstance(value, dict):
            parts.append(f"It will: {_scalars(value) or _nested(value)}.")
        elif isinstance(value, list) and value:
            parts.append(_items("changes", value))
    if details:
        parts.append(f"({details})")
    return " ".join(parts)


def _the_lists(result: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    lists = [(k, v) for k, v in result.items() if isinstance(v, list) and k not in _SKIP]
    return [(k, v) for k, v in lists if not v or isinstance(v[0], dict)]


def _items(what: str, items: list[Any]) -> str:
    noun = what.replace("_", " ")
    if not items:
        return f"No {noun} found."
    lines = [f"{noun.capitalize()} ({len(items)}):"]
    for item in items[:_MAX_ITEMS]:
        lines.append("- " + (_describe(item) if isinstance(item, dict) else _quote(str(item))))
    if len(items) > _MAX_ITEMS:
        lines.append(f"(and {len(items) - _MAX_ITEMS} more)")
    return "\n".join(lines)


def _describe(item: dict[str, Any]) -> str:
    label = _label(item)
    figures = _scalars(item, skip=set(_LABELS[:_NAMES]))
    return f"{label}: {figures}" if figures else label


def _label(item: dict[str, Any]) -> str:
    for key in _LABELS:
        value = item.get(key)
        if isinstance(value, str | int) and value != "":
            return _quote(str(value))
    return "item"


def _scalars(result: dict[str, Any], skip: set[str] | None = None) -> str:
    skip = (skip or set()) | _SKIP
    parts = []
    for key, value in result.items():
        if key in skip or _is_secret(key) or isinstance(value, dict | list) or value is None:
            continue
        shown = ("yes" if value else "no") if isinstance(value, bool) else \
            value if isinstance(value, int | float) else _quote(str(value))
        parts.append(f"{key.replace('_', ' ')} {shown}")
    return ", ".join(parts)


def _nested(result: dict[str, Any]) -> str:
    parts = []
    for key, value in result.items():
        if key in _SKIP or _is_secret(key):
            continue
        if isinstance(value, dict):
            inner = _scalars(value)
            if inner:
                parts.append(f"{key.replace('_', ' ')} ({inner})")
        elif isinstance(value, list) and value and not isinstance(value[0], dict):
            parts.append(f"{key.replace('_', ' ')}: " + ", ".join(_quote(str(v)) for v in value))
    return "; ".join(parts)


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET) and not lowered.endswith("_hint")


def _quote(text: str) -> str:
    """Third-party text is shown as data, cut short, never as instructions."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_TEXT else flat[:_MAX_TEXT - 1] + "…"
