"""The agent's monitoring reads: health scores with their reasons, health logs, API usage
and the logs and insights found by meaning, each the same operation REST calls, cut down
to what answers a question."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from store.accounts import Caller
from store.models.monitoring import SEVERITIES
from tools import health_logs, health_summary, knowledge, usage
from tools.agent_reads import NoArgs, OptionalIntegration, integration_ref
from tools.agent_tool import AgentTool, ToolArgs, compact
from tools.context import Services

Severity = Literal[SEVERITIES]  # type: ignore[valid-type]
LOGS_SHOWN = 20
LOG_FIELDS = ("id", "integration", "severity", "category", "message", "created_at",
              "resolved")
USAGE_FIELDS = ("integration", "provider", "api_calls_today", "api_calls_limit", "headroom",
                "per_operation", "windows")


class HealthLogsArgs(OptionalIntegration):
    severity: Severity | None = Field(None, description="only logs of this severity")
    since: str | None = Field(None, description="ISO 8601 start of the window, e.g. "
                              "2026-12-01T00:00:00Z")


class QueryArgs(ToolArgs):
    query: str = Field(min_length=1, max_length=500, description="what to look for, in "
                       "plain words; a paraphrase finds its match")


async def read_summary(services: Services, caller: Caller, args: NoArgs) -> Any:
    summary = await health_summary.health_summary(services, caller)
    return compact(summary, "overall_score", "health", "integrations", "by_health",
                   "by_status", "open_logs", "api_usage", "top_problems", "scores")


async def read_logs(services: Services, caller: Caller, args: HealthLogsArgs) -> Any:
    page = await health_logs.health_logs(
        services, caller, await integration_ref(services, caller, args.integration),
        args.severity, args.since, limit=LOGS_SHOWN)
    # under "health_logs" so the answer names them as its sources
    return {"health_logs": [compact(log, *LOG_FIELDS) for log in page.items],
            "more": page.next_cursor is not None}


async def read_usage(services: Services, caller: Caller, args: OptionalIntegration) -> Any:
    rows = await usage.api_usage(services, caller,
                                 await integration_ref(services, caller, args.integration))
    return [compact(row, *USAGE_FIELDS) for row in rows]


async def read_knowledge(services: Services, caller: Caller, args: QueryArgs) -> Any:
    hits = await knowledge.search_knowledge(services, caller, args.query)
    # under "results" so the answer names them as its sources
    return {"results": [compact(hit, "id", "kind", "text", "label", "created_at")
                        for hit in hits]}


MONITORING = [
    AgentTool("health_summary", "Every integration's health score (0-100) with the reasons "
              "for each point lost, counts by status, open problems and API usage against "
              "limits.", NoArgs, read=read_summary),
    AgentTool("health_logs", "Health log entries (errors, warnings) newest first, by "
              "integration, severity and time.", HealthLogsArgs, read=read_logs),
    AgentTool("api_usage", "API calls today against each integration's limit, the headroom "
              "left per hour and per day.", OptionalIntegration, read=read_usage),
    AgentTool("search_knowledge", "Health logs and insights that match a question by "
              "meaning (e.g. 'token problems last week'), best first.", QueryArgs,
              read=read_knowledge),
]
