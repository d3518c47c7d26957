"""Deterministic people and companies the simulators' seeded records are made of."""

from __future__ import annotations

import random

FIRST_NAMES = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis",
               "Frances", "Edsger", "Radia", "Guido", "Anita", "Tim", "Katherine", "Donald"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov",
              "Ritchie", "Allen", "Dijkstra", "Perlman", "Rossum", "Borg", "Berners-Lee",
              "Johnson", "Knuth"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka",
             "Tyrell", "Cyberdyne", "Soylent", "Vandelay"]


def person(rng: random.Random, index: int) -> dict[str, str]:
    """A deterministic person; the email is unique per index."""
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    company = rng.choice(COMPANIES)
    email = f"{first.lower()}.{last.lower().replace('-', '')}.{index}@{company.lower()}.example"
    return {"first": first, "last": last, "company": company, "email": email}
