"""What the health score and the insight jobs may know of an integration's token: when it
expires and whether it renews itself. Read in one place so the two never disagree; no
secret leaves here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from connectors.registry import connector_spec
from store.crypto import SecretBox
from store.errors import SecretError
from store.models import Integration
from store.queries import decrypt_credentials


@dataclass(frozen=True)
class TokenFacts:
    expires_at: datetime | None
    renews_itself: bool  # the provider's OAuth refreshes and we hold a refresh token


def token_facts(vault: SecretBox, row: Integration, provider: str) -> TokenFacts:
    try:
        credentials = decrypt_credentials(vault, row)
    except SecretError:  # a key problem for the operator; the token's expiry is unknown then
        return TokenFacts(None, False)
    expires = credentials.get("expires_at")
    try:  # epoch seconds, as a number or as numeric text
        at = (datetime.fromtimestamp(float(expires), UTC)
              if isinstance(expires, int | float | str) and not isinstance(expires, bool)
              else None)
    except (ValueError, OverflowError, OSError):
        at = None
    spec = connector_spec(provider)
    oauth = spec.auth.oauth if spec is not None else None
    return TokenFacts(at, bool(oauth is not None and oauth.refresh
                               and credentials.get("refresh_token")))
