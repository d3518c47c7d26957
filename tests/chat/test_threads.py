"""The chat's conversations on the store (what Chainlit's data layer calls): kept per
tenant, listed for their author only, steps merged as Chainlit updates them."""

from __future__ import annotations

import asyncio
import uuid

from tests.conftest import make_tenant
from tools import chat_threads
from tools.context import Services


def _step(thread: str, step_id: str, **fields) -> dict:
    return {"id": step_id, "threadId": thread, "type": "assistant_message",
            "createdAt": "2026-12-02T05:00:00.000Z", "output": "", **fields}


async def test_a_conversation_comes_back_with_its_steps_in_order(services: Services):
    acme, _ = await make_tenant(services, "acme")
    thread, first, second = (str(uuid.uuid4()) for _ in range(3))
    await chat_threads.save_thread(services, acme.tenant_id, thread, user_id=acme.user_id,
                                   name="Sync HubSpot now", agent_thread_id="agent1")
    await chat_threads.save_step(services, acme.tenant_id,
                                 _step(thread, first, output="How healthy?"))
    await chat_threads.save_step(services, acme.tenant_id,
                                 _step(thread, second, createdAt="2026-12-02T05:00:01.000Z"))
    # Chainlit streams a message's tokens, then sends it whole: an update keeps the rest
    await chat_threads.save_step(services, acme.tenant_id,
                                 {"id": second, "threadId": thread, "output": "Score 87",
                                  "type": None})
    await chat_threads.save_thread(services, acme.tenant_id, thread,
                                   metadata={"chat_settings": {}}, agent_thread_id="agent2")
    got = await chat_threads.get_thread(services, acme.tenant_id, thread)
    assert got is not None
    assert [s["output"] for s in got["steps"]] == ["How healthy?", "Score 87"]
    assert got["steps"][1]["type"] == "assistant_message"
    assert got["metadata"]["agent_thread_id"] == "agent1"  # one agent thread, kept
    assert got["userIdentifier"] == str(acme.user_id)


async def test_another_tenant_neither_sees_nor_writes_a_conversation(services: Services):
    acme, _ = await make_tenant(services, "acme")
    evil, _ = await make_tenant(services, "evil")
    thread = str(uuid.uuid4())
    await chat_threads.save_thread(services, acme.tenant_id, thread, user_id=acme.user_id,
                                   name="ours")
    assert await chat_threads.get_thread(services, evil.tenant_id, thread) is None
    await chat_threads.save_step(services, evil.tenant_id, _step(thread, str(uuid.uuid4()),
                                                                  output="injected"))
    await chat_threads.save_thread(services, evil.tenant_id, thread, name="renamed")
    got = await chat_threads.get_thread(services, acme.tenant_id, thread)
    assert got is not None and got["name"] == "ours" and got["steps"] == []
    rows, _ = await chat_threads.list_threads(services, evil.tenant_id, evil.user_id)
    assert rows == []
    await chat_threads.delete_thread(services, evil.tenant_id, thread)
    assert await chat_threads.owner_of(services, thread) == (acme.tenant_id, acme.user_id)


async def test_the_sidebar_lists_named_conversations_newest_first_in_pages(
        services: Services):
    acme, _ = await make_tenant(services, "acme")
    threads = [str(uuid.uuid4()) for _ in range(3)]
    for number, thread in enumerate(threads):
        await chat_threads.save_thread(services, acme.tenant_id, thread, user_id=acme.user_id,
                                       name=f"question {number}")
    await chat_threads.save_thread(services, acme.tenant_id, str(uuid.uuid4()),
                                   user_id=acme.user_id)  # opened, never asked: not listed
    page, more = await chat_threads.list_threads(services, acme.tenant_id, acme.user_id,
                                                 first=2)
    assert [t["name"] for t in page] == ["question 2", "question 1"] and more
    rest, more = await chat_threads.list_threads(services, acme.tenant_id, acme.user_id,
                                                 first=2, cursor=page[-1]["id"])
    assert [t["name"] for t in rest] == ["question 0"] and not more
    found, _ = await chat_threads.list_threads(services, acme.tenant_id, acme.user_id,
                                               search="TION 1")
    assert [t["name"] for t in found] == ["question 1"]


async def test_a_step_saved_twice_at_once_is_kept_once(services: Services):
    acme, _ = await make_tenant(services, "acme")
    thread, step = str(uuid.uuid4()), str(uuid.uuid4())
    await asyncio.gather(
        chat_threads.save_step(services, acme.tenant_id, _step(thread, step, output="a")),
        chat_threads.save_step(services, acme.tenant_id, _step(thread, step, output="b")),
        chat_threads.save_thread(services, acme.tenant_id, thread, user_id=acme.user_id,
                                 name="raced"))
    got = await chat_threads.get_thread(services, acme.tenant_id, thread)
    assert got is not None and len(got["steps"]) == 1 and got["steps"][0]["output"] in "ab"
