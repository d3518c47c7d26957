"""resolve_conflict(conflict="latest"): "for that conflict keep the remote version" names
no id, so it settles the newest open conflict, or says there is none."""

from __future__ import annotations

import uuid

import pytest

from store.accounts import Caller
from store.errors import ValidationFailed
from store.models import SyncConflict
from tools.agent_flow_writes import ResolveConflictArgs, plan_resolve_conflict
from tools.context import Services


async def test_latest_is_the_newest_open_conflict(
        services: Services, owner: Caller, hubspot: tuple[uuid.UUID, uuid.UUID]) -> None:
    with pytest.raises(ValidationFailed, match="no open conflict"):
        await plan_resolve_conflict(services, owner,
                                    ResolveConflictArgs(conflict="latest", keep="remote"))
    async with services.db.transaction(owner.tenant_id) as session:
        session.add(SyncConflict(tenant_id=owner.tenant_id, data_flow_id=hubspot[1],
                                 external_id="501", fields=["email"],
                                 local={"email": "a@ours.test"},
                                 remote={"email": "a@theirs.test"}))
    plan = await plan_resolve_conflict(services, owner,
                                       ResolveConflictArgs(conflict="latest", keep="remote"))
    assert plan.summary == "Settle the conflict on record '501': keep remote"
    assert plan.changes == [{"object": "record '501' (Connectus's copy)", "field": "email",
                             "before": "a@ours.test", "after": "a@theirs.test"}]


def test_the_offline_model_still_passes_an_id_or_the_word() -> None:
    """The argument is shown as a plain string: an id in the message reaches the tool, and
    a message without one says which it means."""
    from langchain_core.messages import HumanMessage

    from agent.offline import OfflineChatModel
    from tools.registry import TOOLS

    model = OfflineChatModel().bind_tools([t.schema() for t in TOOLS.values()])

    def args(question: str) -> dict[str, object]:
        return dict(model.invoke([HumanMessage(question)]).tool_calls[0]["args"])

    given = "5b2f0c1e-1d2a-4c3b-9e8f-7a6b5c4d3e2f"
    assert args(f"resolve conflict {given} and keep the local one") == {
        "conflict": given, "keep": "local"}
    assert args("for that conflict keep the remote version") == {
        "conflict": "latest", "keep": "remote"}
    assert args("undo that") == {"action": "last"}
