"""/integrations/connectus/agent_policy/: above what a write needs an admin to confirm it,
and how long undo lasts; next to the insight settings. Anyone reads it, an admin changes it."""

from __future__ import annotations

from fastapi import APIRouter

from tools import agent_policy
from ui.api.deps import CallerDep, ServicesDep
from ui.api.errors import errors

router = APIRouter(prefix="/integrations/connectus", tags=["agent"], responses=errors(401, 422))


@router.get("/agent_policy/", response_model=agent_policy.AgentPolicyPublic)
async def get_agent_policy(services: ServicesDep,
                           caller: CallerDep) -> agent_policy.AgentPolicyPublic:
    return await agent_policy.get_agent_policy(services, caller)


@router.patch("/agent_policy/", response_model=agent_policy.AgentPolicyPublic,
              responses=errors(400, 403, 413))
async def update_agent_policy(services: ServicesDep, caller: CallerDep,
                              body: agent_policy.AgentPolicyUpdate
                              ) -> agent_policy.AgentPolicyPublic:
    """``admin_above_records`` (0 to 1e9), ``admin_above_quota_share`` (0 to 1),
    ``undo_window_s`` (0 to 30 days): leave one out to keep it."""
    return await agent_policy.update_agent_policy(services, caller, body)
