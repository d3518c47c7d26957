"""What a message is about: the objects it names and the values it gives.

Names are passed on as the person said them (the registry resolves partial names);
a provider is corrected to its proper spelling, since the demo integrations are named
after their providers ("HubSpot (sandbox)")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.offline.providers import Mention, find_providers
from agent.offline.text import Text, snake

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
# the words that end a name when reading leftwards from "flow" / "workflow"
_NAME_STOPS = {"the", "my", "our", "a", "an", "this", "that", "of", "for", "on", "in", "to",
               "from", "run", "replay", "pause", "resume", "test", "check", "is",
               "did", "does", "why", "what", "how", "and", "with", "into", "show", "me",
               "execute", "trigger", "start", "failed", "records", "record", "dry",
               "mapping", "mappings", "stop", "disable", "enable", "explain", "retry",
               "rerun", "fail", "failing", "update", "change", "set", "edit", "runs",
               "history", "last", "latest", "about", "tell", "status", "please", "can",
               "you", "i", "we", "are", "was", "were", "has", "have", "been", "will", "be",
               "should", "could", "would", "keep", "keeps", "fire", "kick", "off", "rows",
               "letters", "dead", "preview", "reprocess", "resolve", "dismiss", "acknowledge",
               "close", "mark", "clear", "resend", "push", "make", "every",
               "all", "its", "their", "recent", "newest", "most", "previous", "earlier"}
_AFTER_STOPS = {"now", "please", "today", "again", "yesterday", "hourly", "daily", "weekly",
                "instead", "run", "runs", "is", "was", "failed", "work", "works"}
_KINDS = {"integration": ("integration", "connection", "connector", "account"),
          "data_flow": ("flow", "pipeline", "mapping", "sync"),
          "workflow": ("workflow", "automation", "zap", "recipe"),
          "insight": ("insight", "alert", "finding", "warning", "anomaly")}
_SEVERITY_WORDS = {"critical": "critical", "fatal": "critical", "severe": "critical",
                   "error": "error", "errors": "error", "failure": "error",
                   "failures": "error", "warning": "warning", "warnings": "warning",
                   "warn": "warning", "info": "info", "informational": "info"}
_FREQUENCIES = (  # (pattern, value), the first that matches wins
    (r"\breal[ -]?time\b|\binstant(ly)?\b|\blive\b|\bas (it|they) happens?\b|\bstream", "realtime"),
    (r"\bhourly\b|\bevery hour\b|\beach hour\b|\bonce an hour\b", "hourly"),
    (r"\bweekly\b|\bevery week\b|\bonce a week\b|\bevery (monday|tuesday|wednesday|thursday"
     r"|friday|saturday|sunday)\b", "weekly"),
    (r"\bdaily\b|\bevery day\b|\bnightly\b|\beach day\b|\bonce a day\b|\bevery (morning|night"
     r"|evening)\b|\beach (morning|night)\b", "daily"),
    (r"\bmanual(ly)?\b|\bon demand\b|\bonly when i\b", "manual"),
    (r"\bcron\b", "cron"),
)
_ITEM = r"(?:(?!and\b)[a-z_]+)(?: (?!and\b)[a-z_]+)?"
_FIELD_LIST = re.compile(
    r"(?:fields?|columns?|properties|cop(?:y|ies|ying)|sync(?:ing)?|map(?:ping)?|send(?:ing)?|"
    r"push(?:ing)?|with|for|including|bring(?:ing)?|import(?:ing)?|move|moving)\s+(?:the\s+|their\s+|only\s+)?"
    rf"({_ITEM}(?:\s*(?:,|,? and|&)\s*{_ITEM})+)")
_FIELD_NOISE = {"the", "their", "new", "all", "contacts", "contact", "leads", "subscribers",
                "records", "from", "into", "to", "every", "each", "daily", "hourly", "it",
                "weekly", "nightly", "monthly", "realtime", "hour", "day", "week", "now",
                "in", "real", "time", "as", "happens", "on", "a",
                "them", "data", "fields", "field", "our", "my", "also"}


@dataclass
class Entities:
    providers: list[Mention] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # kind -> name as said
    ids: list[str] = field(default_factory=list)
    quoted: list[str] = field(default_factory=list)
    severity: str | None = None
    frequency: str | None = None
    fields: list[str] = field(default_factory=list)
    field_pairs: list[tuple[str, str]] = field(default_factory=list)
    called: str | None = None  # "called X" / "named X": the name of something new
    bare: str | None = None  # a capitalised name with no noun: "execute Churn alert"

    qualified: dict[str, str] = field(default_factory=dict)  # provider key -> "HubSpot EU"

    @property
    def provider(self) -> str | None:
        """The first provider named, as its integration is called when the person said
        more ("HubSpot (sandbox)", "Salesforce EU"), else its proper spelling."""
        if not self.providers:
            return None
        first = self.providers[0].provider
        return self.qualified.get(first.key, first.display)


def read_entities(text: Text) -> Entities:
    found = Entities(providers=find_providers(text), ids=_UUID.findall(text.lower),
                     quoted=text.quoted())
    for word in text.words:
        if word in _SEVERITY_WORDS:
            found.severity = _SEVERITY_WORDS[word]
            break
    for pattern, value in _FREQUENCIES:
        if re.search(pattern, text.lower):
            found.frequency = value
            break
    for kind, nouns in _KINDS.items():
        name = _name_before(text, nouns) or _name_after(text, nouns)
        if name:
            found.names[kind] = name
    found.field_pairs = _field_pairs(text.lower)
    found.fields = [s for s, _ in found.field_pairs] or _field_list(text.lower)
    found.bare = _bare_name(text.raw, found)
    found.qualified = {m.provider.key: q for m in found.providers
                       if (q := _qualified(text, m)) is not None}
    if m := re.search(r"\b(?:called|named|titled|name it|call it)\s+[\"“']?([^\"”',.?!]{2,60})",
                      text.raw, re.IGNORECASE):
        found.called = m.group(1).strip()
    return found


def _name_before(text: Text, nouns: tuple[str, ...]) -> str | None:
    """ "the HubSpot contacts flow" -> "HubSpot contacts", in the person's own casing."""
    lowered = [w.rstrip("s") if w.endswith("s") and w[:-1] in nouns else w for w in text.words]
    for index, word in enumerate(lowered):
        if word not in nouns:
            continue
        start = index
        while start > 0 and lowered[start - 1] not in _NAME_STOPS and \
                lowered[start - 1] not in nouns and index - start < 5:
            start -= 1
        if start < index:
            name = _as_written(text.raw, text.words[start:index])
            # "sync" is a verb as often as a noun: "are old, sync it" names no flow
            if word != "sync" or name[:1].isupper() or find_providers(Text.of(name)):
                return name
    return None


