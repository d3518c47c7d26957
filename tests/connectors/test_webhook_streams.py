"""Which stream a provider's webhook event concerns, as each connector declares it: what
starts a realtime data flow (jobs/sync/realtime.py)."""

from __future__ import annotations

import pytest

from connectors.registry import connector_spec

CASES = [
    ("hubspot", "contact.creation", {"contacts"}),
    ("hubspot", "contact.propertyChange", {"contacts"}),
    ("hubspot", "company.deletion", {"companies"}),
    ("hubspot", "deal.propertyChange", {"deals"}),
    ("hubspot", "ticket.creation", set()),
    ("salesforce", "Contact.outbound_message", {"contacts"}),
    ("salesforce", "Opportunity.outbound_message", {"opportunities"}),
    ("salesforce", "Case.outbound_message", set()),
    ("mailchimp", "subscribe", {"members"}),
    ("mailchimp", "upemail", {"members"}),
    ("mailchimp", "campaign", set()),
    ("slack", "channel_rename", {"channels"}),
    ("slack", "user_change", {"users"}),
    ("slack", "message", {"messages"}),
    ("slack", "app_rate_limited", set()),
]


@pytest.mark.parametrize(("provider", "event_type", "streams"), CASES)
def test_an_event_concerns_its_stream(provider: str, event_type: str,
                                      streams: set[str]) -> None:
    spec = connector_spec(provider)
    assert spec is not None and spec.webhooks is not None
    assert spec.webhooks.streams_for(event_type) == streams


@pytest.mark.parametrize("provider", ["hubspot", "salesforce", "mailchimp", "slack",
                                      "google_ads", "facebook_ads", "zapier"])
def test_every_declared_stream_exists(provider: str) -> None:
    spec = connector_spec(provider)
    assert spec is not None and spec.webhooks is not None
    names = {stream.name for stream in spec.streams}
    assert {stream for _, stream in spec.webhooks.streams} <= names
