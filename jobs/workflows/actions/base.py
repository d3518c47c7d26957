"""What every action is made of: its parameters (a pydantic model, so the agent, REST and
the chat's builder can list and validate them), which of them take templates, a check on
save against what the tenant has, and the coroutine that does the work.

An action raises from the error tree (store/errors.py) and the runner reads the class:
transient ones are retried with backoff, everything else stops the run with its cause.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from connectors.connector import Connector
from store.errors import ConfigError, ValidationFailed


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # the parameters whose text may hold templates (templates.py)
    templated: ClassVar[frozenset[str]] = frozenset()


class ActionRefused(ConfigError):
    """The far end refused what the action sent (a 4xx): retrying the same cannot help."""

    code = "action_refused"
    integration_status: ClassVar[str | None] = None


class Postpone(Exception):  # a signal to the runner, not a failure
    """Wait until ``until`` without holding a worker: the run is picked up again then."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"until {until.isoformat()}")
        self.until = until


@dataclass(frozen=True)
class IntegrationRef:
    id: uuid.UUID
    name: str
    provider: str
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FlowRef:
    id: uuid.UUID
    name: str
    integration_id: uuid.UUID


@dataclass(frozen=True)
class Directory:
    """What the tenant has, for the checks on save: its integrations and data flows."""

    integrations: tuple[IntegrationRef, ...]
    flows: tuple[FlowRef, ...] = ()

    def pick(self, provider: str, given: Any, field_name: str) -> IntegrationRef:
        """The tenant's ``provider`` integration ``given`` names, or its only one."""
        mine = [i for i in self.integrations if i.provider == provider]
        if given not in (None, ""):
            found = next((i for i in mine if str(i.id) == str(given) or i.name == given), None)
            if found is None:
                raise ValidationFailed(f"is not one of this tenant's {provider} integrations "
                                       f"({_names(mine)})", field=field_name)
            return found
        if not mine:
            raise ValidationFailed(f"the tenant has no {provider} integration: connect one "
                                   "first", field=field_name)
        if len(mine) > 1:
            raise ValidationFailed(f"the tenant has {len(mine)} {provider} integrations "
                                   f"({_names(mine)}): say which one", field=field_name)
        return mine[0]

    def flow(self, given: Any, field_name: str) -> FlowRef:
        found = next((f for f in self.flows if str(f.id) == str(given) or f.name == given),
                     None)
        if found is None:
            raise ValidationFailed(f"no data flow {given!r} in this tenant ({_names(self.flows)})",
                                   field=field_name)
        return found


def _names(items: Any) -> str:
    shown = [repr(i.name) for i in items][:10]
    return ", ".join(shown) if shown else "none"


@dataclass
class ActionContext:
    """What a running step may use. ``connector`` opens (once per run) the connector of one
    of the tenant's integrations; ``values`` is what templates read."""

    tenant_id: uuid.UUID
    workflow_id: uuid.UUID
    workflow_name: str
    run_id: uuid.UUID
    trigger_integration: IntegrationRef
    values: dict[str, Any]
    services: dict[str, Any]  # db, vault, redis, allow_private
    connector: Callable[[uuid.UUID], Awaitable[tuple[Connector, IntegrationRef]]]
    field: str = "actions[0]"

    @property
    def event(self) -> dict[str, Any]:
        found = self.values.get("event")
        return found if isinstance(found, dict) else {}

    @property
    def record(self) -> dict[str, Any]:
        found = self.values.get("record")
        return found if isinstance(found, dict) else {}


Resolve = Callable[[dict[str, Any], Directory, str], dict[str, Any]]
Run = Callable[[ActionContext, Any], Awaitable[dict[str, Any]]]
# given a step's action as saved: whether doing it twice leaves what doing it once did
Repeatable = Callable[[dict[str, Any]], bool]


def never(action: dict[str, Any]) -> bool:
    return False


def always(action: dict[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class ActionSpec:
    """One action: ``resolve`` checks the (untemplated) parameters on save against the
    tenant and returns values to store with them (the Slack integration it will use)."""

    name: str
    summary: str
    params: type[Params]
    run: Run
    resolve: Resolve | None = None
    # a repeatable step (an upsert by key) need not be written as done before the next
    # starts: a run taken over after a crash does it again to the same effect
    repeatable: Repeatable = never

    def describe(self) -> dict[str, Any]:
        return {"type": self.name, "summary": self.summary,
                "templated": sorted(self.params.templated),
                "params": self.params.model_json_schema()}
