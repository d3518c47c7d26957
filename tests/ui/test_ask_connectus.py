"""POST /integrations/connectus/ask_connectus/ answers, proposes writes that wait for
/confirmations/{id}/confirm/ (or cancel), and refuses bad input with a clear 4xx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from store.models import SyncRun
from tests.agent.conftest import hubspot_with_flow
from tests.agent.scripted import ScriptedModel, call, say
from tests.conftest import make_tenant
from tools.context import Services

ASK = "/integrations/connectus/ask_connectus/"


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_ask_then_confirm_over_rest(services: Services, api: httpx.AsyncClient,
                                          sandbox: Any) -> None:
    caller, key = await make_tenant(services, "acme")
    integration, _ = await hubspot_with_flow(services, caller, sandbox.url)
    model = ScriptedModel(script=[call("sync_now", integration="hubspot")])
    services.extras["chat_model"] = model
    asked = await api.post(ASK, headers=_auth(key), json={
        "query": "sync HubSpot now", "integration_id": str(integration), "thread_id": None})
    assert asked.status_code == 200, asked.text
    body = asked.json()
    assert body["pending"]["preview"]["summary"].startswith("Sync 1 data flow(s)")
    assert body["tool_calls"][0]["name"] == "sync_now" and body["thread_id"]
    assert str(integration) in str(model.seen[0][0].content)  # the page it is asked from


    _, other_key = await make_tenant(services, "globex")
    url = f"/integrations/connectus/confirmations/{body['pending']['id']}/confirm/"
    refused = await api.post(url, headers=_auth(other_key))
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"

    model.script.append(say("Started."))
    confirmed = await api.post(url, headers=_auth(key))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["answer"] == "Started."
    async with services.db.session(caller.tenant_id) as session:
        assert await session.scalar(select(func.count()).select_from(SyncRun)) == 1
    shown = await api.get(url.removesuffix("confirm/"), headers=_auth(key))
    assert shown.status_code == 200 and shown.json()["status"] == "done"
    assert shown.json()["thread_id"] == body["thread_id"]
    again = await api.post(url, headers=_auth(key))
    assert again.status_code == 409 and "done already" in again.json()["error"]["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({}, "body.query"),
    ({"query": ""}, "body.query"),
    ({"query": "hi", "thread_id": "../other-tenant"}, "body.thread_id"),
    ({"query": "hi", "integration_id": "hubspot"}, "body.integration_id"),
    ({"query": "hi", "extra": 1}, "body.extra"),
    ({"query": "x" * 4001}, "body.query"),
])
async def test_bad_input_is_a_clear_4xx(services: Services, api: httpx.AsyncClient,
                                        body: dict[str, Any], field: str) -> None:
    _, key = await make_tenant(services, "acme")
    services.extras["chat_model"] = ScriptedModel(script=[])  # never reached
    answer = await api.post(ASK, headers=_auth(key), json=body)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid" and error["details"][0]["field"] == field


async def test_confirming_an_unknown_id_and_asking_without_a_key(
        services: Services, api: httpx.AsyncClient) -> None:
    _, key = await make_tenant(services, "acme")
    missing = await api.post("/integrations/connectus/confirmations/"
                             "00000000-0000-0000-0000-000000000000/cancel/", headers=_auth(key))
    assert missing.status_code == 404
    bad = await api.post("/integrations/connectus/confirmations/nope/confirm/",
                         headers=_auth(key))
    assert bad.status_code == 422
    anonymous = await api.post(ASK, json={"query": "hi"})
    assert anonymous.status_code == 401
    services.extras["chat_model"] = ScriptedModel(script=[])  # never reached
    elsewhere = await api.post(ASK, headers=_auth(key), json={
        "query": "hi", "integration_id": "00000000-0000-0000-0000-000000000001"})
    assert elsewhere.status_code == 404 and elsewhere.json()["error"]["code"] == "not_found"
