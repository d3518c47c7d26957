"""Pending confirmations: a write the agent proposed, stored until a person confirms or
cancels it, then its result and inverse; and ``undo``, which plans that inverse as a
write of its own.

Everything here runs in a tenant session, so another tenant's confirmation is not found.
Confirming checks the confirmer's role against the one the plan needs (a big write needs
an admin), and a confirmation is decided once: a second confirm or cancel is a 409.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from store.accounts import Caller
from store.errors import Conflict, NotFound, ValidationFailed
from store.models import AgentConfirmation, Role
from store.models.base import utcnow
from tools import paging
from tools.agent_tool import ID_OR_WORD, AgentTool, Inverse, Plan, ToolArgs
from tools.audit import audit
from tools.blast_radius import thresholds
from tools.context import ConnectusError, Services, fixable, require

# the tool-call id of a write proposed by a door that runs no agent graph (MCP): confirming
# it applies it directly, as there is no interrupted graph to resume
DIRECT = "direct:"

ConfirmationStatus = Literal["pending", "confirmed", "cancelled", "done", "failed", "undone"]


class ConfirmationPublic(BaseModel):
    id: uuid.UUID
    thread_id: str = Field(description="the conversation it belongs to")
    tool: str
    status: str = Field(description="pending, confirmed, cancelled, done, failed or undone")
    needs_role: str = Field(description="the least role that may confirm it")
    preview: dict[str, Any] = Field(description="summary, changes (object, field, before, "
                                    "after), records, api_calls, quota_share, notes")
    result: dict[str, Any] | None = None
    undo: str | None = Field(None, description="what undo(action) would do, while it can")


def public(row: AgentConfirmation) -> ConfirmationPublic:
    can_undo = row.inverse is not None and row.status == "done" and (
        row.undo_until is None or row.undo_until > utcnow())
    return ConfirmationPublic(
        id=row.id, thread_id=row.thread_id.split(":", 1)[-1], tool=row.tool,
        status=row.status, needs_role=row.needs_role, preview=row.preview, result=row.result,
        undo=row.inverse["summary"] if can_undo and row.inverse else None)


async def propose(services: Services, caller: Caller, thread_key: str, tool_call_id: str,
                  tool: str, plan: Plan) -> AgentConfirmation:
    """Store the plan as pending; the same tool call proposed again (a resumed graph runs
    the node anew) answers the row it already has."""
    async with services.db.transaction(caller.tenant_id) as session:
        found = await session.scalar(select(AgentConfirmation).where(
            AgentConfirmation.thread_id == thread_key,
            AgentConfirmation.tool_call_id == tool_call_id))
        if found is not None:
            return found
        row = AgentConfirmation(tenant_id=caller.tenant_id, user_id=caller.user_id,
                                thread_id=thread_key, tool_call_id=tool_call_id, tool=tool,
                                args=plan.args, preview=plan.preview(),
                                needs_role=plan.needs_role.value, status="pending")
        session.add(row)
        await session.flush()
        return row


async def load(services: Services, caller: Caller, confirmation_id: uuid.UUID,
               ) -> AgentConfirmation:
    async with services.db.session(caller.tenant_id) as session:
        row = await session.get(AgentConfirmation, confirmation_id)
    if row is None:
        raise NotFound(f"no confirmation {confirmation_id}")
    return row


async def list_confirmations(services: Services, caller: Caller,
                             status: ConfirmationStatus | None = "pending",
                             thread_id: str | None = None, cursor: str | None = None,
                             limit: int = 50) -> paging.Page[ConfirmationPublic]:
    """The tenant's proposed writes, newest first: by default those still waiting, each
    with what it will change and the least role that may confirm it."""
    query = paging.keyset(select(AgentConfirmation), AgentConfirmation.created_at,
                          AgentConfirmation.id, cursor, limit)
    if status is not None:
        query = query.where(AgentConfirmation.status == status)
    if thread_id is not None:  # stored tenant-prefixed, as agent/threads.py keys it
        query = query.where(AgentConfirmation.thread_id == f"{caller.tenant_id}:{thread_id}")
    async with services.db.session(caller.tenant_id) as session:
        rows = list(await session.scalars(query))
    return paging.Page[ConfirmationPublic](items=[public(row) for row in rows[:limit]],
                                           next_cursor=paging.next_cursor(rows, limit))


async def decide(services: Services, caller: Caller, confirmation_id: uuid.UUID,
                 approve: bool) -> AgentConfirmation:
    """Mark it confirmed (role checked) or cancelled; once only."""
    async with services.db.transaction(caller.tenant_id) as session:
        row = await session.scalar(select(AgentConfirmation).where(
            AgentConfirmation.id == confirmation_id).with_for_update())
        if row is None:
            raise NotFound(f"no confirmation {confirmation_id}")
        if row.status != "pending":
            raise Conflict(f"confirmation {confirmation_id} is {row.status} already")
        if approve:
            require(caller, Role(row.needs_role), f"confirming {row.preview.get('summary')!r}")
        row.status = "confirmed" if approve else "cancelled"
        row.decided_by, row.decided_at = caller.user_id, utcnow()
        audit(session, caller, f"confirmation.{'confirm' if approve else 'cancel'}",
              "confirmation", row.id, tool=row.tool, summary=row.preview.get("summary"))
        return row


async def finish(services: Services, caller: Caller, confirmation_id: uuid.UUID,
                 result: Any, inverse: Inverse | None, *, failed: bool = False) -> None:
    async with services.db.transaction(caller.tenant_id) as session:
        row = await session.get(AgentConfirmation, confirmation_id)
        assert row is not None
        limits = await thresholds(session)
        row.status = "failed" if failed else "done"
        row.result = result if isinstance(result, dict) else {"result": result}
        if inverse is not None and not failed:
            row.inverse = inverse.stored()
            row.undo_until = utcnow() + timedelta(seconds=limits.undo_window_s)


def is_direct(row: AgentConfirmation) -> bool:
    return row.tool_call_id.startswith(DIRECT)


async def settle(services: Services, caller: Caller, confirmation_id: uuid.UUID) -> Any:
    """What a decided confirmation comes to: nothing written when it was cancelled, the
    stored result when it ran already, else its write applied now (result and inverse
    recorded). The one apply path of every door."""
    from tools.registry import applier

    row = await load(services, caller, confirmation_id)
    if row.status == "cancelled":
        return {"cancelled": True, "message": "the person cancelled it; nothing was written"}
    if row.status in ("done", "failed", "undone"):  # applied before this ran again
        return row.result
    try:
        result, inverse = await applier(row.tool)(services, caller, row.args)
    except ConnectusError as exc:
        await finish(services, caller, row.id, fixable(exc) or {}, None, failed=True)
        raise
    await finish(services, caller, row.id, result, inverse)
    return {"done": True, "action": str(row.id), "result": result,
            "undo": inverse.summary if inverse else None}


# -- undo ---------------------------------------------------------------------------------

class UndoArgs(ToolArgs):
    action: Annotated[uuid.UUID | Literal["last"], ID_OR_WORD] = Field(description=(
        'the confirmation id of the write to undo, or "last": your most recent write'))


async def _last_undoable(services: Services, caller: Caller) -> AgentConfirmation:
    """The caller's newest write that recorded an inverse: what "undo that" means."""
    async with services.db.session(caller.tenant_id) as session:
        row = await session.scalar(
            select(AgentConfirmation)
            .where(AgentConfirmation.user_id == caller.user_id,
                   AgentConfirmation.inverse.is_not(None))
            .order_by(AgentConfirmation.decided_at.desc().nulls_last(),
                      AgentConfirmation.created_at.desc()).limit(1))
    if row is None:
        raise ValidationFailed("you have made no write that can be undone", field="action")
    return row


