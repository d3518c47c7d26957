"""The Slack bot end to end: the Slack simulator plays the people and Slack itself
(signed Events API deliveries, retries, button presses) against a live Connectus
server, and the tests read what the bot posted back through the simulator's Web API."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from connectors.sandbox import slack
from connectors.sandbox.kit import ProviderSandbox
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.slack import data
from connectors.sandbox.slack.state import SlackState
from store.models import AgentConfirmation, Integration, SyncRun
from tests.conftest import TEMPLATE, _create_database, _drop_database
from tests.ui.slack_bot_server import BotServer, seed

MENTION = f"<@{data.BOT_USER_ID}>"
GENERAL = "C060000000"
WAIT_S = 60.0


def _people(client: httpx.Client) -> list[dict[str, Any]]:
    """Sandbox Slack users who are people with an e-mail, in id order."""
    found = []
    for index in range(1, 40):
        user = client.get("/api/users.info", params={"user": data.user_id(index)},
                          headers={"Authorization": f"Bearer {slack.DEMO_TOKEN}"}).json()["user"]
        if not user["is_bot"] and not user["deleted"] and user["profile"].get("email"):
            found.append(user)
    return found


@pytest.fixture(scope="module")
def people(sandbox_server: SandboxServer) -> list[dict[str, Any]]:
    with httpx.Client(base_url=sandbox_server.url + "/slack", timeout=10) as client:
        return _people(client)


@pytest.fixture(scope="module")
def bot(server_url: str, template_url: str, redis_server_url: str,
        sandbox_server: SandboxServer, people: list[dict[str, Any]],
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotServer]:
    from cryptography.fernet import Fernet

    name, url = _create_database(server_url, TEMPLATE)
    box = sandbox_server.sandboxes["slack"]
    try:
        with BotServer(url, redis_server_url, [Fernet.generate_key().decode()],
                       Path(tmp_path_factory.mktemp("slack-bot")),
                       box.webhook_secret) as server:
            assert server.services is not None
            server.run(seed(server.services, sandbox_server.url,
                            people[0]["profile"]["email"]))
            yield server
    finally:
        _drop_database(server_url, name)


@pytest.fixture
def box(sandbox_server: SandboxServer, bot: BotServer) -> Iterator[ProviderSandbox[Any]]:
    slack_box = sandbox_server.sandboxes["slack"]
    slack_box.reset()
    state = slack_box.state_as(SlackState)
    for method in state.limits["per_minute"]:  # the tests poll; Slack's tiers are not tested
        state.limits["per_minute"][method] = 10_000
    state.request_url = bot.url + "/slack/events"
    yield slack_box
    slack_box.reset()


@pytest.fixture
def simulator(sandbox_server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox_server.url + "/slack", timeout=30) as client:
        yield client


def say(simulator: httpx.Client, user: dict[str, Any], text: str,
        channel: str | None = GENERAL, thread_ts: str | None = None) -> dict[str, Any]:
    sent = simulator.post("/_sandbox/say", json={"user": user["id"], "text": text,
                                                 "channel": channel, "thread_ts": thread_ts})
    assert sent.status_code == 200, sent.text
    return sent.json()


def replies(simulator: httpx.Client, channel: str, ts: str) -> list[dict[str, Any]]:
    body = simulator.get("/api/conversations.replies", params={"channel": channel, "ts": ts},
                         headers={"Authorization": f"Bearer {slack.DEMO_TOKEN}"}).json()
    assert body["ok"], body
    return body["messages"]


def bot_replies(simulator: httpx.Client, channel: str, ts: str,
                count: int = 1) -> list[dict[str, Any]]:
    """The bot's messages in the thread of ``ts``, once there are ``count`` of them."""
    deadline = time.monotonic() + WAIT_S
    while True:
        found = [m for m in replies(simulator, channel, ts)[1:]
                 if m.get("bot_id") == data.BOT_ID]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


