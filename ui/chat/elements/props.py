"""What each chat element shows, read from the same operations REST and the agent call:
plain JSON props, built for the logged-in caller (never from what a browser sends).

No secret reaches a prop: integrations carry only a masked credential hint, and the
provider browser names which credential fields a form asks for, never their values.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tools import (
    data_flows,
    editor_options,
    health_history,
    health_logs,
    health_summary,
    integrations,
    providers,
    usage,
    workflows,
)
from tools.context import Caller, Services
from tools.registry import tool_named

LOGS_SHOWN = 30


def allowed(caller: Caller, tool: str) -> bool:
    """Whether the caller's role may run ``tool``: buttons they may not use are shown
    disabled (the tool checks again when it runs)."""
    found = tool_named(tool)
    return found is not None and caller.role.at_least(found.role)


def _when(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


async def dashboard(services: Services, caller: Caller) -> dict[str, Any]:
    summary, usages, flows, automations, logs, history = await asyncio.gather(
        health_summary.health_summary(services, caller),
        usage.api_usage(services, caller),
        data_flows.list_data_flows(services, caller),
        workflows.list_workflows(services, caller),
        health_logs.health_logs(services, caller, limit=LOGS_SHOWN),
        health_history.health_history(services, caller))
    limits = {u.integration_id: u for u in usages}
    names = {s.integration_id: s.integration for s in summary.scores}
    cards = []
    for score in summary.scores:
        used = limits.get(score.integration_id)
        limit = used.api_calls_limit if used else 0
        calls = used.api_calls_today if used else 0
        cards.append({
            "id": str(score.integration_id), "name": score.integration,
            "provider": score.provider, "status": score.status,
            "health_score": score.health_score, "health": score.health,
            "reasons": [str(r.get("reason")) for r in score.reasons[:3]],
            "api_calls_today": calls, "api_calls_limit": limit,
            "usage_fraction": round(calls / limit, 4) if limit else None})
    return {
        "summary": {
            "overall_score": summary.overall_score, "health": summary.health,
            "integrations": summary.integrations, "by_health": summary.by_health,
            "open_logs": summary.open_logs,
            "api_calls_today": summary.api_usage.calls_today,
            "api_calls_limit": summary.api_usage.limit_today,
            "headroom_fraction": summary.api_usage.headroom_fraction,
            "near_limit": summary.api_usage.near_limit,
            "checked_at": _when(summary.checked_at)},
        "integrations": cards,
        "data_flows": [{
            "id": str(f.id), "name": f.name, "integration": names.get(f.integration, ""),
            "direction": f.direction, "stream": f.stream, "status": f.status,
            "sync_frequency": f.sync_frequency, "records_processed": f.records_processed,
            "records_failed": f.records_failed, "last_run_at": _when(f.last_run_at)}
            for f in flows],
        "workflows": [{
            "id": str(w.id), "name": w.name, "integration": names.get(w.integration, ""),
            "trigger_type": w.trigger_type, "status": w.status,
            "execution_count": w.execution_count, "success_count": w.success_count,
            "last_run_at": _when(w.last_run_at)} for w in automations],
        "logs": [{
            "id": str(log.id), "integration": log.integration, "severity": log.severity,
            "category": log.category, "message": log.message,
            "created_at": _when(log.created_at), "resolved": log.resolved,
            "resolution": log.resolution} for log in logs.items],
        "history": [{**day.model_dump(mode="json"),
                     "errors": day.logs.get("error", 0) + day.logs.get("critical", 0)}
                    for day in history],
        "can": {"test": allowed(caller, "test_connection"), "sync": allowed(caller, "sync_now"),
                "resolve": allowed(caller, "resolve_insight")},
    }


async def provider_browser(services: Services, caller: Caller) -> dict[str, Any]:
    rows, connected = await asyncio.gather(providers.list_providers(services, caller),
                                           integrations.list_integrations(services, caller))
    counts: dict[str, int] = {}
    for row in connected:
        counts[row.provider] = counts.get(row.provider, 0) + 1
    categories: dict[str, list[dict[str, Any]]] = {}
    for p in rows:
        capabilities = await providers.provider_capabilities(services, caller, p.name)
        fields = editor_options.credential_fields(p.name)
        categories.setdefault(p.category, []).append({
            "name": p.name, "display_name": p.display_name, "description": p.description,
            "auth_type": p.auth_type, "oauth": any(
                f["name"] == "client_secret" for f in fields),
            "fields": fields,
            "streams": [s["name"] for s in capabilities.streams],
            "writes": [w["name"] for w in capabilities.writes],
            "webhooks": p.webhook_support, "connected": counts.get(p.name, 0)})
    return {"categories": [{"name": name, "providers": items}
                           for name, items in sorted(categories.items())],
            "can": {"add": allowed(caller, "create_integration")}}


async def field_mapping(services: Services, caller: Caller,
                        flow_id: uuid.UUID) -> dict[str, Any]:
    flow = await data_flows.get_data_flow(services, caller, flow_id)
    integration = await integrations.get_integration(services, caller, flow.integration)
    rules = flow.transformation_rules
    return {
        "flow": {"id": str(flow.id), "name": flow.name, "integration": integration.name,
                 "provider": integration.provider, "direction": flow.direction,
                 "stream": flow.stream},
        "rows": [{"source": source, "target": target,
                  "rules": rules.get(str(target), [])}
                 for source, target in zip(flow.source_fields, flow.target_fields,
                                           strict=False)],
        "source_options": editor_options.stream_fields(integration.provider, flow.stream),
        "rule_options": editor_options.mapping_rules(),
        "can": {"preview": allowed(caller, "test_mapping"),
                "save": allowed(caller, "update_data_flow")},
    }


async def workflow_builder(services: Services, caller: Caller) -> dict[str, Any]:
    connected, provider_rows = await asyncio.gather(
        integrations.list_integrations(services, caller),
        providers.list_providers(services, caller))
    events = {p.name: p.webhook_events for p in provider_rows}
    return {
        "integrations": [{"id": str(i.id), "name": i.name, "provider": i.provider,
                          "events": events.get(i.provider, [])} for i in connected],
        "triggers": ["webhook", "schedule", "condition", "manual"],
        "operators": editor_options.condition_operators(),
        "actions": workflows.list_actions(),
        "can": {"save": allowed(caller, "create_workflow")},
    }

