"""Zapier simulator data: generated zaps, hook body parsing and sliding request windows."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import deque
from typing import Any
from urllib.parse import parse_qsl

from connectors.sandbox.kit import EPOCH
from connectors.sandbox.kit.wire import iso
from connectors.sandbox.zapier.state import Box

DEFAULT_LIMITS = {"hook_per_second": 30, "user_per_5min": 20_000, "legacy_hook_per_5min": 1_000,
                  "rest_hooks_per_5min": 10_000, "api_per_minute": 60}
_APPS = [("HubSpot", "HubSpotCLIAPI"), ("Slack", "SlackAPI"),
         ("Google Sheets", "GoogleSheetsV2API"), ("Mailchimp", "MailchimpCLIAPI"),
         ("Salesforce", "SalesforceAPI"), ("Gmail", "GoogleMailV2API")]


def make_zap(obj: str, index: int, rng: random.Random) -> dict[str, Any]:
    zap_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    (source, source_api), (target, target_api) = rng.sample(_APPS, 2)
    updated = EPOCH + index * 60
    ran = updated + rng.randrange(1, 86_400)
    return {"type": "zap", "id": zap_id, "is_enabled": rng.random() < 0.7,
            "last_successful_run_date": iso(ran, ms=False) if rng.random() < 0.8 else None,
            "updated_at": iso(updated, ms=False), "title": f"{source} to {target} #{index}",
            "links": {"html_editor": f"https://zapier.com/editor/{200_000_000 + index}"
                                     "?utm_source=partner&utm_medium=embed&utm_campaign="
                                     "partner_api&referer=zapier"},
            "steps": [{"action": f"{source_api}:{rng.getrandbits(32):08x}",
                       "authentication": f"{rng.getrandbits(32):08x}", "inputs": {},
                       "title": f"New record in {source}"},
                      {"action": f"{target_api}:{rng.getrandbits(32):08x}",
                       "authentication": f"{rng.getrandbits(32):08x}",
                       "inputs": {"note": "{{record__id}}"}, "title": f"Send to {target}"}]}


def parse_body(content_type: str, raw: bytes) -> Any:
    """Parse a hook body the way Zapier does: JSON, form fields, otherwise the raw text."""
    text = raw.decode("utf-8", errors="replace")
    if not raw:
        return None
    if "json" in content_type or text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    if "x-www-form-urlencoded" in content_type:
        fields: dict[str, Any] = {}
        for key, value in parse_qsl(text, keep_blank_values=True):
            if key not in fields:
                fields[key] = value
            elif isinstance(fields[key], list):
                fields[key].append(value)
            else:
                fields[key] = [fields[key], value]  # a repeated field becomes a list
        return fields
    return text


def runs_of(body: Any, query: dict[str, str]) -> list[dict[str, Any]]:
    """One run per array item, else one run; query-string fields join every run."""
    items = body if isinstance(body, list) else [body]
    runs = []
    for item in items:
        data = item if isinstance(item, dict) else {} if item is None else {"raw_body": item}
        runs.append({**query, **data})
    return runs


class Windows:
    """Sliding request windows on ``box.state.windows`` (so ``box.reset()`` forgets them)."""

    def __init__(self, box: Box) -> None:
        self.box = box

    def limits(self) -> dict[str, int]:
        return {**DEFAULT_LIMITS, **self.box.state.limits}

    def count(self, key: str, span_s: float) -> deque[float]:
        window = self.box.state.windows.setdefault(key, deque())
        now = time.monotonic()
        while window and now - window[0] >= span_s:
            window.popleft()
        return window

    def admit(self, checks: list[tuple[str, float, int]]) -> str | None:
        """Record one request in every window, or name the first window that is full."""
        windows = [(key, self.count(key, span), limit) for key, span, limit in checks]
        for key, window, limit in windows:
            if len(window) >= limit:
                return key
        now = time.monotonic()
        for _, window, _ in windows:
            window.append(now)
        return None
