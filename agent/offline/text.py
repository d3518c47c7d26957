"""Words of a message: normalised once, so every reader sees the same tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass

# "whats connected" reads as "what's connected"
_APOSTROPHE = re.compile(r"\b(what|how|who|where|when|that|there|it|here)s\b")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# double quotes anywhere; single quotes only at word edges, so "don't ... it's" is no name
_QUOTED = re.compile("[\"\u201c\u201d]([^\"\u201c\u201d]{2,80})[\"\u201c\u201d]|"
                     "(?<![\\w])['\u2018]([^'\u2018\u2019]{2,80})['\u2019](?![\\w])")


@dataclass(frozen=True)
class Text:
    """A message as said (``raw``), lowercased (``lower``) and as words (``words``)."""

    raw: str
    lower: str
    words: tuple[str, ...]

    @classmethod
    def of(cls, raw: str) -> Text:
        lower = _APOSTROPHE.sub(r"\1's", raw.lower().replace("\u2019", "'"))
        words = tuple(w.removesuffix("'s") for w in _WORD.findall(lower))
        return cls(raw=raw, lower=lower, words=words)

    def has(self, *words: str) -> bool:
        """Any of these words (a trailing ``*`` matches a prefix: ``fail*``)."""
        for wanted in words:
            if wanted.endswith("*"):
                stem = wanted[:-1]
                if any(w.startswith(stem) for w in self.words):
                    return True
            elif wanted in self.words:
                return True
        return False

    def quoted(self) -> list[str]:
        """Names the person put in quotes, as they wrote them."""
        return [(double or single).strip() for double, single in _QUOTED.findall(self.raw)]


def snake(phrase: str) -> str:
    """A field as a person says it ("first name") as a field key ("first_name")."""
    return "_".join(re.findall(r"[a-z0-9]+", phrase.lower()))


def squash(value: str) -> str:
    """Compare names ignoring case, spaces and punctuation ("Google Ads" == "google_ads")."""
    return "".join(re.findall(r"[a-z0-9]+", value.lower()))