async def _set(bot: BotServer, name: str, **values: Any) -> None:
    """Change the named integration's columns, as another process would."""
    assert bot.services is not None
    async with bot.services.db.transaction(None) as session:
        row = await session.scalar(select(Integration).where(Integration.name == name))
        assert row is not None
        for column, value in values.items():
            setattr(row, column, value)


async def _slack_settings(bot: BotServer) -> dict[str, Any]:
    assert bot.services is not None
    async with bot.services.db.transaction(None) as session:
        row = await session.scalar(select(Integration).where(
            Integration.name == "Slack (sandbox)"))
        assert row is not None
        return dict(row.settings)


async def _count(bot: BotServer, model: Any, *where: Any) -> int:
    assert bot.services is not None
    async with bot.services.db.transaction(None) as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def _confirmation(bot: BotServer, ident: str) -> AgentConfirmation:
    assert bot.services is not None
    async with bot.services.db.transaction(None) as session:
        row = await session.get(AgentConfirmation, uuid.UUID(ident))
        assert row is not None
        return row


def _buttons(message: dict[str, Any]) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in message.get("blocks") or []
            if b["type"] == "actions" for e in b["elements"]}


def settled(simulator: httpx.Client, box: ProviderSandbox[Any], channel: str,
            ts: str, quiet_s: float = 1.0) -> list[dict[str, Any]]:
    """The thread once every delivery is answered and nothing new came for ``quiet_s``:
    what the bot does with an event comes after its acknowledgement."""
    deadline, state = time.monotonic() + WAIT_S, box.state_as(SlackState)
    seen, since = None, time.monotonic()
    while time.monotonic() < deadline:
        thread = replies(simulator, channel, ts)
        busy = any(d["status_code"] is None for d in state.deliveries)
        if busy or len(thread) != seen:
            seen, since = len(thread), time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return thread
        time.sleep(0.1)
    raise AssertionError(f"the thread {ts} never settled")


def test_a_mention_is_answered_in_its_thread_with_a_real_figure(
        bot: BotServer, box: ProviderSandbox[Any], simulator: httpx.Client,
        people: list[dict[str, Any]]) -> None:
    bot.run(_set(bot, "HubSpot (sandbox)", api_calls_today=1234))
    asked = say(simulator, people[0], f"{MENTION} How many API calls has HubSpot made today?")
    assert asked["status_code"] == 200  # acknowledged within Slack's 3 s: no retry
    [answer] = bot_replies(simulator, GENERAL, asked["ts"])
    assert answer["thread_ts"] == asked["ts"]
    assert "HubSpot (sandbox): api calls today 1234" in answer["text"]
    state = box.state_as(SlackState)
    assert [d["retry_num"] for d in state.deliveries] == [0]
    history = simulator.get("/api/conversations.history", params={"channel": GENERAL,
                            "limit": 5}, headers={"Authorization": f"Bearer {slack.DEMO_TOKEN}"})
    top = [m["ts"] for m in history.json()["messages"]]
    assert asked["ts"] in top and answer["ts"] not in top  # in the thread, not the channel
    learned = bot.run(_slack_settings(bot))  # the workspace is the tenant's by auth.test
    assert (learned["slack_team_id"], learned["slack_bot_user_id"]) == (
        data.TEAM_ID, data.BOT_USER_ID)


def test_a_direct_message_is_answered_and_the_bots_own_echo_is_ignored(
        bot: BotServer, box: ProviderSandbox[Any], simulator: httpx.Client,
        people: list[dict[str, Any]]) -> None:
    asked = say(simulator, people[0], "How healthy are my integrations?", channel=None)
    channel = asked["channel"]
    assert channel.startswith("D")
    [answer] = bot_replies(simulator, channel, asked["ts"])
    assert "overall score" in answer["text"]
    # Slack sends the bot its own DM reply as a message event: acknowledged, not answered
    follow = say(simulator, people[0], "and which need attention?", channel=channel,
                 thread_ts=asked["ts"])
    assert follow["status_code"] == 200
    bot_replies(simulator, channel, asked["ts"], count=2)
    who = [m.get("bot_id") is not None for m in settled(simulator, box, channel, asked["ts"])]
    assert who == [False, True, False, True]  # question, answer, question, answer
    echoes = [d for d in box.state_as(SlackState).deliveries if d["status_code"] == 200]
    assert len(echoes) == 4  # two questions and the bot's two answers, each acknowledged
    # who asked is looked up once, not per message (an earlier test may have asked already)
    assert len([r for r in box.requests if r.get("api_method") == "users.info"]) <= 1


