"""Slack simulator: Web API paging, errors, limits, OAuth rotation, Events API signing, SDK."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from connectors.sandbox import slack
from connectors.sandbox.kit import Faults, ProviderSandbox
from connectors.sandbox.server import SandboxServer
from tests.sandbox.conftest import Received, Receiver

AUTH = {"Authorization": f"Bearer {slack.DEMO_TOKEN}"}


@pytest.fixture
def box(sandbox: SandboxServer) -> Iterator[ProviderSandbox]:
    slack_box = sandbox.sandboxes["slack"]
    yield slack_box
    slack_box.counts_override = {}
    slack_box.reset()


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url + "/slack", timeout=10) as http:
        yield http


def call(client: httpx.Client, method: str, token: str | None = slack.DEMO_TOKEN,
         **params: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get(f"/api/{method}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def collect(client: httpx.Client, method: str, key: str, **params: Any) -> list[dict[str, Any]]:
    items, cursor, pages = [], "", 0
    while True:
        body = call(client, method, cursor=cursor, **params)
        assert body["ok"], body
        items.extend(body[key])
        pages += 1
        cursor = body["response_metadata"]["next_cursor"]
        if not cursor:
            return items


def test_users_list_pages_to_the_end(box: ProviderSandbox, client: httpx.Client) -> None:
    box.counts_override = {"users": 230}
    box.reset()
    first = call(client, "users.list", limit=100)
    cursor = first["response_metadata"]["next_cursor"]
    assert base64.b64decode(cursor).decode() == "user:U06000002S"  # index 100 in base 36
    users = collect(client, "users.list", "members", limit=100)
    ids = [u["id"] for u in users]
    assert len(ids) == 230 and len(set(ids)) == 230
    assert any(u["deleted"] for u in users) and any(u["is_bot"] for u in users)
    assert all("email" not in u["profile"] for u in users if u["is_bot"])
    assert call(client, "users.info", user=ids[-1])["user"] == users[-1]
    assert call(client, "users.info", user="U06ZZZZZZZ")["error"] == "user_not_found"


def test_conversations_list_filters_and_limit_cap(box: ProviderSandbox,
                                                  client: httpx.Client) -> None:
    box.counts_override = {"channels": 1500}
    box.reset()
    slack.limits(box)["per_minute"]["conversations.list"] = 100  # Tier 2 would stop this walk
    capped = call(client, "conversations.list", limit=5000, types="public_channel,private_channel")
    assert 0 < len(capped["channels"]) <= 1000
    assert base64.b64decode(capped["response_metadata"]["next_cursor"]).decode() == (
        "team:C0600000RS")  # scanning stopped at index 1000: the cap was applied
    public = collect(client, "conversations.list", "channels", limit=200)
    private = collect(client, "conversations.list", "channels", limit=200, types="private_channel")
    assert public and private
    assert not any(c["is_private"] for c in public)
    assert all(c["is_private"] and c["is_member"] for c in private)
    both = collect(client, "conversations.list", "channels", limit=300,
                   types="public_channel,private_channel")
    assert len({c["id"] for c in both}) == len(both) == len(public) + len(private)
    live = collect(client, "conversations.list", "channels", limit=200, exclude_archived="true")
    assert len(live) == len([c for c in public if not c["is_archived"]]) < len(public)
    assert call(client, "conversations.list", limit="abc")["error"] == "invalid_limit"
    assert call(client, "conversations.list", types="dm")["error"] == "invalid_types"
    bad = call(client, "conversations.list", cursor="bm9wZQ==")
    assert bad == {"ok": False, "error": "invalid_cursor"}


def test_history_pages_newest_first_and_oldest_delta(box: ProviderSandbox,
                                                     client: httpx.Client) -> None:
    messages: list[dict[str, Any]] = []
    cursor = ""
    while True:
        body = call(client, "conversations.history", channel="C060000000", limit=60,
                    cursor=cursor)
        assert body["ok"] and len(body["messages"]) <= 60
        messages.extend(body["messages"])
        if not body["has_more"]:
            assert "response_metadata" not in body
            break
        cursor = body["response_metadata"]["next_cursor"]
    stamps = [float(m["ts"]) for m in messages]
    assert len(messages) == 200 and stamps == sorted(stamps, reverse=True)
    assert len(set(stamps)) == 200
    pivot = messages[9]["ts"]
    newer = call(client, "conversations.history", channel="general", oldest=pivot)
    assert [m["ts"] for m in newer["messages"]] == [m["ts"] for m in messages[:9]]
    inclusive = call(client, "conversations.history", channel="general", oldest=pivot,
                     inclusive="true")
    assert len(inclusive["messages"]) == 10
    window = call(client, "conversations.history", channel="general", oldest=messages[20]["ts"],
                  latest=messages[10]["ts"])
    assert [m["ts"] for m in window["messages"]] == [m["ts"] for m in messages[11:20]]
    posted = client.post("/api/chat.postMessage", headers=AUTH,
                         json={"channel": "C060000000", "text": "hello delta"}).json()
    assert posted["ok"] and posted["channel"] == "C060000000"
    delta = call(client, "conversations.history", channel="C060000000", oldest=messages[0]["ts"])
    assert [(m["ts"], m["text"]) for m in delta["messages"]] == [(posted["ts"], "hello delta")]
    assert call(client, "conversations.history", channel="C060000000",
                cursor="eHl6")["error"] == "invalid_cursor"


def _find_channel(client: httpx.Client, **wanted: bool) -> dict[str, Any]:
    channels = collect(client, "conversations.list", "channels", limit=1000)
    return next(c for c in channels if all(c[k] == v for k, v in wanted.items()))


def test_post_message_errors(box: ProviderSandbox, client: httpx.Client) -> None:
    def post(**body: Any) -> dict[str, Any]:
        answer: dict[str, Any] = client.post("/api/chat.postMessage", headers=AUTH,
                                             json=body).json()
        return answer

    assert post(channel="C060000000")["error"] == "no_text"
    assert post(channel="C060000000", text="x" * 40_001)["error"] == "msg_too_long"
    assert post(channel="C06ZZZZZZZ", text="hi")["error"] == "channel_not_found"
    assert post(channel="C060000000", blocks="{not json")["error"] == "invalid_blocks"
    outside = _find_channel(client, is_member=False, is_archived=False)
    assert post(channel=outside["id"], text="hi")["error"] == "not_in_channel"
    archived = _find_channel(client, is_archived=True)
    assert post(channel=archived["id"], text="hi")["error"] == "is_archived"
    form = client.post("/api/chat.postMessage",
                       data={"token": slack.DEMO_TOKEN, "channel": "#general", "text": "form"})
    assert form.json()["ok"] and form.json()["message"]["text"] == "form"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    assert post(channel="general", text="fallback", blocks=blocks)["message"]["blocks"] == blocks


def test_tier_and_post_rate_limits(box: ProviderSandbox, client: httpx.Client) -> None:
    knobs = slack.limits(box)
    knobs["per_minute"]["users.list"] = 2
    knobs["post_burst"] = 2
    assert call(client, "users.list", limit=10)["ok"]
    assert call(client, "users.list", limit=10)["ok"]
    limited = client.get("/api/users.list", headers=AUTH)
    assert limited.status_code == 429
    assert limited.json() == {"ok": False, "error": "ratelimited"}
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert call(client, "conversations.list")["ok"], "other methods have their own window"
    for _ in range(2):
        ok = client.post("/api/chat.postMessage", headers=AUTH,
                         json={"channel": "C060000000", "text": "burst"})
        assert ok.json()["ok"]
    burst = client.post("/api/chat.postMessage", headers=AUTH,
                        json={"channel": "C060000000", "text": "too fast"})
    assert burst.status_code == 429 and burst.headers["Retry-After"] == "1"


def test_fault_bodies(box: ProviderSandbox, client: httpx.Client) -> None:
    box.set_faults(Faults(rate_429=1.0, retry_after_s=7))
    limited = client.get("/api/conversations.list", headers=AUTH)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert limited.json() == {"ok": False, "error": "ratelimited"}
    box.set_faults(Faults(rate_5xx=1.0))
    down = client.get("/api/conversations.list", headers=AUTH)
    assert down.status_code == 503
    assert down.json() == {"ok": False, "error": "service_unavailable"}


def test_credentials_and_request_shapes(box: ProviderSandbox, client: httpx.Client) -> None:
    assert call(client, "auth.test", token=None) == {"ok": False, "error": "not_authed"}
    assert call(client, "auth.test", token="xoxb-wrong")["error"] == "invalid_auth"
    in_json = client.post("/api/auth.test", json={"token": slack.DEMO_TOKEN})
    assert in_json.json()["error"] == "not_authed", "JSON bodies need the bearer header"
    in_form = client.post("/api/auth.test", data={"token": slack.DEMO_TOKEN}).json()
    assert in_form["ok"] and in_form["user_id"] == "U07SBXBOT1"
    raw = client.post("/api/auth.test", headers=AUTH, content=b"channel=x")
    assert raw.json()["error"] == "missing_post_type"
    assert call(client, "nope.method")["error"] == "unknown_method"
    assert client.get("/apps/manage", headers=AUTH).status_code == 404
    seen = [r for r in box.requests if r.get("api_method") == "auth.test"]
    assert seen[0]["method"] == "GET" and seen[0]["path"] == "/slack/api/auth.test"


def _authorize(client: httpx.Client, scope: str, verifier: str | None = None) -> str:
    query = {"client_id": "sandbox-client", "scope": scope, "state": "s1",
             "redirect_uri": "https://app.example/cb"}
    if verifier:
        digest = hashlib.sha256(verifier.encode()).digest()
        query.update(code_challenge=base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
                     code_challenge_method="S256")
    redirect = client.get("/oauth/v2/authorize", params=query)
    assert redirect.status_code == 302
    params = parse_qs(urlparse(redirect.headers["location"]).query)
    assert params["state"] == ["s1"]
    return params["code"][0]


def test_oauth_pkce_expiry_and_rotation(box: ProviderSandbox, client: httpx.Client) -> None:
    box.set_faults(Faults(token_expiry_calls=2))
    verifier = "v" * 50
    code = _authorize(client, "channels:read,chat:write", verifier)
    bad = client.post("/api/oauth.v2.access", auth=("sandbox-client", "sandbox-secret"),
                      data={"code": code, "code_verifier": "w" * 50}).json()
    assert bad["error"] == "invalid_code"
    code = _authorize(client, "channels:read,chat:write", verifier)
    wrong = client.post("/api/oauth.v2.access", auth=("sandbox-client", "nope"),
                        data={"code": code, "code_verifier": verifier}).json()
    assert wrong["error"] == "bad_client_secret"
    grant = client.post("/api/oauth.v2.access", auth=("sandbox-client", "sandbox-secret"),
                        data={"code": code, "code_verifier": verifier}).json()
    assert grant["ok"] and grant["token_type"] == "bot"
    assert grant["access_token"].startswith("xoxe.xoxb-1-")
    assert grant["refresh_token"].startswith("xoxe-1-") and grant["expires_in"] == 43_200
    assert grant["scope"] == "channels:read,chat:write"
    token = grant["access_token"]
    assert call(client, "auth.test", token=token)["ok"]
    assert call(client, "auth.test", token=token)["ok"]
    assert call(client, "auth.test", token=token)["error"] == "token_expired"
    fresh = client.post("/api/oauth.v2.access", data={
        "client_id": "sandbox-client", "client_secret": "sandbox-secret",
        "grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}).json()
    assert fresh["ok"] and fresh["refresh_token"] != grant["refresh_token"]
    assert call(client, "auth.test", token=fresh["access_token"])["ok"]
    reused = client.post("/api/oauth.v2.access", data={
        "client_id": "sandbox-client", "client_secret": "sandbox-secret",
        "grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}).json()
    assert reused["error"] == "invalid_refresh_token"


def test_missing_scope_and_email_visibility(box: ProviderSandbox, client: httpx.Client) -> None:
    def token_for(scope: str) -> str:
        code = _authorize(client, scope)
        return client.post("/api/oauth.v2.access", data={  # type: ignore[no-any-return]
            "client_id": "sandbox-client", "client_secret": "sandbox-secret",
            "code": code}).json()["access_token"]

    poster = token_for("chat:write")
    denied = call(client, "users.list", token=poster)
    assert denied == {"ok": False, "error": "missing_scope", "needed": "users:read",
                      "provided": "chat:write"}
    reader = token_for("users:read")
    humans = [u for u in call(client, "users.list", token=reader, limit=50)["members"]
              if not u["is_bot"]]
    assert humans and all("email" not in u["profile"] for u in humans)
    with_email = call(client, "users.list", limit=50)["members"]
    assert all("@" in u["profile"]["email"] for u in with_email if not u["is_bot"])
    private = call(client, "conversations.list", token=reader, types="private_channel")
    assert (private["error"], private["needed"]) == ("missing_scope", "groups:read")


def test_mid_sync_change_is_visible(box: ProviderSandbox, client: httpx.Client) -> None:
    box.set_faults(Faults(mutate_after_calls=2))
    before = call(client, "users.list", limit=5)["members"][0]
    after = call(client, "users.list", limit=5)["members"][0]
    assert not before["real_name"].endswith("(renamed)")
    assert after["real_name"] == before["real_name"] + " (renamed)"
    assert after["updated"] > before["updated"]


def test_signature_matches_slack_documented_example() -> None:
    body = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
            "channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
            "command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
            "commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id="
            "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    assert slack.sign("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body.encode()) == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")


def test_webhook_delivery_verifies_independently(box: ProviderSandbox) -> None:
    headers, body = slack.webhook_delivery(box, "https://hooks.example/slack",
                                           {"type": "app_mention", "text": "hi"})
    stamp = headers["X-Slack-Request-Timestamp"]
    expected = hmac.new(box.webhook_secret.encode(), f"v0:{stamp}:".encode() + body,
                        hashlib.sha256).hexdigest()
    assert headers["X-Slack-Signature"] == "v0=" + expected
    envelope = json.loads(body)
    assert envelope["type"] == "event_callback" and envelope["event"]["type"] == "app_mention"
    assert envelope["event_id"].startswith("Ev") and envelope["team_id"] == "T06SBX0001"
    verifier = SignatureVerifier(box.webhook_secret)
    assert verifier.is_valid(body=body, timestamp=stamp, signature=headers["X-Slack-Signature"])
    tampered = body.replace(b"hi", b"ho")
    assert not verifier.is_valid(body=tampered, timestamp=stamp,
                                 signature=headers["X-Slack-Signature"])


def _echo_challenge(call: Received) -> tuple[int, dict[str, str], bytes]:
    """An Events API endpoint answering a url_verification request."""
    reply = json.dumps({"challenge": json.loads(call.body).get("challenge")}).encode()
    return 200, {"Content-Type": "application/json"}, reply


def test_deliver_route_sends_url_verification(box: ProviderSandbox, client: httpx.Client,
                                              receiver: Receiver) -> None:
    receiver.reply = _echo_challenge
    sent = client.post("/_sandbox/webhooks/deliver", json={
        "url": f"{receiver.url}/slack/events",
        "payload": {"type": "url_verification", "challenge": "c-123"}}).json()
    assert sent["status_code"] == 200 and json.loads(sent["response_body"]) == {
        "challenge": "c-123"}
    headers, raw = receiver.calls[-1].headers, receiver.calls[-1].body
    assert json.loads(raw) == {"token": "sandbox-verification-token", "type": "url_verification",
                               "challenge": "c-123"}
    assert SignatureVerifier(box.webhook_secret).is_valid_request(raw, headers)


def test_slack_sdk_reads_what_the_simulator_serves(sandbox: SandboxServer,
                                                   box: ProviderSandbox,
                                                   client: httpx.Client) -> None:
    sdk = WebClient(token=slack.DEMO_TOKEN, base_url=sandbox.url + "/slack/api/")
    via_sdk = [c for page in sdk.conversations_list(limit=100) for c in page["channels"]]
    assert via_sdk == collect(client, "conversations.list", "channels", limit=100)
    members = [u["id"] for page in sdk.users_list(limit=250) for u in page["members"]]
    assert len(members) == 1200 and len(set(members)) == 1200
    posted = sdk.chat_postMessage(channel="C060000000", text="from the SDK")
    latest = sdk.conversations_history(channel="C060000000", limit=1)
    assert latest["messages"][0]["ts"] == posted["ts"]
    assert latest["messages"][0]["text"] == "from the SDK"
    slack.limits(box)["per_minute"]["users.list"] = 0
    with pytest.raises(SlackApiError) as raised:
        sdk.users_list(limit=10)
    assert raised.value.response.status_code == 429
    assert raised.value.response["error"] == "ratelimited"
    assert int(raised.value.response.headers["Retry-After"]) >= 1


def test_threads_replies_update_and_dms_through_slack_sdk(sandbox: SandboxServer,
                                                         box: ProviderSandbox) -> None:
    sdk = WebClient(token=slack.DEMO_TOKEN, base_url=sandbox.url + "/slack/api/")
    parent = sdk.chat_postMessage(channel="C060000000", text="parent")
    first = sdk.chat_postMessage(channel="C060000000", text="first", thread_ts=parent["ts"])
    sdk.chat_postMessage(channel="C060000000", text="second", thread_ts=parent["ts"])
    thread = sdk.conversations_replies(channel="C060000000", ts=parent["ts"])
    assert [m["text"] for m in thread["messages"]] == ["parent", "first", "second"]
    assert thread["messages"][0]["reply_count"] == 2
    assert thread["messages"][0]["latest_reply"] == thread["messages"][2]["ts"]
    paged = sdk.conversations_replies(channel="C060000000", ts=parent["ts"], limit=2)
    assert paged["has_more"] and paged["response_metadata"]["next_cursor"]
    rest = sdk.conversations_replies(channel="C060000000", ts=parent["ts"], limit=2,
                                     cursor=paged["response_metadata"]["next_cursor"])
    assert [m["text"] for m in rest["messages"]] == ["second"]
    top = sdk.conversations_history(channel="C060000000", limit=3)["messages"]
    assert top[0]["ts"] == parent["ts"] and first["ts"] not in [m["ts"] for m in top]

    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*done*"}}]
    updated = sdk.chat_update(channel="C060000000", ts=first["ts"], text="edited",
                              blocks=blocks)
    assert updated["ts"] == first["ts"] and updated["message"]["blocks"] == blocks
    again = sdk.conversations_replies(channel="C060000000", ts=parent["ts"])["messages"]
    assert again[1]["text"] == "edited" and "edited" in again[1]
    with pytest.raises(SlackApiError) as raised:
        sdk.chat_update(channel="C060000000", ts="1.000001", text="x")
    assert raised.value.response["error"] == "message_not_found"
    generated = sdk.conversations_history(channel="C060000000", limit=1, latest=parent["ts"])
    with pytest.raises(SlackApiError) as raised:  # a person's message is not the bot's
        sdk.chat_update(channel="C060000000", ts=generated["messages"][0]["ts"], text="x")
    assert raised.value.response["error"] == "cant_update_message"

    dm = sdk.chat_postMessage(channel="D060000001", text="hello in private")
    assert dm["channel"] == "D060000001"
    assert sdk.conversations_info(channel="D060000001")["channel"]["is_im"] is True
    assert [m["text"] for m in sdk.conversations_history(channel="D060000001")["messages"]] \
        == ["hello in private"]


def test_events_are_signed_retried_and_buttons_pressed_as_slack_does(
        box: ProviderSandbox, client: httpx.Client, receiver: Receiver) -> None:
    answers = iter([500, 200])
    receiver.reply = lambda call: (next(answers, 200), {}, b"")
    client.post("/_sandbox/request_url", json={"events": f"{receiver.url}/slack/events"})
    box.state.retry_delays_s = (0.0, 0.0, 0.0)
    said = client.post("/_sandbox/say", json={
        "user": "U060000001", "channel": "C060000000",
        "text": "<@U07SBXBOT1> how are things?"}).json()
    assert said["status_code"] == 500
    verifier = SignatureVerifier(box.webhook_secret)
    for _ in range(250):  # the retry goes out after the first answer
        if len(receiver.posted()) == 2:
            break
        time.sleep(0.02)
    first, retry = receiver.posted()
    assert first.body == retry.body and verifier.is_valid_request(retry.body, retry.headers)
    assert "x-slack-retry-num" not in first.headers
    assert (retry.headers["x-slack-retry-num"], retry.headers["x-slack-retry-reason"]) == (
        "1", "http_error")
    event = json.loads(first.body)
    assert event["event_id"] == said["event_id"] and event["event"]["type"] == "app_mention"
    assert event["event"]["ts"] == said["ts"] and event["team_id"] == "T06SBX0001"

    dm = client.post("/_sandbox/say", json={"user": "U060000001", "text": "psst"}).json()
    im = json.loads(receiver.posted()[-1].body)["event"]
    assert (im["type"], im["channel_type"], im["channel"]) == ("message", "im", dm["channel"])

    blocks = [{"type": "actions", "block_id": "b1", "elements": [
        {"type": "button", "action_id": "go", "value": "42",
         "text": {"type": "plain_text", "text": "Go"}}]}]
    posted = call(client, "chat.postMessage", channel="C060000000", text="pick",
                  blocks=json.dumps(blocks))
    pressed = client.post("/_sandbox/press", json={"user": "U060000002",
                                                   "channel": "C060000000",
                                                   "ts": posted["ts"], "action_id": "go"})
    assert pressed.json() == {"status_code": 200}
    press = receiver.posted()[-1]
    assert press.headers["content-type"] == "application/x-www-form-urlencoded"
    assert verifier.is_valid_request(press.body, press.headers)
    payload = json.loads(parse_qs(press.body.decode())["payload"][0])
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U060000002"
    assert payload["actions"][0]["value"] == "42" and payload["actions"][0]["block_id"] == "b1"
    assert payload["container"]["message_ts"] == posted["ts"]
    answered = httpx.post(payload["response_url"], json={"text": "thanks",
                                                         "replace_original": False})
    assert answered.json() == {"ok": True} and box.state.responses[-1]["text"] == "thanks"
