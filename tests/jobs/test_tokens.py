"""The one reading of a token's facts the health score and the insights share."""

from __future__ import annotations

from datetime import UTC, datetime

from jobs.tokens import TokenFacts, token_facts
from store.models import Integration
from tools.context import Services


def _row(services: Services, credentials: dict[str, object]) -> Integration:
    return Integration(name="x", auth_credentials=services.vault.encrypt(credentials))


def test_expiry_as_number_or_text_and_renewal_only_where_the_provider_refreshes(
        services: Services) -> None:
    at = datetime(2027, 1, 1, tzinfo=UTC)
    held = {"access_token": "a", "refresh_token": "r"}
    hubspot = token_facts(services.vault, _row(services, {**held, "expires_at": at.timestamp()}),
                          "hubspot")
    assert hubspot.expires_at == at and hubspot.renews_itself
    # Facebook issues no refreshes: a refresh token it never honours renews nothing
    facebook = token_facts(services.vault,
                           _row(services, {**held, "expires_at": str(at.timestamp())}),
                           "facebook_ads")
    assert facebook.expires_at == at and not facebook.renews_itself
    bare = token_facts(services.vault, _row(services, {"api_key": "k", "expires_at": "soon"}),
                       "mailchimp")
    assert bare.expires_at is None and not bare.renews_itself


def test_credentials_no_key_opens_leave_the_facts_unknown(services: Services) -> None:
    row = Integration(name="x", auth_credentials="gAAAAAB-not-a-fernet-token")
    assert token_facts(services.vault, row, "hubspot") == TokenFacts(None, False)
