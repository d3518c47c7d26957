"""The Chainlit app (Chainlit loads this file itself; ui/chat/mount.py mounts it at /chat).

Log in with an e-mail and password; each conversation has one agent thread; each message
goes to ui.chat.elements first (a custom element may answer it), then to the agent.
"""

from __future__ import annotations

import chainlit as cl
from chainlit.types import ThreadDict

from agent.threads import new_thread_id
from tools import chat_threads
from ui.chat import elements
from ui.chat.auth import log_in, session_caller
from ui.chat.conversation import CANCEL, CONFIRM, UNDO, decide, run_turn, undo
from ui.chat.data_layer import StoreDataLayer
from ui.chat.elements import chainlit_side
from ui.chat.services import current
from ui.chat.starters import starters

AGENT_THREAD = "agent_thread_id"


@cl.data_layer
def _data_layer() -> StoreDataLayer:
    return StoreDataLayer()


@cl.password_auth_callback
async def _password(email: str, password: str) -> cl.User | None:
    return await log_in(email, password)


@cl.set_starters
async def _starters(user: cl.User | None = None) -> list[cl.Starter]:
    return [cl.Starter(label=label, message=message, icon=icon or None)
            for label, message, icon in starters()]


@cl.on_chat_start
async def _start() -> None:
    cl.user_session.set(AGENT_THREAD, new_thread_id())


@cl.on_chat_resume
async def _resume(thread: ThreadDict) -> None:
    kept = (thread.get("metadata") or {}).get(AGENT_THREAD)
    cl.user_session.set(AGENT_THREAD, str(kept) if kept else new_thread_id())


async def _agent_thread() -> str:
    """This conversation's agent thread, kept with the conversation on its first use."""
    agent_thread = cl.user_session.get(AGENT_THREAD) or new_thread_id()
    cl.user_session.set(AGENT_THREAD, agent_thread)
    caller = await session_caller()
    await chat_threads.save_thread(current(), caller.tenant_id, cl.context.session.thread_id,
                                   user_id=caller.user_id, agent_thread_id=agent_thread)
    return str(agent_thread)


@cl.on_message
async def _message(message: cl.Message) -> None:
    caller = await session_caller()
    if await elements.maybe_show(message.content, caller):
        return
    await run_turn(caller, message.content, await _agent_thread())


@cl.action_callback(CONFIRM)
async def _confirm(action: cl.Action) -> None:
    await decide(await session_caller(), action, approve=True)


@cl.action_callback(CANCEL)
async def _cancel(action: cl.Action) -> None:
    await decide(await session_caller(), action, approve=False)


@cl.action_callback(UNDO)
async def _undo(action: cl.Action) -> None:
    await undo(await session_caller(), action, await _agent_thread())


chainlit_side.register(_agent_thread)  # the elements' buttons (callAction)
