"""The agent's reads: each the same operation REST calls, with names resolved to ids and
the result cut down to what answers a question (never a secret)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import Field

from store.accounts import Caller
from store.models import Role
from tools import data_flows, flow_dry_run, integrations, providers, workflow_runs, workflows
from tools.agent_tool import AgentTool, ToolArgs, compact
from tools.agent_writes import INTEGRATION_FIELDS, IntegrationArgs, ProviderKey
from tools.context import Services
from tools.explain import explain_failure
from tools.resolve import resolve

Category = Annotated[str, Field(max_length=50, description="e.g. crm, marketing")]
Status = Literal["pending", "active", "inactive", "error", "reconnect_needed"]
PROVIDER_FIELDS = ("name", "display_name", "category", "description", "auth_type",
                   "rate_limits", "webhook_support")
FLOW_FIELDS = ("id", "name", "integration", "direction", "stream", "status", "status_reason",
               "sync_frequency", "records_processed", "records_failed", "last_run_at")
WORKFLOW_FIELDS = ("id", "name", "integration", "trigger_type", "status", "execution_count",
                   "success_count", "last_run_at")
RUN_FIELDS = ("id", "workflow", "status", "trigger", "started_at", "duration_ms", "error")


async def _id(services: Services, caller: Caller, kind: str, ref: str | None) -> uuid.UUID | None:
    if ref is None:
        return None
    async with services.db.session(caller.tenant_id) as session:
        return await resolve(session, kind, ref)


async def integration_ref(services: Services, caller: Caller,
                          ref: str | None) -> uuid.UUID | None:
    """An integration's id from its id or (partial, misspelt) name; None for every one."""
    return await _id(services, caller, "integration", ref)


class NoArgs(ToolArgs):
    pass


class ProvidersArgs(ToolArgs):
    category: Category | None = None


class ProviderArgs(ToolArgs):
    provider: ProviderKey


class IntegrationsArgs(ToolArgs):
    provider: ProviderKey | None = None
    status: Status | None = None


class OptionalIntegration(ToolArgs):
    integration: str | None = Field(None, description="one integration's id or name; every "
                                    "one's when left out")


class DataFlowArgs(ToolArgs):
    data_flow: str = Field(description="the data flow's id or name")


class WorkflowRunsArgs(ToolArgs):
    workflow: str | None = Field(None, description="one workflow's id or name")


class ExplainArgs(ToolArgs):
    integration: str | None = None
    data_flow: str | None = None
    workflow: str | None = None


async def read_providers(services: Services, caller: Caller, args: ProvidersArgs) -> Any:
    rows = await providers.list_providers(services, caller, args.category)
    return [compact(p, "name", "display_name", "category", "auth_type") for p in rows]


async def read_provider(services: Services, caller: Caller, args: ProviderArgs) -> Any:
    return compact(await providers.get_provider(services, caller, args.provider),
                   *PROVIDER_FIELDS)


async def read_integrations(services: Services, caller: Caller, args: IntegrationsArgs) -> Any:
    rows = await integrations.list_integrations(services, caller, args.provider, args.status)
    return [compact(i, *INTEGRATION_FIELDS) for i in rows]


async def read_integration(services: Services, caller: Caller, args: IntegrationArgs) -> Any:
    found = await _id(services, caller, "integration", args.integration)
    assert found is not None
    return compact(await integrations.get_integration(services, caller, found),
                   *INTEGRATION_FIELDS)


async def read_connection(services: Services, caller: Caller, args: IntegrationArgs) -> Any:
    found = await _id(services, caller, "integration", args.integration)
    assert found is not None
    return compact(await integrations.test_connection(services, caller, found))


async def read_flows(services: Services, caller: Caller, args: OptionalIntegration) -> Any:
    rows = await data_flows.list_data_flows(
        services, caller, await _id(services, caller, "integration", args.integration))
    return [compact(f, *FLOW_FIELDS) for f in rows]


async def read_mapping(services: Services, caller: Caller, args: DataFlowArgs) -> Any:
    found = await _id(services, caller, "data_flow", args.data_flow)
    assert found is not None
    report = await flow_dry_run.test_mapping(services, caller, found,
                                             flow_dry_run.TestMappingRequest())
    return compact(report)


async def read_workflows(services: Services, caller: Caller, args: OptionalIntegration) -> Any:
    rows = await workflows.list_workflows(
        services, caller, await _id(services, caller, "integration", args.integration))
    return [compact(w, *WORKFLOW_FIELDS) for w in rows]


async def read_runs(services: Services, caller: Caller, args: WorkflowRunsArgs) -> Any:
    rows = await workflow_runs.list_runs(
        services, caller, await _id(services, caller, "workflow", args.workflow), limit=20)
    return [compact(r, *RUN_FIELDS) for r in rows]


async def read_explanation(services: Services, caller: Caller, args: ExplainArgs) -> Any:
    return await explain_failure(services, caller, args.integration, args.data_flow,
                                 args.workflow)


READS = [
    AgentTool("list_providers", "The providers Connectus can connect to.", ProvidersArgs,
              read=read_providers),
    AgentTool("get_provider", "One provider: how it authenticates, its rate limits, its "
              "webhooks.", ProviderArgs, read=read_provider),
    AgentTool("list_integrations", "The tenant's integrations with status, health score "
              "(0-100) and API calls today.", IntegrationsArgs, read=read_integrations),
    AgentTool("get_integration", "One integration's status, health, usage and last error.",
              IntegrationArgs, read=read_integration),
    AgentTool("test_connection", "Make one cheap call to the provider and say whether the "
              "connection works and what to do if not.", IntegrationArgs, Role.member,
              read=read_connection),
    AgentTool("list_data_flows", "Data flows (field mappings between a provider and "
              "Connectus) with their last run and counts.", OptionalIntegration,
              read=read_flows),
    AgentTool("test_mapping", "Try a data flow's mapping on a few live records and show "
              "each before and after; writes nothing.", DataFlowArgs, Role.member,
              read=read_mapping),
    AgentTool("list_workflows", "Workflows (trigger, then actions) with their run counts.",
              OptionalIntegration, read=read_workflows),
    AgentTool("workflow_runs", "The newest workflow runs, with status and error.",
              WorkflowRunsArgs, read=read_runs),
    AgentTool("explain_failure", "Why an integration, data flow or workflow failed: the "
              "failing run, its health logs and failed records, the failure class "
              "(config, transient, system) and a proposed fix.", ExplainArgs,
              read=read_explanation),
]
