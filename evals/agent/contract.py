"""The agent's tools as issue 10 names them, as LangChain tools with pydantic arguments.

The contract the offline model is measured against on its own (no database, no graph):
names, argument names and enums exactly as in the issue. The real registry
(tools/registry.py) binds the real operations under the same names."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from store.models.monitoring import SEVERITIES
from tools.conflicts import Keep
from tools.data_flows import Direction, FlowStatus, Frequency
from tools.integrations import Status
from tools.workflows import TriggerType

Severity = Literal[SEVERITIES]  # type: ignore[valid-type]
Provider = Literal["hubspot", "salesforce", "mailchimp", "slack", "google_ads",
                   "facebook_ads", "zapier"]
_NAME = "an id or a name; a partial or misspelt name resolves when unambiguous"


class NoArgs(BaseModel):
    pass


class ProviderArg(BaseModel):
    provider: Provider = Field(description="the provider key")


class IntegrationArg(BaseModel):
    integration: str = Field(description=f"the integration: {_NAME}")


class MaybeIntegration(BaseModel):
    integration: str | None = Field(None, description=f"the integration: {_NAME}")


class HealthLogsArgs(MaybeIntegration):
    severity: Severity | None = Field(None, description="only logs of this severity")
    since: str | None = Field(None, description="ISO 8601 start time of the window")


class DataFlowArg(BaseModel):
    data_flow: str = Field(description=f"the data flow: {_NAME}")


class MaybeWorkflow(BaseModel):
    workflow: str | None = Field(None, description=f"the workflow: {_NAME}")


class WorkflowArg(BaseModel):
    workflow: str = Field(description=f"the workflow: {_NAME}")


class QueryArg(BaseModel):
    query: str = Field(description="what to look for, in plain words")


class FailureArgs(BaseModel):
    integration: str | None = None
    data_flow: str | None = None
    workflow: str | None = None


class CreateIntegration(BaseModel):
    provider: Provider
    name: str


class UpdateIntegration(IntegrationArg):
    name: str | None = None
    status: Status | None = Field(None, description="inactive pauses, active resumes")


class SyncNow(BaseModel):
    integration: str | None = None
    data_flow: str | None = None


class CreateDataFlow(IntegrationArg):
    name: str
    direction: Direction
    source_fields: list[str]
    target_fields: list[str]
    sync_frequency: Frequency


class UpdateDataFlow(DataFlowArg):
    name: str | None = None
    status: FlowStatus | None = None
    sync_frequency: Frequency | None = None
    source_fields: list[str] | None = None
    target_fields: list[str] | None = None


class CreateWorkflow(IntegrationArg):
    name: str
    trigger_type: TriggerType
    trigger_config: dict[str, Any] = Field(default_factory=dict)
    actions: list[dict[str, Any]] = Field(default_factory=list)


class InsightArg(BaseModel):
    insight: str = Field(description=f"the insight: {_NAME}")


class ResolveConflict(BaseModel):
    conflict: str
    keep: Keep


class UndoArg(BaseModel):
    action: str = Field(description="the id of a confirmed write, or 'last'")


TOOLS: dict[str, tuple[type[BaseModel], str]] = {
    "list_providers": (NoArgs, "The providers Connectus can connect."),
    "get_provider": (ProviderArg, "One provider: auth, scopes, streams, rate limits."),
    "list_integrations": (NoArgs, "The tenant's integrations with status."),
    "get_integration": (IntegrationArg, "One integration: status, health, last sync."),
    "test_connection": (IntegrationArg, "Check an integration's credentials reach it."),
    "health_summary": (NoArgs, "Health scores of every integration."),
    "health_logs": (HealthLogsArgs, "Health log entries, newest first."),
    "api_usage": (MaybeIntegration, "API calls, errors and quota use per integration."),
    "list_data_flows": (MaybeIntegration, "Data flows and their last runs."),
    "test_mapping": (DataFlowArg, "Dry-run a flow's mapping on sample records."),
    "list_workflows": (MaybeIntegration, "Workflow automations."),
    "workflow_runs": (MaybeWorkflow, "Recent workflow runs with step results."),
    "list_insights": (MaybeIntegration, "Open insights (anomalies, warnings)."),
    "recommendations": (MaybeIntegration, "Suggested improvements."),
    "search_knowledge": (QueryArg, "Search logs, insights and docs by meaning."),
    "explain_failure": (FailureArgs, "Why a sync or workflow failed, and a fix."),
    "create_integration": (CreateIntegration, "Connect a new integration."),
    "update_integration": (UpdateIntegration, "Rename, pause or resume an integration."),
    "delete_integration": (IntegrationArg, "Delete an integration."),
    "sync_now": (SyncNow, "Run a sync now for an integration or a data flow."),
    "create_data_flow": (CreateDataFlow, "Create a data flow."),
    "update_data_flow": (UpdateDataFlow, "Change a data flow."),
    "create_workflow": (CreateWorkflow, "Create a workflow automation."),
    "execute_workflow": (WorkflowArg, "Run a workflow now."),
    "resolve_insight": (InsightArg, "Mark an insight resolved."),
    "replay_failed_records": (DataFlowArg, "Replay a flow's failed records."),
    "resolve_conflict": (ResolveConflict, "Settle a sync conflict."),
    "undo": (UndoArg, "Undo a confirmed write."),
}


WRITE_TOOLS = frozenset({
    "create_integration", "update_integration", "delete_integration", "sync_now",
    "create_data_flow", "update_data_flow", "create_workflow", "execute_workflow",
    "resolve_insight", "replay_failed_records", "resolve_conflict", "undo"})


def contract_tools() -> list[StructuredTool]:
    """The tools, never run: measuring the model alone only reads its calls."""

    def never_run(**_: Any) -> str:
        raise RuntimeError("contract tools are for binding, not running")

    return [StructuredTool.from_function(func=never_run, name=name, description=doc,
                                         args_schema=schema)
            for name, (schema, doc) in TOOLS.items()]