def test_a_paused_slack_integration_leaves_the_bot_silent(
        bot: BotServer, box: ProviderSandbox[Any], simulator: httpx.Client,
        people: list[dict[str, Any]]) -> None:
    bot.run(_set(bot, "Slack (sandbox)", status="inactive"))
    try:
        asked = say(simulator, people[0], f"{MENTION} How healthy are my integrations?")
        assert asked["status_code"] == 200  # acknowledged, so Slack does not retry
        thread = settled(simulator, box, GENERAL, asked["ts"], quiet_s=2.0)
        assert [m["ts"] for m in thread] == [asked["ts"]]  # the question, no answer
    finally:
        bot.run(_set(bot, "Slack (sandbox)", status="active"))
    asked = say(simulator, people[0], f"{MENTION} How healthy are my integrations?")
    bot_replies(simulator, GENERAL, asked["ts"])  # resumed, it answers again


def test_a_retry_of_a_delivered_event_gets_no_second_answer(
        bot: BotServer, box: ProviderSandbox[Any], simulator: httpx.Client,
        people: list[dict[str, Any]]) -> None:
    asked = say(simulator, people[0], f"{MENTION} How healthy are my integrations?")
    retried = simulator.post(f"/_sandbox/events/{asked['event_id']}/retry")
    assert retried.json() == {"retry_num": 1, "status_code": 200}
    again = simulator.post(f"/_sandbox/events/{asked['event_id']}/retry")
    assert again.json() == {"retry_num": 2, "status_code": 200}
    bot_replies(simulator, GENERAL, asked["ts"])
    follow = say(simulator, people[0], f"{MENTION} and HubSpot?", thread_ts=asked["ts"])
    bot_replies(simulator, GENERAL, asked["ts"], count=2)
    who = [m.get("bot_id") is not None for m in settled(simulator, box, GENERAL, asked["ts"])]
    assert who == [False, True, False, True], "the retries were answered as well"
    assert follow["event_id"] != asked["event_id"]


def _signed(secret: str, body: bytes, stamp: int) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": slack.sign(secret, str(stamp), body)}


def test_a_bad_signature_or_a_stale_timestamp_is_refused_before_the_body_is_read(
        bot: BotServer, box: ProviderSandbox[Any], simulator: httpx.Client,
        people: list[dict[str, Any]]) -> None:
    said = say(simulator, people[0], "just chatting, no mention")
    envelope = json.dumps({"type": "event_callback", "team_id": data.TEAM_ID,
                           "event_id": "EvFORGED001", "event": {
                               "type": "app_mention", "user": people[0]["id"],
                               "text": f"{MENTION} sync HubSpot now", "channel": GENERAL,
                               "ts": said["ts"]}}).encode()
    now = int(time.time())
    refused = [
        httpx.post(bot.url + "/slack/events", content=envelope, headers=headers)
        for headers in (_signed("not-the-signing-secret", envelope, now),
                        _signed(box.webhook_secret, envelope, now - 600),  # a replay
                        {"Content-Type": "application/json"})]
    for answer in refused:
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "unauthenticated"
    tampered = _signed(box.webhook_secret, envelope, now)
    answer = httpx.post(bot.url + "/slack/events", headers=tampered,
                        content=envelope.replace(b"sync HubSpot", b"sync Salesforce"))
    assert answer.status_code == 401
    challenge = simulator.post("/_sandbox/webhooks/deliver", json={
        "url": bot.url + "/slack/events",
        "payload": {"type": "url_verification", "challenge": "c-42"}}).json()
    assert challenge["status_code"] == 200 and "c-42" in challenge["response_body"]
    stranger = envelope.replace(data.TEAM_ID.encode(), b"T0STRANGER")  # no tenant's team
    answer = httpx.post(bot.url + "/slack/events", content=stranger,
                        headers=_signed(box.webhook_secret, stranger, now))
    assert answer.status_code == 200 and "not connected to Connectus" in answer.text
    assert settled(simulator, box, GENERAL, said["ts"])[1:] == []


