"""The tenant's agent policy: how big a write a member may confirm alone (records, share of
the quota left) and how long a confirmed write can be undone. Anyone in the tenant reads
it; an admin changes it. Not an agent tool: the tools' names are a contract the evals
hold (evals/agent/contract.py), and a new one belongs with its eval cases."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import MISSING, BaseModel, Field, StrictFloat, StrictInt
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from store.accounts import Caller
from store.models import AgentPolicy, Role
from tools.audit import audit
from tools.blast_radius import Thresholds, thresholds
from tools.context import Services, require
from tools.fields import PartialUpdate

MAX_RECORDS = 1_000_000_000
MAX_UNDO_WINDOW_S = 30 * 24 * 3600
FIELDS = ("admin_above_records", "admin_above_quota_share", "undo_window_s")

Records = Annotated[StrictInt, Field(ge=0, le=MAX_RECORDS, description=(
    "a write touching more records than this needs an admin to confirm it"))]
QuotaShare = Annotated[StrictFloat | StrictInt, Field(ge=0, le=1, description=(
    "a write costing more than this share (0 to 1) of the provider calls left today "
    "needs an admin"))]
UndoWindow = Annotated[StrictInt, Field(ge=0, le=MAX_UNDO_WINDOW_S, description=(
    "seconds a confirmed write can be undone (0: never; at most 30 days)"))]


class AgentPolicyPublic(BaseModel):
    admin_above_records: int = Field(description="more records than this: an admin confirms")
    admin_above_quota_share: float = Field(description="more of the quota left than this "
                                           "share: an admin confirms")
    undo_window_s: int = Field(description="how long a confirmed write can be undone")


class AgentPolicyUpdate(PartialUpdate):
    admin_above_records: Records | MISSING = MISSING
    admin_above_quota_share: QuotaShare | MISSING = MISSING
    undo_window_s: UndoWindow | MISSING = MISSING


def _public(limits: Thresholds) -> AgentPolicyPublic:
    return AgentPolicyPublic(admin_above_records=limits.admin_above_records,
                             admin_above_quota_share=limits.admin_above_quota_share,
                             undo_window_s=limits.undo_window_s)


async def get_agent_policy(services: Services, caller: Caller) -> AgentPolicyPublic:
    async with services.db.session(caller.tenant_id) as session:
        return _public(await thresholds(session))


async def update_agent_policy(services: Services, caller: Caller,
                              body: AgentPolicyUpdate) -> AgentPolicyPublic:
    require(caller, Role.admin, "changing the agent policy")
    changes = body.model_dump(exclude_unset=True)
    defaults = Thresholds()
    async with services.db.transaction(caller.tenant_id) as session:
        # two first saves at once: one row; the second waits for it, then updates it
        await session.execute(insert(AgentPolicy).values(
            id=uuid.uuid4(), tenant_id=caller.tenant_id,
            **{name: getattr(defaults, name) for name in FIELDS})
            .on_conflict_do_nothing(index_elements=["tenant_id"]))
        row = await session.scalar(select(AgentPolicy).with_for_update()
                                   .execution_options(populate_existing=True))
        assert row is not None
        before = {name: getattr(row, name) for name in changes}
        for name, value in changes.items():
            setattr(row, name, value)
        audit(session, caller, "agent_policy.update", "agent_policy", caller.tenant_id,
              before=before, after=changes)
        await session.flush()
        return _public(await thresholds(session))


