"""What a person (or a model) calls a thing, resolved to the thing: an id, a name, part of a
name or a misspelt one.

An exact name wins, then the one name that holds the words given, then the one clearly
closest by rapidfuzz's weighted ratio. Anything less certain is an error that lists the
candidates, so the asker can pick one instead of Connectus guessing. An integration also
answers to its provider's name ("HubSpot" finds "HubSpot (sandbox)").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process, utils
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import NotFound, ValidationFailed
from store.models import (
    ConnectusInsight,
    DataFlow,
    Integration,
    IntegrationProvider,
    WorkflowAutomation,
)

MAX_CANDIDATES = 500  # a tenant's objects of one kind considered for a name
CLOSE_ENOUGH = 75  # weighted ratio (0-100) below which a name is not a guess at all
CLEAR_LEAD = 8  # how far the best must stand above the next to be taken alone


@dataclass(frozen=True)
class Candidate:
    id: uuid.UUID
    name: str
    aliases: tuple[str, ...] = ()

    def public(self) -> dict[str, str]:
        return {"id": str(self.id), "name": self.name}


async def _candidates(session: AsyncSession, kind: str) -> list[Candidate]:
    if kind == "integration":
        rows = (await session.execute(
            select(Integration.id, Integration.name, IntegrationProvider.name,
                   IntegrationProvider.display_name)
            .join(IntegrationProvider, IntegrationProvider.id == Integration.provider_id)
            .order_by(Integration.created_at).limit(MAX_CANDIDATES))).all()
        return [Candidate(r[0], r[1], (r[2], r[3])) for r in rows]
    model: Any = {"data_flow": DataFlow, "workflow": WorkflowAutomation}.get(kind)
    if model is not None:
        named = (await session.execute(select(model.id, model.name)
                                       .order_by(model.created_at).limit(MAX_CANDIDATES))).all()
        return [Candidate(r[0], r[1]) for r in named]
    if kind == "insight":
        titled = (await session.execute(
            select(ConnectusInsight.id, ConnectusInsight.title)
            .order_by(ConnectusInsight.created_at.desc()).limit(MAX_CANDIDATES))).all()
        return [Candidate(r[0], r[1]) for r in titled]
    raise ValueError(f"nothing resolves names of kind {kind!r}")


def pick(ref: str, candidates: list[Candidate], kind: str) -> Candidate:
    """The one candidate ``ref`` means, or a ValidationFailed that lists the likely ones."""
    wanted = utils.default_process(ref)
    if not wanted:
        raise ValidationFailed("is blank: give an id or a name", field=kind)
    exact = [c for c in candidates if wanted in (utils.default_process(n)
                                                 for n in (c.name, *c.aliases))]
    if len({c.id for c in exact}) == 1:
        return exact[0]
    pool = exact or candidates
    holding = [c for c in pool if all(word in utils.default_process(c.name)
                                      for word in wanted.split())]
    if len(holding) == 1:
        return holding[0]
    names = {i: " ".join((c.name, *c.aliases)) for i, c in enumerate(pool)}
    scored = process.extract(wanted, names, scorer=fuzz.WRatio, processor=utils.default_process,
                             score_cutoff=CLOSE_ENOUGH, limit=5)
    if len(scored) == 1 or (scored and scored[0][1] - scored[1][1] >= CLEAR_LEAD):
        return pool[scored[0][2]]
    likely = [pool[index] for _, _, index in scored] or holding or pool[:10]
    if not likely:
        raise NotFound(f"there is no {kind.replace('_', ' ')} yet, so none is called {ref!r}")
    listed = ", ".join(repr(c.name) for c in likely[:5])
    raise ValidationFailed(
        f"{ref!r} could mean more than one {kind.replace('_', ' ')}: {listed}; say which"
        if scored or holding else f"no {kind.replace('_', ' ')} is called {ref!r}; there "
        f"are {listed}", details=[{"field": kind, "candidates": [c.public() for c in likely]}])


async def resolve(session: AsyncSession, kind: str, ref: str | uuid.UUID) -> uuid.UUID:
    """The id of the tenant's ``kind`` (integration, data_flow, workflow, insight) that
    ``ref`` means; an id is checked to exist in this tenant."""
    text = str(ref).strip()
    try:
        wanted = uuid.UUID(text)
    except ValueError:
        return pick(text, await _candidates(session, kind), kind).id
    if any(c.id == wanted for c in await _candidates(session, kind)):
        return wanted
    raise NotFound(f"no {kind.replace('_', ' ')} {wanted}")