_BARE = (re.compile(r"^\s*(?:please\s+)?(?:run|execute|trigger|fire|start|replay|retry|re-?run)"
                   r"\s+(?:the\s+)?([A-Z][\w-]*(?:\s+(?!now\b|please\b|again\b|today\b)[\w-]+)"
                   r"{0,4})(?:\s+(?:now|please|again|today))?\s*[?.!]*$"),
         re.compile(r"\b(?:for|of|on|in)\s+(?:the\s+)?([A-Z][\w-]*(?:\s+[\w-]+){0,4})\s*[?.!]*$"))


_TIME_WORDS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
               "january", "february", "march", "april", "may", "june", "july", "august",
               "september", "october", "november", "december", "today", "yesterday"}
_QUALIFIERS = {"sandbox", "prod", "production", "staging", "test", "dev", "eu", "us", "uk",
               "emea", "apac", "main", "old", "new", "marketing", "sales", "support"}


def _qualified(text: Text, mention: Mention) -> str | None:
    """ "HubSpot (sandbox)" or "Salesforce EU": the name of one of several integrations
    of a provider, kept whole so the registry is not left to guess between them."""
    said = _as_written(text.raw, text.words[mention.start:mention.end])
    at = text.raw.lower().find(said.lower())
    if at < 0:
        return None
    rest = text.raw[at + len(said):]
    display = mention.provider.display
    if m := re.match(r"\s*(\([^()]{1,30}\))", rest):
        return f"{display} {m.group(1)}"
    if m := re.match(r"\s+([A-Za-z]{2,12})\b", rest):
        word = m.group(1)
        if word.lower() in _QUALIFIERS and (word.isupper() or word.lower() in {
                "sandbox", "prod", "production", "staging", "dev"}):
            return f"{display} {word}"
    return None


def _bare_name(raw: str, found: Entities) -> str | None:
    """A name said without its noun, capitalised as names are; never just a provider."""
    for pattern in _BARE:
        m = pattern.search(raw)
        if m:
            name = m.group(1).strip()
            words = name.lower().split()
            if not any(w in _NAME_STOPS or w in _TIME_WORDS for w in words[:1]) and not any(
                    name.lower() == p.provider.display.lower() for p in found.providers):
                return name
    return None


def _name_after(text: Text, nouns: tuple[str, ...]) -> str | None:
    """ "the mapping for Mailchimp subscribers" -> "Mailchimp subscribers"."""
    words = text.words
    for index, word in enumerate(words[:-2]):
        if word.removesuffix("s") in nouns and words[index + 1] in {"for", "of", "called",
                                                                     "named"}:
            taken = []
            for follower in words[index + 2:index + 6]:
                if follower in _NAME_STOPS or follower in _AFTER_STOPS:
                    break
                taken.append(follower)
            if taken:
                return _as_written(text.raw, tuple(taken))
    return None


def _as_written(raw: str, words: tuple[str, ...]) -> str:
    pattern = "[\\s\\-_'\u2019]*".join(re.escape(w) for w in words)
    m = re.search(pattern, raw, re.IGNORECASE)
    return m.group(0).strip() if m else " ".join(words)


def _field_pairs(lower: str) -> list[tuple[str, str]]:
    """ "map email to email_address and first name to fname" -> [(email, email_address), ...]"""
    pairs = re.findall(r"\b([a-z_]+(?: [a-z_]+)?)\s+(?:to|->|→|onto|into)\s+([a-z_]+(?: [a-z_]+)?)"
                       r"(?=\s*(?:,|and\b|$|\.|;|in\b|for\b|on\b|with\b|every\b|from\b))", lower)
    clean = [(snake(_strip(a)), snake(_strip(b))) for a, b in pairs]
    clean = [(a, b) for a, b in clean if a and b and not _mentions_place(a, b)]
    return clean if len(clean) >= 1 and "map" in lower else []


def _mentions_place(a: str, b: str) -> bool:
    places = {"hubspot", "salesforce", "mailchimp", "slack", "zapier", "crm", "connectus"}
    return bool(places.intersection(a.split("_")) or places.intersection(b.split("_")))


def _strip(phrase: str) -> str:
    words = [w for w in phrase.split() if w not in _FIELD_NOISE and w not in {"map", "and"}]
    return " ".join(words)


def _field_list(lower: str) -> list[str]:
    m = _FIELD_LIST.search(lower)
    if not m:
        return []
    parts = re.split(r"\s*(?:,|\band\b|&)\s*", m.group(1))
    fields = []
    for part in parts:
        name = snake(_strip(part))
        if name and name not in fields:
            fields.append(name)
    return fields if len(fields) >= 2 else []