async def plan_undo(services: Services, caller: Caller, args: UndoArgs) -> Plan:
    row = await (_last_undoable(services, caller) if args.action == "last"
                 else load(services, caller, args.action))
    if row.inverse is None:
        raise ValidationFailed(f"{row.preview.get('summary')!r} cannot be undone", field="action")
    if row.status != "done":
        raise ValidationFailed(f"that write is {row.status}, so there is nothing to undo",
                               field="action")
    if row.undo_until is not None and row.undo_until <= utcnow():
        raise ValidationFailed("the time to undo it has passed", field="action")
    from tools.registry import tool_named

    inverse = tool_named(row.inverse["tool"])
    return Plan(args={"action": str(row.id)}, summary=f"Undo: {row.inverse['summary']}",
                needs_role=inverse.role if inverse else Role.admin,
                changes=[{"object": c.get("object"), "field": c.get("field"),
                          "before": c.get("after"), "after": c.get("before")}
                         for c in row.preview.get("changes", [])])


async def apply_undo(services: Services, caller: Caller,
                     args: dict[str, Any]) -> tuple[Any, Inverse | None]:
    from tools.registry import applier

    action = uuid.UUID(args["action"])
    row = await load(services, caller, action)
    if row.status != "done" or row.inverse is None:
        raise Conflict(f"that write is {row.status}, so there is nothing to undo")
    result, _ = await applier(row.inverse["tool"])(services, caller, row.inverse["args"])
    async with services.db.transaction(caller.tenant_id) as session:
        found = await session.get(AgentConfirmation, action)
        assert found is not None
        found.status, found.undo_until = "undone", None
    return {"undone": str(action), "result": result}, None


UNDO = AgentTool("undo", "Undo a write confirmed earlier (pause <-> resume, an update back "
                 "to the previous values, a create deleted), while it can be undone.",
                 UndoArgs, Role.member, plan=plan_undo, apply=apply_undo)
