"""Ask Connectus over REST: /integrations/connectus/ask_connectus/ and the confirmations
of the writes it proposes."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

import agent
from tools import confirmations, paging
from ui.api.deps import CallerDep, ServicesDep
from ui.api.errors import errors
from ui.api.rate_limit import AskingCaller

router = APIRouter(prefix="/integrations/connectus", tags=["agent"], responses=errors(422))


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=4000, description="the question, in plain "
                       "language")
    integration_id: uuid.UUID | None = Field(None, description="the integration the question "
                                             "is about, if any")
    thread_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description=(
        "continue this conversation; a new one is started when left out"))


class AskResponse(BaseModel):
    answer: str
    thread_id: str
    tool_calls: list[dict[str, Any]] = Field(description="{name, args (as the model gave "
                                             "them), result}, in order")
    sources: list[str] = Field(description="ids of the insights and health logs used")
    pending: dict[str, Any] | None = Field(description="a write waiting for confirmation: "
                                           "id, tool, needs_role, preview (summary, changes "
                                           "before -> after, records, api_calls, "
                                           "quota_share, notes)")


@router.post("/ask_connectus/", response_model=AskResponse,
             responses=errors(401, 404, 409, 429, 503))
async def ask_connectus(services: ServicesDep, caller: AskingCaller,
                        body: AskRequest) -> dict[str, Any]:
    answer = await agent.ask(services, caller, body.query, body.thread_id,
                             integration_id=body.integration_id)
    return answer.public()


@router.post("/confirmations/{confirmation_id}/confirm/", response_model=AskResponse,
             responses=errors(401, 403, 404, 409))
async def confirm(services: ServicesDep, caller: CallerDep,
                  confirmation_id: uuid.UUID) -> dict[str, Any]:
    return (await agent.confirm(services, caller, confirmation_id)).public()


@router.post("/confirmations/{confirmation_id}/cancel/", response_model=AskResponse,
             responses=errors(401, 404, 409))
async def cancel(services: ServicesDep, caller: CallerDep,
                 confirmation_id: uuid.UUID) -> dict[str, Any]:
    return (await agent.cancel(services, caller, confirmation_id)).public()


@router.get("/confirmations/{confirmation_id}/", response_model=confirmations.ConfirmationPublic,
            responses=errors(401, 404))
async def get_confirmation(services: ServicesDep, caller: CallerDep,
                           confirmation_id: uuid.UUID) -> confirmations.ConfirmationPublic:
    """A proposed write: its preview, status, result and what would undo it."""
    return confirmations.public(await confirmations.load(services, caller, confirmation_id))


@router.get("/confirmations/", response_model=paging.Page[confirmations.ConfirmationPublic],
            responses=errors(401))
async def list_confirmations(
        services: ServicesDep, caller: CallerDep,
        status: confirmations.ConfirmationStatus | None = "pending",
        thread_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=paging.MAX_LIMIT)] = 50,
) -> paging.Page[confirmations.ConfirmationPublic]:
    """The tenant's proposed writes, newest first (the pending ones unless ``status``
    says otherwise), each with what it will change and who may confirm it."""
    return await confirmations.list_confirmations(services, caller, status, thread_id,
                                                  cursor, limit)
