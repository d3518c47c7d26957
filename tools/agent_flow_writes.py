"""The agent's writes on data flows, workflows, failed records and conflicts, each planned
before a person confirms it (replays are dry-run on the failed records first)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy import func, select

from connectors.registry import connector_spec
from store.accounts import Caller
from store.errors import NotFound, ValidationFailed
from store.models import DeadLetter, Role, SyncConflict
from store.queries import load_data_flow, load_integration
from tools import conflicts, data_flows, dead_letters, flow_dry_run, workflows
from tools.agent_tool import ID_OR_WORD, AgentTool, Inverse, Plan, ToolArgs, compact
from tools.context import Services
from tools.resolve import resolve

FLOW_FIELDS = ("id", "name", "integration", "direction", "stream", "status",
               "source_fields", "target_fields", "sync_frequency", "records_processed",
               "records_failed", "last_run_at")
WORKFLOW_FIELDS = ("id", "name", "integration", "trigger_type", "status", "execution_count",
                   "success_count", "last_run_at")
Direction = Literal["inbound", "outbound", "bidirectional"]
Frequency = Literal["realtime", "hourly", "daily", "weekly", "manual"]
FlowStatus = Literal["active", "paused"]
TriggerType = Literal["webhook", "schedule", "condition", "manual"]
REPLAY_PREVIEW = 50  # failed records dry-run in a replay's preview


def _ref(kind: str) -> Any:
    return Field(description=f"the {kind.replace('_', ' ')}'s id or name; part of a name "
                             "will do when only one matches")


# -- create_data_flow / update_data_flow -------------------------------------------------

class CreateDataFlowArgs(ToolArgs):
    integration: str = _ref("integration")
    name: str = Field(min_length=1, max_length=100)
    direction: Direction = "inbound"
    source_fields: list[str] = Field(default_factory=list, max_length=500)
    target_fields: list[str] = Field(default_factory=list, max_length=500)
    sync_frequency: Frequency = "daily"
    stream: str | None = Field(None, description="the provider's stream, e.g. contacts; "
                               "its first stream when left out")


async def plan_create_data_flow(services: Services, caller: Caller,
                                args: CreateDataFlowArgs) -> Plan:
    async with services.db.session(caller.tenant_id) as session:
        integration_id = await resolve(session, "integration", args.integration)
        row, provider = await load_integration(session, integration_id)
    spec = connector_spec(provider)
    stream = args.stream or (spec.streams[0].name if spec and spec.streams else "")
    mapping = dict(zip(args.source_fields, args.target_fields, strict=False))
    resolved = {**args.model_dump(), "integration": str(row.id), "stream": stream}
    return Plan(args=resolved, needs_role=Role.admin,
                summary=f"Create data flow {args.name!r} on {row.name!r} ({args.direction}, "
                        f"{stream}, {args.sync_frequency})",
                changes=[{"object": f"data flow {args.name!r}", "field": "(new)",
                          "before": None, "after": {"mapping": mapping,
                                                    "sync_frequency": args.sync_frequency}}])


async def apply_create_data_flow(services: Services, caller: Caller,
                                 args: dict[str, Any]) -> tuple[Any, Inverse | None]:
    row = await data_flows.create_data_flow(services, caller, data_flows.DataFlowCreate(
        **{**args, "integration": uuid.UUID(args["integration"])}))
    return compact(row, *FLOW_FIELDS), Inverse("delete_data_flow", {"data_flow": str(row.id)},
                                               f"delete data flow {row.name!r} again")


class UpdateDataFlowArgs(ToolArgs):
    data_flow: str = _ref("data_flow")
    name: str | None = Field(None, min_length=1, max_length=100)
    status: FlowStatus | None = Field(None, description="paused stops its schedule")
    sync_frequency: Frequency | None = None
    source_fields: list[str] | None = Field(None, max_length=500)
    target_fields: list[str] | None = Field(None, max_length=500)
    transformation_rules: dict[str, Any] | None = None


async def plan_update_data_flow(services: Services, caller: Caller,
                                args: UpdateDataFlowArgs) -> Plan:
    wanted = args.model_dump(exclude={"data_flow"}, exclude_none=True)
    if not wanted:
        raise ValidationFailed("name nothing to change", field="data_flow")
    async with services.db.session(caller.tenant_id) as session:
        row = await load_data_flow(session, await resolve(session, "data_flow", args.data_flow))
    before = {key: getattr(row, key) for key in wanted}
    return Plan(args={"data_flow": str(row.id), "changes": wanted, "before": before},
                needs_role=Role.admin, summary=f"Change data flow {row.name!r}",
                records=row.records_processed if "source_fields" in wanted or
                "transformation_rules" in wanted else None,
                changes=[{"object": f"data flow {row.name!r}", "field": key,
                          "before": before[key], "after": value}
                         for key, value in wanted.items() if before[key] != value])


async def apply_update_data_flow(services: Services, caller: Caller,
                                 args: dict[str, Any]) -> tuple[Any, Inverse | None]:
    row = await data_flows.update_data_flow(services, caller, uuid.UUID(args["data_flow"]),
                                            data_flows.DataFlowUpdate(**args["changes"]))
    previous = {k: v for k, v in args["before"].items() if args["changes"].get(k) != v}
    inverse = Inverse("update_data_flow", {"data_flow": args["data_flow"], "changes": previous,
                                           "before": args["changes"]},
                      f"put {', '.join(sorted(previous))} of {row.name!r} back") \
        if previous else None
    return compact(row, *FLOW_FIELDS), inverse


async def apply_delete_data_flow(services: Services, caller: Caller,
                                 args: dict[str, Any]) -> tuple[Any, Inverse | None]:
    await data_flows.delete_data_flow(services, caller, uuid.UUID(args["data_flow"]))
    return {"deleted": args["data_flow"]}, None


# -- create_workflow / execute_workflow --------------------------------------------------

class CreateWorkflowArgs(ToolArgs):
    integration: str = _ref("integration")
    name: str = Field(min_length=1, max_length=100)
    trigger_type: TriggerType
    trigger_config: dict[str, Any] = Field(default_factory=dict, description=(
        'webhook: {"event": "contact.creation"}; schedule: {"cron": "0 9 * * *"}'))
    conditions: dict[str, Any] = Field(default_factory=dict, description=(
        '{"all": [{"field": "record.properties.email", "op": "contains", "value": "@"}]}'))
    actions: list[dict[str, Any]] = Field(max_length=50, description=(
        'in order, e.g. [{"type": "slack_message", "channel": "#sales", "text": "..."}]'))


async def plan_create_workflow(services: Services, caller: Caller,
                               args: CreateWorkflowArgs) -> Plan:
    async with services.db.session(caller.tenant_id) as session:
        row, _ = await load_integration(
            session, await resolve(session, "integration", args.integration))
    return Plan(args={**args.model_dump(), "integration": str(row.id)}, needs_role=Role.admin,
                summary=f"Create workflow {args.name!r} on {row.name!r} "
                        f"({args.trigger_type}, {len(args.actions)} action(s))",
                changes=[{"object": f"workflow {args.name!r}", "field": "(new)",
                          "before": None, "after": {"trigger": args.trigger_config,
                                                    "actions": [a.get("type") for a in
                                                                args.actions]}}])


async def apply_create_workflow(services: Services, caller: Caller,
                                args: dict[str, Any]) -> tuple[Any, Inverse | None]:
    row = await workflows.create_workflow(services, caller, workflows.WorkflowCreate(
        **{**args, "integration": uuid.UUID(args["integration"])}))
    return compact(row, *WORKFLOW_FIELDS), Inverse(
        "delete_workflow", {"workflow": str(row.id)}, f"delete workflow {row.name!r} again")


async def apply_delete_workflow(services: Services, caller: Caller,
                                args: dict[str, Any]) -> tuple[Any, Inverse | None]:
    await workflows.delete_workflow(services, caller, uuid.UUID(args["workflow"]))
    return {"deleted": args["workflow"]}, None


class WorkflowArgs(ToolArgs):
    workflow: str = _ref("workflow")


async def plan_execute_workflow(services: Services, caller: Caller,
                                args: WorkflowArgs) -> Plan:
    async with services.db.session(caller.tenant_id) as session:
        workflow_id = await resolve(session, "workflow", args.workflow)
    row = await workflows.get_workflow(services, caller, workflow_id)
    kinds = [a.get("type", "?") if isinstance(a, dict) else "?" for a in row.actions]
    return Plan(args={"workflow": str(row.id)}, summary=f"Run workflow {row.name!r} now",
                api_calls=len(kinds), records=None,
                changes=[{"object": f"workflow {row.name!r}", "field": "runs",
                          "before": row.execution_count, "after": row.execution_count + 1}],
                notes=[f"its actions run in order: {', '.join(kinds) or 'none'}; what they "
                       "send cannot be taken back"])


async def apply_execute_workflow(services: Services, caller: Caller,
                                 args: dict[str, Any]) -> tuple[Any, Inverse | None]:
    result = await workflows.execute_workflow(services, caller, uuid.UUID(args["workflow"]))
    return compact(result), None


# -- replay_failed_records / resolve_conflict --------------------------------------------

class DataFlowArgs(ToolArgs):
    data_flow: str = _ref("data_flow")


async def plan_replay(services: Services, caller: Caller, args: DataFlowArgs) -> Plan:
    """Dry-runs the flow's current mapping on its open dead letters: the preview says how
    many would now go through and how many would still fail, and why."""
    async with services.db.session(caller.tenant_id) as session:
        flow = await load_data_flow(session, await resolve(session, "data_flow",
                                                           args.data_flow))
        open_count = await session.scalar(
            select(func.count()).select_from(DeadLetter)
            .where(DeadLetter.data_flow_id == flow.id, DeadLetter.status == "open")) or 0
        sample = list((await session.scalars(
            select(DeadLetter.record).where(DeadLetter.data_flow_id == flow.id,
                                            DeadLetter.status == "open")
            .order_by(DeadLetter.created_at).limit(REPLAY_PREVIEW))).all())
    if not open_count:
        raise ValidationFailed(f"data flow {flow.name!r} has no failed records to replay",
                               field="data_flow")
    dry = await flow_dry_run.test_mapping(services, caller, flow.id,
                                          flow_dry_run.TestMappingRequest(records=sample))
    reasons = sorted({e.message for s in dry.records for e in s.errors})[:5]
    notes = [f"dry run of the current mapping on {len(sample)} of them: {dry.mapped} now "
             f"map, {dry.failed} still fail, {dry.dropped} dropped"]
    if reasons:
        notes.append("still failing because: " + "; ".join(reasons))
    return Plan(args={"data_flow": str(flow.id)}, records=open_count, notes=notes,
                summary=f"Replay {open_count} failed record(s) of {flow.name!r} with its "
                        "current mapping",
                changes=[{"object": f"data flow {flow.name!r}", "field": "failed records",
                          "before": open_count, "after": open_count - dry.mapped
                          if len(sample) == open_count else None}])


async def apply_replay(services: Services, caller: Caller,
                       args: dict[str, Any]) -> tuple[Any, Inverse | None]:
    result = await dead_letters.replay_failed_records(services, caller,
                                                      uuid.UUID(args["data_flow"]))
    return compact(result), None


class ResolveConflictArgs(ToolArgs):
    conflict: Annotated[uuid.UUID | Literal["latest"], ID_OR_WORD] = Field(description=(
        'the conflict\'s id, or "latest": the newest open one'))
    keep: Literal["local", "remote"] = Field(description="local: Connectus's values, written "
                                             "to the provider; remote: the provider's")


async def plan_resolve_conflict(services: Services, caller: Caller,
                                args: ResolveConflictArgs) -> Plan:
    wanted = args.conflict
    if wanted == "latest":  # "for that conflict keep the remote version"
        newest = await conflicts.list_conflicts(services, caller, status="open", limit=1)
        if not newest:
            raise ValidationFailed("there is no open conflict to settle", field="conflict")
        wanted = newest[0].id
    async with services.db.session(caller.tenant_id) as session:
        row = await session.get(SyncConflict, wanted)
    if row is None:
        raise NotFound(f"no conflict {wanted}")
    kept, lost = (row.local, row.remote) if args.keep == "local" else (row.remote, row.local)
    side = "the provider's" if args.keep == "local" else "Connectus's"
    return Plan(args={"conflict": str(row.id), "keep": args.keep}, records=1,
                api_calls=1 if args.keep == "local" else 0,
                summary=f"Settle the conflict on record {row.external_id!r}: keep "
                        f"{args.keep}",
                changes=[{"object": f"record {row.external_id!r} ({side} copy)",
                          "field": name, "before": lost.get(name), "after": kept.get(name)}
                         for name in row.fields])


async def apply_resolve_conflict(services: Services, caller: Caller,
                                 args: dict[str, Any]) -> tuple[Any, Inverse | None]:
    result = await conflicts.resolve_conflict(services, caller, uuid.UUID(args["conflict"]),
                                              args["keep"])
    return compact(result, "conflict", "queued_run"), None


FLOW_WRITES = [
    AgentTool("create_data_flow", "Create a data flow that maps fields between the "
              "provider and Connectus on a schedule.", CreateDataFlowArgs, Role.admin,
              plan=plan_create_data_flow, apply=apply_create_data_flow),
    AgentTool("update_data_flow", "Change a data flow: its mapping, frequency, name, or "
              "pause/resume it.", UpdateDataFlowArgs, Role.admin,
              plan=plan_update_data_flow, apply=apply_update_data_flow),
    AgentTool("create_workflow", "Create a workflow: when a trigger fires, run actions in "
              "order.", CreateWorkflowArgs, Role.admin, plan=plan_create_workflow,
              apply=apply_create_workflow),
    AgentTool("execute_workflow", "Run a workflow now.", WorkflowArgs, Role.member,
              plan=plan_execute_workflow, apply=apply_execute_workflow),
    AgentTool("replay_failed_records", "Replay a data flow's failed records (dead letters) "
              "with its current mapping, after a fix.", DataFlowArgs, Role.member,
              plan=plan_replay, apply=apply_replay),
    AgentTool("resolve_conflict", "Settle a sync conflict by keeping one side's values.",
              ResolveConflictArgs, Role.member, plan=plan_resolve_conflict,
              apply=apply_resolve_conflict),
]
# what only an undo runs: the inverses of the creates
UNDO_ONLY = {"delete_data_flow": apply_delete_data_flow,
             "delete_workflow": apply_delete_workflow}
