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
