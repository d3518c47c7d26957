"""The Zapier simulator: Catch Hooks, REST-hook target URLs and the Workflow API."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json

import httpx
import pytest

from connectors.sandbox.kit import Faults, ProviderSandbox
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.zapier import DEMO_TOKEN, ZapierState, webhook_delivery
from tests.sandbox.conftest import Receiver

AUTH = {"Authorization": f"Bearer {DEMO_TOKEN}"}


@pytest.fixture
def base(sandbox: SandboxServer) -> str:
    return sandbox.url + "/zapier"


@pytest.fixture
def box(sandbox: SandboxServer) -> ProviderSandbox:
    return sandbox.sandboxes["zapier"]


def test_catch_hook_answers_success_and_records_the_run(base: str, box: ProviderSandbox) -> None:
    resp = httpx.post(f"{base}/hooks/catch/123456/abcdef/", json={"deal": "D-1", "amount": 10})
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"attempt", "id", "request_id", "status"}
    assert body["status"] == "success" and body["attempt"] == body["request_id"] != body["id"]
    seen = box.state_as(ZapierState).catches
    assert len(seen) == 1 and seen[0]["hook"] == "123456/abcdef"
    assert seen[0]["request_id"] == body["request_id"]
    assert seen[0]["runs"] == [{"deal": "D-1", "amount": 10}]


def test_json_array_is_a_batch_of_runs(base: str) -> None:
    items = [{"id": i, "email": f"u{i}@connectus.example"} for i in range(3)]
    resp = httpx.put(f"{base}/hooks/catch/123456/abcdef", params={"source": "connectus"},
                     json=items)
    assert resp.status_code == 200
    seen = httpx.get(f"{base}/_sandbox/hooks").json()
    assert [r["data"] for r in seen["runs"]] == [{"source": "connectus", **i} for i in items]
    assert {r["request_id"] for r in seen["runs"]} == {resp.json()["request_id"]}
    assert seen["catch"][0]["method"] == "PUT" and json.loads(seen["catch"][0]["raw"]) == items


def test_form_get_and_legacy_hooks(base: str, box: ProviderSandbox) -> None:
    form = httpx.post(f"{base}/hooks/catch/123456/formhook/",
                      data={"first_name": "Bryan", "tag": ["a", "b"]})
    get = httpx.get(f"{base}/hooks/catch/123456/gethook/", params={"q": "1"})
    legacy = httpx.post(f"{base}/hooks/catch/oldhook/", content=b"plain text body",
                        headers={"Content-Type": "text/plain"})
    assert [r.status_code for r in (form, get, legacy)] == [200, 200, 200]
    runs = [entry["runs"] for entry in box.state_as(ZapierState).catches]
    assert runs == [[{"first_name": "Bryan", "tag": ["a", "b"]}], [{"q": "1"}],
                    [{"raw_body": "plain text body"}]]
    assert box.state_as(ZapierState).catches[2]["hook"] == "oldhook"


def test_silent_mode_returns_an_empty_200(base: str, box: ProviderSandbox) -> None:
    for url in (f"{base}/hooks/catch/123456/abcdef/silent/", f"{base}/hooks/catch/oldhook/silent/"):
        resp = httpx.post(url, json={"x": 1})
        assert resp.status_code == 200 and resp.content == b""
    assert [e["silent"] for e in box.state_as(ZapierState).catches] == [True, True]
    assert [e["hook"] for e in box.state_as(ZapierState).catches] == ["123456/abcdef", "oldhook"]


async def test_per_hook_limit_of_30_per_second(base: str, box: ProviderSandbox) -> None:
    async with httpx.AsyncClient() as client:
        replies = await asyncio.gather(*[
            client.post(f"{base}/hooks/catch/123456/burst/", json={"n": n}) for n in range(31)])
    codes = sorted(r.status_code for r in replies)
    assert codes == [200] * 30 + [429]
    assert len(box.state_as(ZapierState).catches) == 30
    other = httpx.post(f"{base}/hooks/catch/123456/calm/", json={})
    assert other.status_code == 200  # the limit is per hook


def test_per_user_five_minute_cap(base: str) -> None:
    httpx.post(f"{base}/_sandbox/limits", json={"user_per_5min": 4}).raise_for_status()
    codes = [httpx.post(f"{base}/hooks/catch/777/hook{n}/", json={}).status_code
             for n in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    assert httpx.post(f"{base}/hooks/catch/888/hook0/", json={}).status_code == 200


def test_injected_faults_on_hooks(base: str, box: ProviderSandbox) -> None:
    box.set_faults(Faults(rate_429=1.0))
    assert httpx.post(f"{base}/hooks/catch/1/a/", json={}).status_code == 429
    box.set_faults(Faults(rate_5xx=1.0))
    assert httpx.post(f"{base}/hooks/catch/1/a/", json={}).status_code == 503
    assert box.state_as(ZapierState).catches == []


def test_rest_hook_answers_410_once_the_zap_is_off(base: str, box: ProviderSandbox) -> None:
    url = f"{base}/hooks/standard/4242/sub-1/"
    assert httpx.post(url, json=[{"id": 1}, {"id": 2}]).status_code == 200
    assert [r["data"] for r in box.state_as(ZapierState).runs] == [{"id": 1}, {"id": 2}]
    httpx.post(f"{base}/_sandbox/rest-hooks",
               json={"subscription_id": "4242/sub-1", "active": False}).raise_for_status()
    assert httpx.post(url, json={"id": 3}).status_code == 410
    other = f"{base}/hooks/standard/sub-2/"
    assert httpx.post(other, json={}).status_code == 200
    assert httpx.delete(other).status_code == 200  # DELETE on a targetUrl turns the Zap off
    assert httpx.post(other, json={}).status_code == 410
    assert len(box.state_as(ZapierState).rest_deliveries) == 2


def test_zap_list_pages_to_the_last_page(base: str) -> None:
    ids: list[str] = []
    url: str | None = f"{base}/v2/zaps?limit=25"
    pages = []
    while url:
        page = httpx.get(url, headers=AUTH).json()
        pages.append(page)
        ids += [z["id"] for z in page["data"]]
        url = page["links"]["next"]
    assert len(ids) == 120 == len(set(ids)) and len(pages) == 5
    assert pages[0]["links"]["prev"] is None and pages[1]["links"]["prev"].endswith(
        "offset=0&limit=25")
    assert pages[-1]["meta"] == {"count": 120, "limit": 25, "offset": 100}
    assert len(pages[-1]["data"]) == 20
    zap = pages[0]["data"][0]
    assert zap["type"] == "zap" and set(zap) == {"type", "id", "is_enabled",
                                                "last_successful_run_date", "updated_at",
                                                "title", "links", "steps"}
    assert zap["links"]["html_editor"].startswith("https://zapier.com/editor/")
    default = httpx.get(f"{base}/v2/zaps", headers=AUTH).json()
    assert len(default["data"]) == 10 and default["meta"]["limit"] is None
    assert [z["id"] for z in default["data"]] == ids[:10]


def test_zap_list_rejects_bad_paging(base: str) -> None:
    for params, name in (({"limit": 101}, "limit"), ({"limit": "ten"}, "limit"),
                         ({"offset": -1}, "offset")):
        resp = httpx.get(f"{base}/v2/zaps", params=params, headers=AUTH)
        assert resp.status_code == 400
        error = resp.json()["errors"][0]
        assert error["status"] == 400 and error["source"] == {"parameter": name}
        assert name in error["detail"] and error["meta"]["source"] == "ZAPIER"
    missing = httpx.get(f"{base}/v2/nope", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "not_found"


def test_api_credentials(base: str) -> None:
    none = httpx.get(f"{base}/v2/zaps")
    assert none.status_code == 401
    assert none.json()["errors"][0]["code"] == "not_authenticated"
    bad = httpx.get(f"{base}/v2/zaps", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["errors"][0]["code"] == "authentication_failed"
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    me = httpx.get(f"{base}/v1/profiles/me", headers=AUTH).json()
    assert me["email_confirmed"] is True and me["email"] == "owner@connectus.example"


def test_oauth_expiry_after_n_calls_then_refresh(base: str, box: ProviderSandbox) -> None:
    box.set_faults(Faults(token_expiry_calls=2))
    verifier = "z" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    redirect = "https://connectus.example/cb"
    auth = httpx.get(f"{base}/v2/authorize", params={
        "response_type": "code", "client_id": "sandbox-client", "redirect_uri": redirect,
        "scope": "zap profile", "state": "s1", "code_challenge_method": "S256",
        "code_challenge": challenge.rstrip(b"=").decode()})
    assert auth.status_code == 302
    target = httpx.URL(auth.headers["location"])
    assert target.params["state"] == "s1"
    basic = httpx.BasicAuth("sandbox-client", "sandbox-secret")
    exchange = {"grant_type": "authorization_code", "code": target.params["code"],
                "redirect_uri": redirect, "code_verifier": verifier}
    tokens = httpx.post(f"{base}/oauth/token/", data=exchange, auth=basic).json()
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == "zap profile"
    assert httpx.post(f"{base}/oauth/token/", data=exchange, auth=basic).json() == {
        "error": "invalid_grant"}  # codes are single-use
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert [httpx.get(f"{base}/v2/zaps", headers=bearer).status_code for _ in range(3)] == \
        [200, 200, 401]
    expired = httpx.get(f"{base}/v1/profiles/me", headers=bearer)
    assert "expired" in expired.headers["WWW-Authenticate"]
    fresh = httpx.post(f"{base}/oauth/token/", auth=basic, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
    again = httpx.get(f"{base}/v2/zaps",
                      headers={"Authorization": f"Bearer {fresh['access_token']}"})
    assert again.status_code == 200
    wrong = httpx.post(f"{base}/oauth/token/", data={"grant_type": "client_credentials"},
                       auth=httpx.BasicAuth("sandbox-client", "wrong"))
    assert wrong.status_code == 401 and wrong.json() == {"error": "invalid_client"}
    garbled = httpx.post(f"{base}/oauth/token/", data={"grant_type": "client_credentials"},
                         headers={"Authorization": "Basic /w=="})  # not UTF-8; once a 500
    assert garbled.status_code == 401 and garbled.json() == {"error": "invalid_client"}
    app = httpx.post(f"{base}/oauth/token/", data={
        "grant_type": "client_credentials", "client_id": "sandbox-client",
        "client_secret": "sandbox-secret", "scope": "zap"}).json()
    assert "refresh_token" not in app and app["access_token"]


def test_api_rate_limit_then_cooldown(base: str, box: ProviderSandbox) -> None:
    httpx.post(f"{base}/_sandbox/limits", json={"api_per_minute": 3}).raise_for_status()
    assert [httpx.get(f"{base}/v2/zaps", headers=AUTH).status_code for _ in range(3)] == \
        [200] * 3
    limited = httpx.get(f"{base}/v2/zaps", headers=AUTH)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
    assert limited.headers["X-RateLimit-Limit"] == "3"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.json()["errors"][0]["code"] == "throttled"
    still = httpx.get(f"{base}/v2/zaps", headers=AUTH)
    assert still.status_code == 429 and 55 <= int(still.headers["Retry-After"]) <= 60
    box.set_faults(Faults(rate_429=1.0, retry_after_s=9))
    injected = httpx.get(f"{base}/v1/profiles/me", headers=AUTH)
    assert injected.status_code == 429 and injected.headers["Retry-After"] == "9"
    box.set_faults(Faults(rate_5xx=1.0))
    failed = httpx.get(f"{base}/v2/zaps", headers=AUTH)
    assert failed.status_code == 500
    assert failed.json()["errors"][0]["title"] == "APIException"


def test_zap_changes_mid_sync(base: str, box: ProviderSandbox) -> None:
    box.set_faults(Faults(mutate_after_calls=1))
    before = httpx.get(f"{base}/v2/zaps", headers=AUTH).json()["data"][0]
    after = httpx.get(f"{base}/v2/zaps", headers=AUTH).json()["data"][0]
    assert after["id"] == before["id"] and after["updated_at"] > before["updated_at"]


def test_webhook_delivery_uses_the_static_secret_header(
        base: str, box: ProviderSandbox, receiver: Receiver) -> None:
    payload = {"event": "zap.run", "items": [1, 2]}
    headers, body = webhook_delivery(box, "https://connectus.example/hooks/zapier", payload)
    assert headers["X-Connectus-Webhook-Secret"] == box.webhook_secret
    assert json.loads(body) == payload
    url = f"{receiver.url}/hooks/zapier"
    sent = httpx.post(f"{base}/_sandbox/webhooks/deliver", json={"url": url, "payload": payload})
    assert sent.json()["status_code"] == 200
    call = receiver.calls[0]
    path, got, raw = call.path, call.headers, call.body
    assert path == "/hooks/zapier" and json.loads(raw) == payload
    assert got["X-Connectus-Webhook-Secret"] == "sandbox-webhook-secret"
    assert got["Content-Type"].startswith("application/json")