def test_a_write_waits_for_its_button_and_only_the_right_role_may_press_it(
        bot: BotServer, box: ProviderSandbox[Any], simulator: httpx.Client,
        people: list[dict[str, Any]]) -> None:
    owner, bystander = people[0], people[1]  # the bystander's e-mail is no tenant user's
    asked = say(simulator, owner, f"{MENTION} sync HubSpot now")
    [proposal] = bot_replies(simulator, GENERAL, asked["ts"])
    buttons = _buttons(proposal)
    assert set(buttons) == {"connectus_confirm", "connectus_cancel"}
    shown = json.dumps(proposal["blocks"])
    assert "Sync 1 data flow(s) of 'HubSpot (sandbox)' now" in shown
    assert "data flow 'Contacts Sync'" in shown and "API calls:" in shown
    ident = buttons["connectus_confirm"]
    runs = (SyncRun,)

    pressed = simulator.post("/_sandbox/press", json={
        "user": bystander["id"], "channel": GENERAL, "ts": proposal["ts"],
        "action_id": "connectus_confirm"})
    assert pressed.json() == {"status_code": 200}
    [_, refusal] = bot_replies(simulator, GENERAL, asked["ts"], count=2)
    assert f"<@{bystander['id']}>" in refusal["text"]
    assert "needs the member role; you are viewer" in refusal["text"]
    assert bot.run(_count(bot, *runs)) == 0
    assert bot.run(_confirmation(bot, ident)).status == "pending"
    assert _buttons(replies(simulator, GENERAL, asked["ts"])[1]) == buttons  # still there

    pressed = simulator.post("/_sandbox/press", json={
        "user": owner["id"], "channel": GENERAL, "ts": proposal["ts"],
        "action_id": "connectus_confirm"})
    assert pressed.json() == {"status_code": 200}
    report = bot_replies(simulator, GENERAL, asked["ts"], count=3)[2]
    assert report["text"]
    updated = replies(simulator, GENERAL, asked["ts"])[1]
    assert updated["ts"] == proposal["ts"] and "edited" in updated
    assert _buttons(updated) == {}
    assert f"Confirmed by <@{owner['id']}>: done." in json.dumps(updated["blocks"])
    assert bot.run(_count(bot, *runs)) == 1
    row = bot.run(_confirmation(bot, ident))
    assert row.status == "done"


def test_two_slack_threads_are_two_agent_threads(
        bot: BotServer, box: ProviderSandbox[Any], simulator: httpx.Client,
        people: list[dict[str, Any]]) -> None:
    first = say(simulator, people[0], f"{MENTION} sync HubSpot now")
    [proposal] = bot_replies(simulator, GENERAL, first["ts"])
    ident = _buttons(proposal)["connectus_confirm"]
    # elsewhere: a new question in another thread leaves the waiting write alone
    second = say(simulator, people[0], f"{MENTION} How healthy are my integrations?")
    bot_replies(simulator, GENERAL, second["ts"])
    row = bot.run(_confirmation(bot, ident))
    assert row.status == "pending"
    assert row.thread_id == f"{row.tenant_id}:slack-{data.TEAM_ID}-{GENERAL}-" + \
        first["ts"].replace(".", "_")
    # in its own thread, a new question sets it aside, as in any agent thread
    say(simulator, people[0], f"{MENTION} How healthy are my integrations?",
        thread_ts=first["ts"])
    bot_replies(simulator, GENERAL, first["ts"], count=2)
    assert bot.run(_confirmation(bot, ident)).status == "cancelled"
