"""The seven providers, found in a message even when misspelt ("Hubspt", "sales force")."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from agent.offline.text import Text


@dataclass(frozen=True)
class Provider:
    key: str  # the registry's provider key
    display: str  # how people write it, and how the registry resolves an integration name
    aliases: tuple[str, ...]


PROVIDERS = (
    Provider("hubspot", "HubSpot", ("hubspot", "hub spot", "hs crm")),
    Provider("salesforce", "Salesforce", ("salesforce", "sales force", "sfdc")),
    Provider("mailchimp", "Mailchimp", ("mailchimp", "mail chimp", "chimp")),
    Provider("slack", "Slack", ("slack",)),
    Provider("google_ads", "Google Ads", ("google ads", "googleads", "adwords", "google")),
    Provider("facebook_ads", "Facebook Ads",
             ("facebook ads", "facebookads", "fb ads", "meta ads", "facebook", "meta")),
    Provider("zapier", "Zapier", ("zapier", "zaps", "zap")),
)
# words that look like a provider to a fuzzy matcher but are ordinary English
_NOT_NAMES = {"black", "stack", "slacks", "snack", "back", "lack", "slick", "mail", "sales",
              "force", "spot", "hub", "face", "book", "ads", "chip", "map", "paper", "zipper",
              "slow", "flag", "last", "latest", "meet", "meta's", "metal", "good", "goggle",
              "track", "stuck", "salesman", "mailbox", "mailing", "hubs", "mine", "maps"}
_MIN_SCORE = 84


@dataclass(frozen=True)
class Mention:
    provider: Provider
    start: int  # index of the first word, so callers can tell "from X to Y" apart
    end: int


def find_providers(text: Text) -> list[Mention]:
    """Every provider the message names, in order, each once; misspellings included."""
    words = text.words
    found: list[Mention] = []
    taken: set[int] = set()
    for size in (2, 1):  # two-word names first ("google ads" before "google")
        for start in range(len(words) - size + 1):
            span = range(start, start + size)
            if taken.intersection(span):
                continue
            phrase = " ".join(words[start:start + size])
            provider = _match(phrase)
            if provider is not None:
                found.append(Mention(provider, start, start + size))
                taken.update(span)
    found.sort(key=lambda m: m.start)
    unique: list[Mention] = []
    for mention in found:
        if all(m.provider.key != mention.provider.key for m in unique):
            unique.append(mention)
    return unique


def _match(phrase: str) -> Provider | None:
    if phrase in _NOT_NAMES or len(phrase) < 4:
        return None
    best, best_score = None, 0.0
    for provider in PROVIDERS:
        for alias in provider.aliases:
            if phrase == alias:
                return provider
            if len(alias) < 5 or abs(len(alias) - len(phrase)) > 2:
                continue  # short aliases only match exactly; a fuzzy "zap" is any word
            score = fuzz.ratio(phrase, alias)
            if score > best_score:
                best, best_score = provider, score
    return best if best_score >= _MIN_SCORE else None


def provider_by_key(key: str) -> Provider | None:
    return next((p for p in PROVIDERS if p.key == key), None)
