"""Realistic health logs, generated deterministically: the same seed and count give the
same rows. The benchmark stores N of them; the retrieval eval mixes the routine ones
among its labelled documents as distractors, as a real tenant's log is mostly routine."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

PROVIDERS = {
    "HubSpot": ("contacts", "companies", "deals"),
    "Salesforce": ("accounts", "leads", "opportunities"),
    "Mailchimp": ("members", "campaigns"),
    "Google Ads": ("campaigns", "ad groups"),
    "Facebook Ads": ("campaigns", "ad sets"),
    "Slack": ("channels", "users"),
    "Zapier": ("hooks",),
}

# routine lines a healthy tenant writes all day; none of them answers a labelled query
ROUTINE = (
    ("info", "sync", "Scheduled {stream} sync of {provider} started for flow #{n}."),
    ("info", "sync", "{provider} {stream} page {page} fetched with {count} records in {ms} ms."),
    ("info", "sync", "Checkpoint saved for {provider} {stream} after batch {page}."),
    ("info", "usage", "{provider} usage this hour: {count} calls, {pct}% of the hourly limit."),
    ("info", "mapping", "Mapping preview for {provider} {stream} matched {pct}% of the fields."),
    ("info", "workflow", "Workflow run #{n} for {provider} finished all {page} steps."),
    ("info", "webhook", "{provider} webhook delivery #{n} accepted and queued."),
)
# trouble, in the words providers and engines use; the benchmark mixes these in
TROUBLE = (
    ("error", "auth", "{provider} rejected the refresh token (invalid_grant); reconnect needed."),
    ("warning", "rate_limited", "{provider} answered 429 on {stream}; retrying after {secs} s."),
    ("error", "provider_down", "{provider} returned 503 on page {page} of {stream}."),
    ("error", "network", "Request to {provider} timed out after {secs} s on {stream}."),
    ("error", "validation", "{count} {stream} records failed the email rule in flow #{n}."),
    ("warning", "mapping", "Field {field} on {provider} {stream} has no mapping; left unmapped."),
    ("warning", "volume", "{provider} {stream} read {count} records, {pct}% off the baseline."),
    ("error", "schema", "{provider} field {field} no longer exists; mapping #{n} skipped."),
)
FIELDS = ("lifecyclestage", "industry", "annualrevenue", "phone", "country", "birthdate")


@dataclass(frozen=True)
class GeneratedLog:
    severity: str
    category: str
    message: str


def _fill(template: str, rng: random.Random) -> str:
    provider = rng.choice(list(PROVIDERS))
    return template.format(provider=provider, stream=rng.choice(PROVIDERS[provider]),
                           n=rng.randint(1, 999), page=rng.randint(1, 400),
                           count=rng.randint(1, 5000), ms=rng.randint(40, 2500),
                           pct=rng.randint(1, 99), secs=rng.randint(1, 60),
                           field=rng.choice(FIELDS))


def logs(count: int, seed: int = 9, routine_only: bool = False,
         distinct: int | None = None) -> Iterator[GeneratedLog]:
    """``count`` logs, one in four of them trouble unless ``routine_only``. With
    ``distinct``, drawn from that many lines made first, as a real log repeats itself (the
    same 429 every few minutes): the benchmark embeds each distinct line once."""
    rng = random.Random(seed)

    def one() -> GeneratedLog:
        kinds = ROUTINE if routine_only or rng.random() < 0.75 else TROUBLE
        severity, category, template = rng.choice(kinds)
        return GeneratedLog(severity, category, _fill(template, rng))

    if distinct is None:
        for _ in range(count):
            yield one()
        return
    pool = [one() for _ in range(distinct)]
    for _ in range(count):
        yield rng.choice(pool)
