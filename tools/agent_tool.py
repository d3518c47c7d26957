"""What one agent tool is: a name, a docstring for the model, checked arguments, the role it
needs, and either a read or a write that is planned (shown to a person) before it runs.

Reads run at once. A write runs in two steps: ``plan`` resolves the names the model gave
to ids and says what will change (a ``Plan``, stored as a pending confirmation); only once
a person confirms does ``apply`` run on the plan's resolved arguments, and it answers what
undoes it, where anything can.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, WithJsonSchema

from store.accounts import Caller
from store.models import Role
from tools.context import Services

# an id, or a word for "the one you mean" ("last", "latest"): shown to the model as a plain
# string (an anyOf with an enum reads as "only the word"); the validation stays strict
ID_OR_WORD = WithJsonSchema({"type": "string"})


class ToolArgs(BaseModel):
    """Arguments as the model gives them: nothing beyond what the tool names."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class Plan:
    """What a write will do, before it does it."""

    args: dict[str, Any]  # resolved (ids, not names): what ``apply`` runs on
    summary: str  # one line for a person: "Sync 1 flow of HubSpot (sandbox)"
    changes: list[dict[str, Any]] = field(default_factory=list)  # {object, field, before, after}
    records: int | None = None  # how many records it touches; None: cannot be known before
    api_calls: int = 0  # provider calls it will cost (an estimate where records are)
    quota_share: float | None = None  # of the remaining quota those calls take
    notes: list[str] = field(default_factory=list)
    needs_role: Role = Role.member

    def preview(self) -> dict[str, Any]:
        return {"summary": self.summary, "changes": self.changes, "records": self.records,
                "api_calls": self.api_calls, "quota_share": self.quota_share,
                "notes": self.notes}


@dataclass(frozen=True)
class Inverse:
    """The write that puts things back: another tool and its resolved arguments."""

    tool: str
    args: dict[str, Any]
    summary: str

    def stored(self) -> dict[str, Any]:
        return {"tool": self.tool, "args": self.args, "summary": self.summary}


Reader = Callable[[Services, Caller, Any], Awaitable[Any]]
Planner = Callable[[Services, Caller, Any], Awaitable[Plan]]
Applier = Callable[[Services, Caller, dict[str, Any]], Awaitable[tuple[Any, Inverse | None]]]


@dataclass(frozen=True)
class AgentTool:
    name: str
    description: str  # written for the model
    args: type[ToolArgs]
    role: Role = Role.viewer
    read: Reader | None = None
    plan: Planner | None = None
    apply: Applier | None = None

    @property
    def writes(self) -> bool:
        return self.plan is not None

    def schema(self) -> dict[str, Any]:
        """The OpenAI function-tool form every LangChain chat model's bind_tools takes."""
        return {"type": "function", "function": {
            "name": self.name, "description": self.description,
            "parameters": self.args.model_json_schema()}}


def compact(model: BaseModel, *fields: str) -> dict[str, Any]:
    """A result as JSON with only the fields the model needs."""
    return model.model_dump(mode="json", include=set(fields) if fields else None)
