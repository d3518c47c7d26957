"""The agent's writes on integrations and syncs, each planned (what will change, how big)
before a person confirms it, and answering its inverse once applied."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field, model_validator
from sqlalchemy import func, select

from store.accounts import Caller
from store.errors import ValidationFailed
from store.models import DataFlow, Role, SyncedRecord, WorkflowAutomation
from store.queries import find_provider, load_integration
from tools import integrations, syncs
from tools.agent_tool import AgentTool, Inverse, Plan, ToolArgs, compact
from tools.blast_radius import estimate_syncs, quota_left, thresholds, weigh
from tools.context import Services
from tools.resolve import resolve

ProviderKey = Literal["hubspot", "salesforce", "mailchimp", "slack", "google_ads",
                      "facebook_ads", "zapier"]
IntegrationStatus = Literal["active", "inactive"]
INTEGRATION_FIELDS = ("id", "name", "provider", "status", "health_score", "api_calls_today",
                      "api_calls_limit", "last_sync_at", "last_error")
IntegrationRef = Field(description="the integration's id or name; part of a name or the "
                                   "provider's name will do when only one matches")


# -- create_integration ------------------------------------------------------------------

class CreateIntegrationArgs(ToolArgs):
    provider: ProviderKey
    name: str = Field(min_length=1, max_length=100)


async def plan_create_integration(services: Services, caller: Caller,
                                  args: CreateIntegrationArgs) -> Plan:
    async with services.db.session(caller.tenant_id) as session:
        if await find_provider(session, args.provider) is None:
            raise ValidationFailed(f"unknown provider {args.provider!r}", field="provider")
    return Plan(args={"provider": args.provider, "name": args.name}, needs_role=Role.admin,
                summary=f"Create a {args.provider} integration named {args.name!r}",
                changes=[{"object": f"integration {args.name!r}", "field": "(new)",
                          "before": None, "after": {"provider": args.provider,
                                                    "status": "pending"}}],
                notes=["its credentials are added afterwards over REST or the OAuth "
                       "consent flow, never through chat"])


async def apply_create_integration(services: Services, caller: Caller,
                                   args: dict[str, Any]) -> tuple[Any, Inverse | None]:
    row = await integrations.create_integration(
        services, caller, integrations.IntegrationCreate(provider=args["provider"],
                                                         name=args["name"]))
    return compact(row, *INTEGRATION_FIELDS), Inverse(
        "delete_integration", {"integration": str(row.id)}, f"delete {row.name!r} again")


# -- update_integration (pause, resume, rename, limits) ----------------------------------

class UpdateIntegrationArgs(ToolArgs):
    integration: str = IntegrationRef
    name: str | None = Field(None, min_length=1, max_length=100)
    status: IntegrationStatus | None = Field(None, description="inactive pauses it (no "
                                             "syncs, no workflows); active resumes it")
    api_calls_limit: int | None = Field(None, ge=0, description="daily provider calls "
                                        "Connectus may make; 0: the provider's own limit")
    sync_config: dict[str, Any] | None = None


async def plan_update_integration(services: Services, caller: Caller,
                                  args: UpdateIntegrationArgs) -> Plan:
    wanted = args.model_dump(exclude={"integration"}, exclude_none=True)
    if not wanted:
        raise ValidationFailed("name nothing to change: name, status, api_calls_limit or "
                               "sync_config", field="integration")
    async with services.db.session(caller.tenant_id) as session:
        integration_id = await resolve(session, "integration", args.integration)
        row, _ = await load_integration(session, integration_id)
    before = {key: getattr(row, key) for key in wanted}
    changes = [{"object": f"integration {row.name!r}", "field": key, "before": before[key],
                "after": value} for key, value in wanted.items() if before[key] != value]
    verb = {"inactive": "Pause", "active": "Resume"}.get(wanted.get("status", ""), "Change")
    return Plan(args={"integration": str(row.id), "changes": wanted,
                      "before": before}, needs_role=Role.admin, changes=changes,
                summary=f"{verb} integration {row.name!r}",
                notes=[] if changes else ["it already has these values"])


async def apply_update_integration(services: Services, caller: Caller,
                                   args: dict[str, Any]) -> tuple[Any, Inverse | None]:
    row = await integrations.update_integration(
        services, caller, uuid.UUID(args["integration"]),
        integrations.IntegrationUpdate(**args["changes"]))
    previous = {k: v for k, v in args["before"].items() if args["changes"].get(k) != v}
    inverse = Inverse("update_integration", {"integration": args["integration"],
                                             "changes": previous, "before": args["changes"]},
                      f"put {', '.join(sorted(previous))} of {row.name!r} back") \
        if previous else None
    return compact(row, *INTEGRATION_FIELDS), inverse


# -- delete_integration ------------------------------------------------------------------

class IntegrationArgs(ToolArgs):
    integration: str = IntegrationRef


async def plan_delete_integration(services: Services, caller: Caller,
                                  args: IntegrationArgs) -> Plan:
    async with services.db.session(caller.tenant_id) as session:
        integration_id = await resolve(session, "integration", args.integration)
        row, provider = await load_integration(session, integration_id)
        flows = await session.scalar(select(func.count()).select_from(DataFlow)
                                     .where(DataFlow.integration_id == row.id)) or 0
        workflows = await session.scalar(
            select(func.count()).select_from(WorkflowAutomation)
            .where(WorkflowAutomation.integration_id == row.id)) or 0
        records = await session.scalar(
            select(func.count()).select_from(SyncedRecord).join(
                DataFlow, DataFlow.id == SyncedRecord.data_flow_id)
            .where(DataFlow.integration_id == row.id)) or 0
    return Plan(args={"integration": str(row.id)}, needs_role=Role.admin, records=records,
                summary=f"Delete integration {row.name!r} ({provider})",
                changes=[{"object": f"integration {row.name!r}", "field": "(deleted)",
                          "before": {"data_flows": flows, "workflows": workflows,
                                     "synced_records": records}, "after": None}],
                notes=["this cannot be undone: its credentials, flows, workflows and "
                       "synced records go with it"])


async def apply_delete_integration(services: Services, caller: Caller,
                                   args: dict[str, Any]) -> tuple[Any, Inverse | None]:
    await integrations.delete_integration(services, caller, uuid.UUID(args["integration"]))
    return {"deleted": args["integration"]}, None


# -- sync_now ----------------------------------------------------------------------------

class SyncNowArgs(ToolArgs):
    integration: str | None = Field(None, description="sync every active flow of this "
                                    "integration (id or name)")
    data_flow: str | None = Field(None, description="or just this data flow (id or name)")

    @model_validator(mode="after")
    def _one(self) -> SyncNowArgs:
        if not self.integration and not self.data_flow:
            raise ValueError("give the integration or the data_flow to sync")
        return self


async def plan_sync_now(services: Services, caller: Caller, args: SyncNowArgs) -> Plan:
    async with services.db.session(caller.tenant_id) as session:
        flow_id = await resolve(session, "data_flow", args.data_flow) if args.data_flow \
            else None
        if flow_id is not None:
            one = await session.get(DataFlow, flow_id)
            assert one is not None  # resolve found it in this tenant
            integration_id = one.integration_id
        else:
            assert args.integration is not None
            integration_id = await resolve(session, "integration", args.integration)
        row, provider = await load_integration(session, integration_id)
        query = select(DataFlow).where(DataFlow.integration_id == row.id)
        query = query.where(DataFlow.id == flow_id) if flow_id else query.where(
            DataFlow.status == "active")
        flows = list((await session.scalars(query.order_by(DataFlow.name))).all())
        if not flows:
            raise ValidationFailed(f"{row.name!r} has no active data flows to sync",
                                   field="integration")
        estimates = await estimate_syncs(session, flows, provider)
        limits = await thresholds(session)
    known = [e.records for e in estimates if e.records is not None]
    plan = Plan(args={"integration": str(row.id),
                      "data_flow": str(flow_id) if flow_id else None},
                summary=f"Sync {len(flows)} data flow(s) of {row.name!r} now",
                records=sum(known) if known else None,
                api_calls=sum(e.api_calls for e in estimates),
                changes=[{"object": f"data flow {e.flow_name!r}", "field": "synced records",
                          "before": "as of the last run",
                          "after": f"about {e.records} records read" if e.records is not None
                          else "every record of the stream (first run)"} for e in estimates],
                notes=["estimated from each flow's last run; a first run reads everything"]
                if len(known) < len(estimates) else ["estimated from each flow's last run"])
    return weigh(plan, limits, quota_left(row, provider))


async def apply_sync_now(services: Services, caller: Caller,
                         args: dict[str, Any]) -> tuple[Any, Inverse | None]:
    result = await syncs.sync_now(services, caller, uuid.UUID(args["integration"]),
                                  syncs.SyncNowRequest(data_flow=args["data_flow"]))
    return compact(result), None


WRITES = [
    AgentTool("create_integration", "Connect a new provider account (an admin's write). "
              "It starts pending; credentials are never given in chat.",
              CreateIntegrationArgs, Role.admin, plan=plan_create_integration,
              apply=apply_create_integration),
    AgentTool("update_integration", "Change an integration: pause it (status inactive), "
              "resume it (status active), rename it, or set its daily call limit.",
              UpdateIntegrationArgs, Role.admin, plan=plan_update_integration,
              apply=apply_update_integration),
    AgentTool("delete_integration", "Delete an integration with its flows, workflows and "
              "synced records. Cannot be undone.", IntegrationArgs, Role.admin,
              plan=plan_delete_integration, apply=apply_delete_integration),
    AgentTool("sync_now", "Start a sync now: every active data flow of an integration, or "
              "one data flow.", SyncNowArgs, Role.member, plan=plan_sync_now,
              apply=apply_sync_now),
]
