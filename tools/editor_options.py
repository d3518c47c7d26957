"""What the mapping and workflow editors may offer: the transformation rules with their
parameter names, and the condition operators, read from the engines that check them on
save, so an editor never offers what a save would refuse."""

from __future__ import annotations

from typing import Any

import jobs.mapping.rules  # noqa: F401  (each rule module registers itself)
from connectors.registry import connector_spec
from jobs.mapping.model import RULES
from jobs.workflows.conditions import OPS


def mapping_rules() -> list[dict[str, Any]]:
    return [{"rule": name, "params": list(rule.params)} for name, rule in sorted(RULES.items())]


def condition_operators() -> list[str]:
    return list(OPS)


def credential_fields(provider: str) -> list[dict[str, Any]]:
    """What a form adding ``provider`` asks for: the API key where that is the credential,
    else the OAuth app's client id and secret (the consent flow brings the tokens)."""
    spec = connector_spec(provider)
    if spec is None:
        return []
    if spec.auth.kind == "api_key" or spec.auth.oauth is None:
        return [{"name": field, "secret": True} for field in spec.auth.required]
    return [{"name": "client_id", "secret": False}, {"name": "client_secret", "secret": True}]


def stream_fields(provider: str, stream: str | None) -> list[str]:
    """The fields a mapping of ``stream`` may read from, as its connector lists them."""
    spec = connector_spec(provider)
    found = next((s for s in spec.streams if s.name == stream), None) if spec else None
    return list(found.fields) if found else []
