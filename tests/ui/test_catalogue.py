"""An eighth provider is one connector module: its catalogue row appears on start."""

import sys
import types

import httpx

from connectors import registry
from connectors.auth import BearerScheme, OAuth2
from connectors.paginators import CursorParam
from connectors.request import Request
from connectors.spec import ConnectionTest, ConnectorSpec, RateLimit, Stream
from tools.catalogue import sync_catalogue
from tools.context import Services

PIPEDRIVE = ConnectorSpec(
    name="pipedrive", display_name="Pipedrive", category="crm",
    description="CRM: persons and deals.",
    base_url="https://api.pipedrive.com/v1", sandbox_base="/pipedrive",
    auth=BearerScheme(oauth=OAuth2(authorize_url="https://oauth.pipedrive.com/oauth/authorize",
                                   token_url="https://oauth.pipedrive.com/oauth/token")),
    streams=(Stream(name="persons", path="/persons", records="data",
                    paginator=CursorParam("additional_data.next_cursor", "cursor")),),
    writes=(), connection_test=ConnectionTest(Request("GET", "/users/me"), lambda body: "ok"),
    rate_limit=RateLimit(requests=80, per_seconds=2),
)


async def test_a_new_connector_module_gets_its_catalogue_row(api: httpx.AsyncClient,
                                                             services: Services, tenant,
                                                             monkeypatch) -> None:
    _, key = tenant
    module = types.ModuleType("connectors.providers.pipedrive")
    module.SPEC = PIPEDRIVE  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "connectors.providers.pipedrive", module)
    names = registry.connector_names()
    monkeypatch.setattr(registry, "connector_names", lambda: (*names, "pipedrive"))
    monkeypatch.setattr("tools.catalogue.connector_names", registry.connector_names)

    assert await sync_catalogue(services) == ["pipedrive"]
    assert await sync_catalogue(services) == []  # once

    auth = {"Authorization": f"Bearer {key}"}
    row = (await api.get("/integrations/providers/pipedrive/", headers=auth)).json()
    assert (row["display_name"], row["category"], row["auth_type"]) == ("Pipedrive", "crm",
                                                                        "oauth2")
    assert row["api_endpoints"] == {"base_url": "https://api.pipedrive.com/v1",
                                    "persons": "/persons"}
    assert row["rate_limits"] == {"requests": 80, "per_seconds": 2}
    caps = (await api.get("/integrations/providers/pipedrive/capabilities/",
                          headers=auth)).json()
    assert [s["name"] for s in caps["streams"]] == ["persons"]
    listed = (await api.get("/integrations/providers/", headers=auth)).json()
    assert len(listed) == 8
    hubspot = (await api.get("/integrations/providers/hubspot/", headers=auth)).json()
    assert hubspot["rate_limits"]["requests"] == 100  # the spec's, not the seeded 190


async def test_the_catalogue_says_what_the_connectors_do(api: httpx.AsyncClient,
                                                        tenant) -> None:
    """One source of truth: auth, OAuth (PKCE), rate limits, webhooks and streams come from
    the connector spec; the seeded row adds only what a spec cannot say."""
    _, key = tenant
    auth = {"Authorization": f"Bearer {key}"}
    hubspot = (await api.get("/integrations/providers/hubspot/", headers=auth)).json()
    assert hubspot["oauth_config"]["pkce"] is False
    assert hubspot["rate_limits"] == {"requests": 100, "per_seconds": 10, "daily": 250_000}
    salesforce = (await api.get("/integrations/providers/salesforce/", headers=auth)).json()
    assert salesforce["rate_limits"]["daily"] == 100_000
    for row in (await api.get("/integrations/providers/", headers=auth)).json():
        spec = registry.connector_spec(row["name"])
        assert spec is not None
        oauth = spec.auth.oauth
        limit = spec.rate_limit
        assert row["auth_type"] == spec.auth.kind
        assert row["oauth_config"].get("pkce") == (oauth.pkce if oauth else None)
        assert row["oauth_config"].get("scopes") == (list(oauth.scopes) if oauth else None)
        assert row["rate_limits"].get("requests") == limit.requests
        assert row["rate_limits"].get("daily") == limit.daily
        assert row["webhook_support"] is (spec.webhooks is not None)
        assert row["api_endpoints"]["base_url"] == spec.base_url
        assert {s.name for s in spec.streams} <= set(row["api_endpoints"])
        caps = (await api.get(f"/integrations/providers/{row['name']}/capabilities/",
                              headers=auth)).json()
        assert caps["rate_limits"] == row["rate_limits"]
        assert caps["auth_type"] == row["auth_type"]
        assert caps["webhook_events"] == row["webhook_events"]
