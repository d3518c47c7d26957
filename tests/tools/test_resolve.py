"""A name as a person types it finds the one thing it means, or the candidates."""

from __future__ import annotations

import uuid

import pytest

from store.errors import NotFound, ValidationFailed
from tools.resolve import Candidate, pick

INTEGRATIONS = [Candidate(uuid.uuid4(), "HubSpot (sandbox)", ("hubspot", "HubSpot")),
                Candidate(uuid.uuid4(), "Salesforce (sandbox)", ("salesforce", "Salesforce")),
                Candidate(uuid.uuid4(), "Mailchimp EU", ("mailchimp", "Mailchimp")),
                Candidate(uuid.uuid4(), "Mailchimp US", ("mailchimp", "Mailchimp"))]


@pytest.mark.parametrize(("said", "meant"), [
    ("HubSpot (sandbox)", "HubSpot (sandbox)"),  # exact
    ("hubspot", "HubSpot (sandbox)"),  # the provider's name
    ("Hubspt", "HubSpot (sandbox)"),  # misspelt
    ("salesfroce", "Salesforce (sandbox)"),
    ("sales", "Salesforce (sandbox)"),  # part of a name
    ("mailchimp us", "Mailchimp US"),
])
def test_an_unambiguous_name_resolves(said: str, meant: str) -> None:
    assert pick(said, INTEGRATIONS, "integration").name == meant


def test_an_ambiguous_name_answers_the_candidates() -> None:
    with pytest.raises(ValidationFailed) as caught:
        pick("mailchimp", INTEGRATIONS, "integration")
    assert "could mean more than one integration" in caught.value.message
    names = {c["name"] for c in caught.value.details[0]["candidates"]}
    assert names == {"Mailchimp EU", "Mailchimp US"}


def test_a_name_of_nothing_lists_what_there_is() -> None:
    with pytest.raises(ValidationFailed) as caught:
        pick("zendesk", INTEGRATIONS, "integration")
    assert caught.value.message.startswith("no integration is called 'zendesk'")
    with pytest.raises(NotFound):
        pick("anything", [], "workflow")
