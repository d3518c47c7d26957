"""GET /integrations/connectus/search/: a viewer finds the tenant's logs by meaning; bad
input is a 422 naming the parameter; no key is a 401."""

from __future__ import annotations

import httpx

from jobs.embedding.backfill import embed_pending
from jobs.embedding.embedders import LocalE5
from store.models import HealthLog, Role
from tests.conftest import make_tenant
from tools.context import Services

SEARCH = "/integrations/connectus/search/"


async def test_a_viewer_searches_by_meaning(api: httpx.AsyncClient,
                                            services: Services) -> None:
    viewer, key = await make_tenant(services, "initech", Role.viewer)
    async with services.db.transaction(viewer.tenant_id) as session:
        session.add_all([HealthLog(severity="warning", category="rate_limited",
                                   message="Slack rate limited chat.postMessage; waited 30 s."),
                         HealthLog(severity="error", category="auth",
                                   message="Mailchimp API key was revoked by the owner.")])
    await embed_pending(services.db, LocalE5())
    answer = await api.get(SEARCH, params={"q": "the mailchimp secret was withdrawn",
                                           "limit": 1},
                           headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    [hit] = answer.json()
    assert hit["kind"] == "log" and "revoked" in hit["text"] and hit["label"] == "error"
    assert set(hit) == {"id", "kind", "text", "score", "label", "integration_id",
                        "created_at"}

    refused = await api.get(SEARCH, params={"q": "quota", "limit": 500},
                            headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"] == "limit"
    assert (await api.get(SEARCH, params={"q": "quota"})).status_code == 401
