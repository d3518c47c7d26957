"""The agent's insight tools: open insights and what to do about them (reads), and
resolving one (a write, confirmed first), each the operation REST calls."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from store.accounts import Caller
from store.models import Role
from tools import insights
from tools.agent_reads import OptionalIntegration, integration_ref
from tools.agent_tool import AgentTool, Inverse, Plan, ToolArgs, compact
from tools.context import Services
from tools.resolve import resolve

INSIGHTS_SHOWN = 20
INSIGHT_FIELDS = ("id", "integration", "insight_type", "priority", "title", "description",
                  "recommendation", "is_read", "is_resolved", "opened_at", "details")


class InsightArgs(ToolArgs):
    insight: str = Field(description="the insight's id or title")


async def read_insights(services: Services, caller: Caller, args: OptionalIntegration) -> Any:
    page = await insights.list_insights(
        services, caller, await integration_ref(services, caller, args.integration),
        is_resolved=False, limit=INSIGHTS_SHOWN)
    # under "insights" so the answer names them as its sources
    return {"insights": [compact(row, *INSIGHT_FIELDS) for row in page.items],
            "open": page.total}


async def read_recommendations(services: Services, caller: Caller,
                               args: OptionalIntegration) -> Any:
    rows = await insights.recommendations(
        services, caller, await integration_ref(services, caller, args.integration))
    return {"insights": [{"id": str(r.insight), **compact(r, "integration_name", "priority",
                                                            "title", "recommendation",
                                                            "action_items")}
                         for r in rows]}


async def plan_resolve_insight(services: Services, caller: Caller, args: InsightArgs) -> Plan:
    async with services.db.session(caller.tenant_id) as session:
        found = await resolve(session, "insight", args.insight)
    row = await insights.get_insight(services, caller, found)
    return Plan(args={"insight": str(row.id)}, records=0,
                summary=f"Mark the insight {row.title!r} resolved",
                changes=[{"object": f"insight {row.title!r}", "field": "is_resolved",
                          "before": row.is_resolved, "after": True}],
                notes=["it opens again by itself if its condition clears and later returns"])


async def apply_resolve_insight(services: Services, caller: Caller,
                                args: dict[str, Any]) -> tuple[Any, Inverse | None]:
    row = await insights.resolve_insight(services, caller, uuid.UUID(args["insight"]))
    return compact(row, "id", "title", "is_resolved", "resolved_at"), None


INSIGHTS = [
    AgentTool("list_insights", "Open insights: failing syncs, error spikes, quotas about to "
              "run out, expiring tokens, stale flows, data-quality drift, each with what to "
              "do.", OptionalIntegration, read=read_insights),
    AgentTool("recommendations", "What to do now, most urgent first: the open insights' "
              "recommendations and action items.", OptionalIntegration,
              read=read_recommendations),
    AgentTool("resolve_insight", "Mark an insight resolved.", InsightArgs, Role.member,
              plan=plan_resolve_insight, apply=apply_resolve_insight),
]
