"""The Slack connector against its simulator: cursors, ok:false errors, rotation, events."""

import json
import time

import pytest

from connectors.cursors import to_iso
from connectors.errors import BadRequest, MissingScope, ReconnectNeeded
from connectors.providers.slack import SPEC, challenge, signature
from connectors.sandbox.kit import Faults
from connectors.sandbox.slack.methods import dataset
from connectors.spec import WebhookRequest
from connectors.webhooks import WebhookRejected
from tests.connectors.conftest import Recorder, oauth_tokens

DEMO = SPEC.sandbox_demo["credentials"]
SETTINGS = SPEC.sandbox_demo["settings"]
URL = "https://connectus.example/webhooks/slack/abc"


@pytest.fixture
def box(sandbox, monkeypatch):
    box = sandbox.sandboxes["slack"]
    monkeypatch.setattr(box, "counts_override", {"channels": 450, "users": 500,
                                                 "messages": 450})
    box.reset()
    return box


def _visible_channels(box) -> int:
    """What conversations.list may show the bot: private channels only where it is a member."""
    ds = dataset(box)
    return sum(1 for i in range(ds.count("channels"))
               if not (c := ds.generated("channels", i))["is_private"] or c["is_member"])


async def test_reads_channels_and_users_to_the_last_page(box, connect) -> None:
    connector = connect("slack", DEMO, SETTINGS)
    users = [page async for page in connector.pages("users")]
    ids = [u["id"] for page in users for u in page.records]
    assert len(ids) == 500 and len(set(ids)) == 500
    assert len(users) == 3 and users[-1].resume is None
    assert users[0].cursor == to_iso(max(u["updated"] for u in users[0].records))
    channels = await connector.read_all("channels")
    ids = [c["id"] for c in channels]
    assert len(ids) == _visible_channels(box) and len(set(ids)) == len(ids)
    assert any(c["is_private"] for c in channels) and any(c["is_archived"] for c in channels)
    listed = [r for r in box.requests if r.get("api_method") == "conversations.list"]
    assert len(listed) == 3 and listed[0]["query"]["types"] == "public_channel,private_channel"


async def test_history_reads_every_message_then_only_newer_ones(box, connect) -> None:
    connector = connect("slack", DEMO, {"channel": "#general"})
    everything = await connector.read_all("messages")
    stamps = [m["ts"] for m in everything]
    assert len(stamps) == 450 and len(set(stamps)) == 450
    assert stamps == sorted(stamps, reverse=True)  # Slack answers newest first
    cursor = to_iso(stamps[99])
    changed = await connector.read_all("messages", since=cursor)
    assert [m["ts"] for m in changed] == stamps[:99]  # `oldest` is exclusive
    assert box.requests[-1]["query"]["oldest"].startswith(stamps[99].split(".")[0])


async def test_posts_one_message_per_call_and_reads_them_back(box, connect) -> None:
    connector = connect("slack", DEMO, SETTINGS)
    since = to_iso(time.time() - 5)
    records = [{"channel": SETTINGS["channel"], "text": f"hello {i}"} for i in range(5)]
    records.insert(2, {"channel": "C0NOPE0000", "text": "lost"})
    result = await connector.write("messages.post", records)
    assert (result.ok, result.failed) == (5, 1)
    assert result.errors[0]["batch_start"] == 2 and "channel_not_found" in result.errors[0][
        "message"]
    posts = [r for r in box.requests if r.get("api_method") == "chat.postMessage"]
    assert len(posts) == 6
    back = await connector.read_all("messages", since=since)
    assert {m["text"] for m in back} == {f"hello {i}" for i in range(5)}


async def test_a_429_storm_is_ridden_out_with_retry_after(box, connect) -> None:
    box.set_faults(Faults(rate_429=0.5, retry_after_s=0))
    recorder = Recorder()
    connector = connect("slack", DEMO, SETTINGS, observer=recorder)
    assert len(await connector.read_all("users", page_size=250)) == 500
    limited = [e for e in recorder.errors if e.category == "rate_limited"]
    assert limited and limited[0].http_status == 429 and limited[0].retry_after == 1


async def test_5xx_are_retried(box, connect) -> None:
    box.set_faults(Faults(rate_5xx=0.3))
    recorder = Recorder()
    connector = connect("slack", DEMO, SETTINGS, observer=recorder)
    assert len(await connector.read_all("users", page_size=100)) == 500
    assert any(e.category == "provider_down" for e in recorder.errors)


