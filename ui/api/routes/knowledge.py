"""Search by meaning: GET /integrations/connectus/search/?q=..."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from tools import knowledge
from ui.api.deps import CallerDep, ServicesDep
from ui.api.errors import errors

router = APIRouter(prefix="/integrations/connectus", tags=["knowledge"],
                   responses=errors(422))


@router.get("/search/", response_model=list[knowledge.KnowledgeHit], responses=errors(401))
async def search(services: ServicesDep, caller: CallerDep,
                 q: Annotated[str, Query(description="what to look for, in any words")],
                 kind: Literal["log", "insight"] | None = None,
                 limit: int = 5) -> list[knowledge.KnowledgeHit]:
    return await knowledge.search_knowledge(services, caller, q, kind=kind, limit=limit)
