"""The arguments of a call, built from what the message names and the tool's schema.

Each argument name of the contract has one reader here; a tool gets the ones its schema
declares. Values outside the schema (an enum it lacks) are dropped later by ``fit``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from agent.offline.entities import Entities
from agent.offline.intents import PAUSE, RESUME
from agent.offline.schema import ToolSpec
from agent.offline.text import Text, squash
from agent.offline.timewindow import iso, window_start

SUBJECTS = ("integration", "data_flow", "workflow", "insight", "provider", "conflict",
            "action")
_OUTBOUND = r"\b(to|into|push\w*|send\w*|export\w*|out to)\s+(my |our |the )?"
_FILLER = re.compile(
    r"^(please |hey |hi |ok |so )?(can you |could you |would you |help me )?"
    r"(search (the )?(docs|documentation|knowledge( base)?|kb) (for|about) |"
    r"look up |find (docs|documentation|info|information|anything) (on|about) |"
    r"what do (the )?docs say about |tell me )?", re.IGNORECASE)


class Reader:
    """Reads one message for one tool; ``now`` fixes the clock for time windows."""

    def __init__(self, text: Text, found: Entities, spec: ToolSpec, now: datetime | None):
        self.text, self.found, self.spec, self.now = text, found, spec, now

    def args(self) -> dict[str, Any]:
        args: dict[str, Any] = {}
        for name in self.spec.properties:
            reader = _READERS.get(name)
            value = reader(self) if reader else None
            if value is not None and value != [] and value != {}:
                args[name] = value
        return _one_subject(self.spec, args, self.found)

    # -- subjects -------------------------------------------------------------------------
    def integration(self) -> str | None:
        found = self.found
        if self.spec.name == "create_data_flow" and len(found.providers) > 1:
            return _source_provider(self.text, found)
        if self.spec.name == "create_workflow" and len(found.providers) > 1:
            return _trigger_provider(self.text, found)
        named = found.names.get("integration")
        if found.provider:
            return found.provider
        if named:
            return named
        return _first(found.quoted) or _first(found.ids)

    def data_flow(self) -> str | None:
        return self._named("data_flow")

    def workflow(self) -> str | None:
        return self._named("workflow")

    def insight(self) -> str | None:
        return _first(self.found.ids) or self.found.names.get("insight") or \
            _first(self.found.quoted) or self.found.bare

    def _named(self, kind: str) -> str | None:
        if self.found.ids:  # an id names one thing for certain
            return self.found.ids[0]
        name = self.found.names.get(kind)
        quoted = _first(self.found.quoted)
        if quoted and (not name or name.lower() in quoted.lower()):
            return quoted  # "the "Leads to CRM" flow": the quote is the whole name
        if name and not _is_provider(name, self.found):
            return name
        return quoted or _first(self.found.ids) or (name if name else None) or \
            self.found.bare or self.found.provider

    def provider(self) -> str | None:
        return self.found.providers[0].provider.key if self.found.providers else None

    def conflict(self) -> str | None:
        return _first(self.found.ids) or _first(self.found.quoted) or (
            "latest" if self.text.has("conflict", "conflicts") else None)

    def action(self) -> str | None:
        return _first(self.found.ids) or "last"

    # -- values ---------------------------------------------------------------------------
    def severity(self) -> str | None:
        return self.found.severity

    def since(self) -> str | None:
        start = window_start(self.text.lower, self.now)
        return iso(start) if start else None

    def query(self) -> str:
        cleaned = _FILLER.sub("", self.text.raw.strip()).strip(" ?.!")
        return cleaned or self.text.raw.strip()

    def name(self) -> str | None:
        if self.found.called:
            return self.found.called
        if self.spec.name.startswith("create_"):
            return _first(self.found.quoted) or self._default_name()
        renamed = re.search(r"\b(?:rename\w*|name)\b.*\b(?:to|as)\s+[\"“']([^\"”']+)[\"”']",
                            self.text.raw, re.IGNORECASE)
        return renamed.group(1).strip() if renamed else None

    def _default_name(self) -> str | None:
        display = self.found.provider or "New"
        if self.spec.name == "create_integration":
            return display
        nouns = {"create_data_flow": "flow", "create_workflow": "workflow"}
        noun = nouns.get(self.spec.name)
        if noun is None:
            return None
        what = next((w for w in self.text.words if w in {"contacts", "leads", "subscribers",
                                                          "deals", "campaigns", "members",
                                                          "messages", "accounts", "orders"}),
                    "")
        return " ".join(part for part in (display, what, noun) if part)

    def direction(self) -> str | None:
        lower = self.text.lower
        if re.search(r"\b(both ways|two[ -]way|bidirectional|bi-directional|in sync with|"
                     r"both directions)\b", lower):
            return "bidirectional"
        if self.found.providers and len(self.found.providers) == 1:
            mention = self.found.providers[0]
            before = " ".join(self.text.words[max(0, mention.start - 3):mention.start])
            if re.search(_OUTBOUND + r"$", before + " ") or re.search(
                    r"\b(push|send|export)\w*\b", lower):
                return "outbound"
        return "inbound"

    def source_fields(self) -> list[str]:
        return self.found.fields

    def target_fields(self) -> list[str]:
        if self.found.field_pairs:
            return [target for _, target in self.found.field_pairs]
        return self.found.fields

    def sync_frequency(self) -> str | None:
        return self.found.frequency

    def status(self) -> str | None:
        lower = self.text.lower
        # an integration's column says "inactive", a flow's "paused": with no enum to
        # read, each gets its own word
        paused = ("inactive", "paused") if self.spec.name == "update_integration" else \
            ("paused", "inactive")
        wanted = (*paused, "disabled") if re.search(PAUSE, lower) else \
            ("active", "enabled") if re.search(RESUME, lower) else ()
        allowed = self.spec.enum("status")
        return next((v for v in wanted if not allowed or v in allowed), None)

    def keep(self) -> str | None:
        lower = self.text.lower
        if re.search(r"\bkeep (the )?(local|ours|our|connectus|mine)\b|\blocal (one|version|"
                     r"value)\b", lower):
            return "local"
        if re.search(r"\bkeep (the )?(remote|theirs|their|provider|hubspot|salesforce|"
                     r"mailchimp)\w*\b|\bremote (one|version|value)\b", lower):
            return "remote"
        return None

    def trigger_type(self) -> str | None:
        lower = self.text.lower
        if re.search(r"\b(when(ever)?|every time|each time|as soon as|on (each|every|new))\b",
                     lower) and not re.search(r"\bevery (day|hour|week|morning|night)\b", lower):
            return "webhook"
        if re.search(r"\b(every|each|daily|hourly|weekly|nightly|at \d|schedule\w*)\b", lower):
            return "schedule"
        if re.search(r"\bif\b|\b(drops?|falls?|exceeds?|above|below|more than|less than)\b",
                     lower):
            return "condition"
        if re.search(r"\b(manual\w*|on demand|button)\b", lower):
            return "manual"
        return None

    def trigger_config(self) -> dict[str, Any] | None:
        kind = self.trigger_type()
        if kind == "schedule":
            return _cron(self.text.lower, self.found.frequency)
        if kind == "webhook":
            return _event(self.text, self.found)
        return None

    def actions(self) -> list[dict[str, Any]] | None:
        """What the workflow does, as steps of the action library (jobs/workflows/actions):
        "post to #sales in Slack" -> send_notification; "add them to Mailchimp" ->
        upsert_mailchimp_member. A step the library does not know would fail on save."""
        lower = self.text.lower
        # a new workflow's steps may follow any clause ("..., notify the team on Slack");
        # elsewhere only an explicit "then/and/to <verb>" names them
        pattern = _STEP_ANYWHERE if self.spec.name == "create_workflow" else _STEP_AFTER
        m = pattern.search(lower)
        if not m:
            return None
        verb = m.group("verb").removesuffix("s")
        rest = lower[m.end("verb"):]
        targets = [p.provider.key for p in self.found.providers[1:]]
        if verb in _NOTIFY and ("slack" in lower or "channel" in lower or "#" in rest):
            channel = re.search(r"#([a-z0-9_-]+)", rest)
            return [{"type": "send_notification",
                     **({"slack_channel": "#" + channel.group(1)} if channel else {})}]
        target = next((t for t in targets if t in _STEP_FOR), None) or next(
            (t for t in _STEP_FOR if t in rest.replace(" ", "_")), None)
        if target is None:
            return None
        return [_STEP_FOR[target](target)]

# what a new flow gets when the person did not say: shown in the confirmation, so the
# person sees and can change it before anything is written
FLOW_DEFAULTS: dict[str, Any] = {"source_fields": ["email", "first_name", "last_name"],
                                 "target_fields": ["email", "first_name", "last_name"],
                                 "sync_frequency": "daily", "direction": "inbound"}


def assumed(spec: ToolSpec, args: dict[str, Any]) -> dict[str, Any]:
    """The defaults a create call needs and the message left out."""
    if spec.name != "create_data_flow":
        return {}
    return {name: value for name, value in FLOW_DEFAULTS.items()
            if name in spec.required and name not in args}


_READERS: dict[str, Callable[[Reader], Any]] = {
    name: getattr(Reader, name) for name in (
        *SUBJECTS, "severity", "since", "query", "name", "direction", "source_fields",
        "target_fields", "sync_frequency", "status", "keep", "trigger_type",
        "trigger_config", "actions")}


def _one_subject(spec: ToolSpec, args: dict[str, Any], found: Entities) -> dict[str, Any]:
    """A tool that takes one of several subjects (integration | data_flow | workflow)
    gets the one the message is about, not all of them."""
    offered = [s for s in ("integration", "data_flow", "workflow") if s in args]
    if len(offered) < 2 or spec.name.startswith("create_"):
        return args
    named = [s for s in ("workflow", "data_flow") if s in offered and (
        (s in found.names and not _is_provider(found.names[s], found)) or
        (s == "workflow" and s in found.names))]
    keep = named[0] if named else ("integration" if found.provider or
                                   "integration" in found.names else offered[0])
    return {k: v for k, v in args.items() if k not in offered or k == keep}


def _is_provider(name: str, found: Entities) -> bool:
    return any(squash(name) == squash(m.provider.display) for m in found.providers)


def _source_provider(text: Text, found: Entities) -> str:
    for mention in found.providers:
        before = " ".join(text.words[max(0, mention.start - 2):mention.start])
        if re.search(r"\bfrom\b", before):
            return mention.provider.display
    return found.providers[0].provider.display


_SKIP_WORDS = {"a", "an", "the", "new", "my", "our", "any", "is", "are", "gets", "get",
               "somebody", "someone"}


_NOTIFY = {"notify", "post", "send", "alert", "message", "ping", "tell"}
_STEP_VERBS = (r"(?P<verb>notify|posts?|sends?|alerts?|message|ping|tell|email|adds?|copy|"
               r"push|create|update)")
_STEP_ANYWHERE = re.compile(r"(?<![#\w])" + _STEP_VERBS + r"\b(?! an? (?:new )?"
                            r"(?:workflow|automation|flow|integration)\b)")
_STEP_AFTER = re.compile(r"\b(?:then|to|and)\s+" + _STEP_VERBS + r"\b")
# the library's step for "put the record in <provider>"
_STEP_FOR: dict[str, Callable[[str], dict[str, Any]]] = {
    "mailchimp": lambda _: {"type": "upsert_mailchimp_member"},
    "zapier": lambda _: {"type": "post_to_zapier"},
    "hubspot": lambda key: {"type": "create_contact", "target": key},
    "salesforce": lambda key: {"type": "create_contact", "target": key},
}


_WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


def _cron(lower: str, frequency: str | None) -> dict[str, Any] | None:
    """A schedule trigger as the library stores it: "every monday at 9" -> {"cron":
    "0 9 * * 1"}. A time not said is 9:00, shown in the confirmation before any save."""
    day = next((n for n, d in enumerate(_WEEKDAYS) if re.search(rf"\b{d}s?\b", lower)), None)
    if frequency is None:
        frequency = "weekly" if day is not None else "daily" if re.search(
            r"\b(morning|evening|night|day)\b", lower) else None
    if frequency == "hourly":
        return {"cron": "0 * * * *"}
    if frequency not in {"daily", "weekly"}:
        return None
    at = re.search(r"\bat (\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b", lower)
    hour = int(at.group(1)) % 24 if at else 18 if re.search(r"\bevening\b", lower) else 9
    if at and at.group(3) == "pm" and hour < 12:
        hour += 12
    minute = int(at.group(2)) if at and at.group(2) else 0
    days = "*" if frequency == "daily" else str(1 if day is None else day)
    return {"cron": f"{minute} {hour} * * {days}"}


def _event(text: Text, found: Entities) -> dict[str, Any] | None:
    """ "whenever a HubSpot deal is won" -> {"event": "deal.won"}; "new subscriber" ->
    "subscriber.created"."""
    words = list(text.words)
    provider_words = {i for m in found.providers for i in range(m.start, m.end)}
    for index, word in enumerate(words):
        if word not in {"when", "whenever", "time", "soon", "new", "each", "every"}:
            continue
        rest = [(i, w) for i, w in enumerate(words[index + 1:], start=index + 1)
                if i not in provider_words and w not in _SKIP_WORDS and w != "as"]
        if not rest:
            return None
        thing = rest[0][1].removesuffix("s")
        after = words[rest[0][0] + 1:rest[0][0] + 3]
        verb = after[1] if len(after) == 2 and after[0] in {"is", "are", "gets", "get"} \
            else "created"
        return {"event": f"{thing}.{verb}"}
    return None


def _trigger_provider(text: Text, found: Entities) -> str:
    """ "post to Slack whenever a HubSpot deal is won": the workflow belongs to HubSpot."""
    trigger = re.search(r"\b(when(ever)?|every time|each time|as soon as|if|on (each|every|"
                        r"new))\b", text.lower)
    if trigger:
        after = len(Text.of(text.raw[:trigger.start()]).words)
        for mention in found.providers:
            if mention.start >= after:
                return mention.provider.display
    return found.providers[0].provider.display


def _first(values: list[str]) -> str | None:
    return values[0] if values else None