async def test_rotated_token_is_refreshed_mid_stream_and_the_new_refresh_token_saved(
        box, sandbox, connect) -> None:
    box.set_faults(Faults(token_expiry_calls=2))
    credentials = await oauth_tokens(sandbox, "slack", ",".join(SPEC.auth.oauth.scopes))
    saved: list[dict] = []

    async def save(new: dict) -> None:
        saved.append(dict(new))

    connector = connect("slack", credentials, SETTINGS, save_credentials=save)
    assert len(await connector.read_all("users", page_size=100)) == 500
    assert len(saved) >= 2
    rotated = [s["refresh_token"] for s in saved]
    assert len(set(rotated)) == len(rotated) and credentials["refresh_token"] not in rotated
    tokens = box.current_tokens
    assert rotated[-1] in tokens.refresh  # the one we keep is the one Slack still honours
    assert credentials["refresh_token"] in tokens.revoked
    assert saved[-1]["access_token"] != credentials["access_token"]


async def test_missing_scope_names_what_is_needed(box, sandbox, connect) -> None:
    credentials = await oauth_tokens(sandbox, "slack", "channels:read")
    with pytest.raises(MissingScope) as info:
        await connect("slack", credentials, SETTINGS).read_all("users")
    assert "users:read" in info.value.message and "users:read" in (info.value.action or "")


async def test_a_channel_the_bot_cannot_read_is_a_bad_request(box, connect) -> None:
    with pytest.raises(BadRequest) as info:
        await connect("slack", DEMO, {"channel": "C0NOPE0000"}).read_all("messages")
    assert info.value.provider_code == "channel_not_found" and info.value.action


async def test_bad_credentials_say_reconnect(box, connect) -> None:
    connector = connect("slack", {"access_token": "xoxb-wrong"}, SETTINGS)
    diagnosis = await connector.test_connection()
    assert not diagnosis.ok
    assert diagnosis.action and diagnosis.action.startswith("Reconnect")
    assert diagnosis.details["provider_code"] == "invalid_auth"
    assert diagnosis.details["http_status"] == 200  # Slack's errors are HTTP 200 ok:false
    with pytest.raises(ReconnectNeeded):
        await connector.read_all("users")


async def test_connection_test_succeeds_with_the_demo_token(box, connect) -> None:
    diagnosis = await connect("slack", DEMO, SETTINGS).test_connection()
    assert diagnosis.ok, diagnosis.message
    assert "Connectus Sandbox" in diagnosis.message and "U07SBXBOT1" in diagnosis.message


def _delivery(box, payload) -> WebhookRequest:
    from connectors.sandbox.slack import webhook_delivery

    headers, body = webhook_delivery(box, URL, payload)
    return WebhookRequest("POST", URL, {k.lower(): v for k, v in headers.items()}, body)


async def test_signed_events_are_accepted_and_forged_or_stale_ones_rejected(box, connect) -> None:
    connector = connect("slack", DEMO, SETTINGS)
    good = _delivery(box, {"type": "member_joined_channel", "user": "U060000001"})
    events = connector.verify_webhook(good)
    assert [e.event_type for e in events] == ["member_joined_channel"]
    assert events[0].event_id == json.loads(good.body)["event_id"]

    tampered = WebhookRequest("POST", URL, good.headers, good.body.replace(b"U06", b"U07"))
    with pytest.raises(WebhookRejected):
        connector.verify_webhook(tampered)
    stale = str(int(time.time()) - 600)
    replayed = WebhookRequest("POST", URL, {**good.headers, "x-slack-request-timestamp": stale,
                                            "x-slack-signature": signature(
                                                "sandbox-webhook-secret", stale, good.body)},
                              good.body)
    with pytest.raises(WebhookRejected):
        connector.verify_webhook(replayed)
    with pytest.raises(WebhookRejected):
        connect("slack", {"access_token": "xoxb-sandbox", "webhook_secret": "other"},
                SETTINGS).verify_webhook(good)


async def test_url_verification_verifies_and_yields_only_the_challenge(box, connect) -> None:
    check = _delivery(box, {"type": "url_verification", "challenge": "c-123"})
    assert connect("slack", DEMO, SETTINGS).verify_webhook(check) == []
    assert challenge(check) == {"challenge": "c-123"}
