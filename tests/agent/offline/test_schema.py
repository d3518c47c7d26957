"""Reading bound tools' schemas, and keeping every call inside them."""

from __future__ import annotations

from typing import Literal

from langchain_core.tools import StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel

from agent.offline.schema import ToolSpec, fit, spec_of


class Logs(BaseModel):
    integration: str | None = None
    severity: Literal["warning", "error"] | None = None
    fields: list[str] = []


def _spec() -> ToolSpec:
    tool = StructuredTool.from_function(func=lambda **_: "", name="health_logs",
                                        description="logs", args_schema=Logs)
    return spec_of(convert_to_openai_tool(tool))


def test_optional_enums_are_seen_through_any_of() -> None:
    spec = _spec()
    assert spec.name == "health_logs"
    assert spec.enum("severity") == ("warning", "error")
    assert spec.kind("integration") == "string"


def test_fit_drops_unknown_arguments_and_values_outside_an_enum() -> None:
    spec = _spec()
    fitted = fit(spec, {"integration": "HubSpot", "severity": "critical",
                        "tenant_id": "someone else's", "fields": "email"})
    assert fitted == {"integration": "HubSpot", "fields": ["email"]}
