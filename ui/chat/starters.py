"""The starter questions on an empty conversation: the core four, then the elements'."""

from __future__ import annotations

from ui.chat import elements

CORE: list[tuple[str, str, str]] = [
    ("Health", "How healthy are my integrations?", ""),
    ("Last failure", "Why did the last sync fail?", ""),
    ("Sync HubSpot", "Sync HubSpot now", ""),
    ("New Lead Alert", "Create a New Lead Alert workflow", ""),
]


def starters() -> list[tuple[str, str, str]]:
    return CORE + list(elements.STARTERS)
