"""The demo tenant's past: a week of syncs (some failed, with their causes), health logs
(some resolved, with who and how), API usage by hour and webhook deliveries, so the
health scores `make run` shows differ and mean something:

    HubSpot       healthy: daily syncs all fine, usage far below its limit
    Salesforce    near its limit: the org's own count (Sforce-Limit-Info) at 88% and a
                  pace that runs out before the reset; two syncs refused today
    Google Ads    mutates cost per operation; one sync hit the short-term quota
    Facebook Ads  the long-lived token expires in two days and cannot be renewed
    Mailchimp     the subscribers flow has not run for three days
    Slack         healthy, webhooks every half hour
    Zapier        webhook deliveries came hourly and stopped nine hours ago

Deterministic for a given hour (fixed per-provider seeds, times counted back from the
current hour) and idempotent: what an earlier seeding wrote (marked ``demo_history``) is
replaced, not added to. The score of each past day is worked out as of that day, for the
health chart. Insights are not written here: the insight jobs draw them from
this history. A few hundred rows in a handful of statements: it runs on every start.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from jobs.health.refresh import refresh_health
from store.models import (
    ApiUsage,
    DataFlow,
    HealthLog,
    Integration,
    IntegrationProvider,
    SyncRun,
    WebhookEvent,
)
from store.queries import decrypt_credentials
from tools.context import Services

MARK = "demo_history"
DAYS = 7
OK = "succeeded"
REQUEST_LIMIT = ("Salesforce refused the call (REQUEST_LIMIT_EXCEEDED): TotalRequests Limit "
                 "exceeded; the sync resumes once the org's rolling 24-hour allocation frees up")


@dataclass(frozen=True)
class Plan:
    flow: str
    stream: str
    fields: tuple[tuple[str, str], ...]
    calls_per_hour: int  # the usual pace; each hour varies around it
    operations_per_call: int = 1
    # (hours ago, status, error): the runs; every other day's run at its hour succeeds
    runs: tuple[tuple[int, str, str | None], ...] = ()
    daily_runs_from: int = 26  # earlier daily runs, all fine, from this many hours back
    quiet_after: int | None = None  # hours ago the flow (and its usage) stopped


PLANS: dict[str, Plan] = {
    "hubspot": Plan("HubSpot contacts to CRM", "contacts",
                    (("email", "email"), ("firstname", "first_name"), ("lastname", "last_name")),
                    800, runs=((2, OK, None), (50, "failed", "HubSpot answered 502 Bad Gateway "
                                               "five times in a row; the run was retried"))),
    "salesforce": Plan("Salesforce leads", "leads",
                       (("Email", "email"), ("Company", "company")), 3_700,
                       runs=((3, OK, None), (8, OK, None), (9, "failed", REQUEST_LIMIT),
                             (20, "failed", REQUEST_LIMIT))),
    "google_ads": Plan("Google Ads campaigns", "campaigns", (("name", "name"),), 150,
                       operations_per_call=2,
                       runs=((4, OK, None), (5, "failed", "Google Ads quotaError."
                             "RESOURCE_TEMPORARILY_EXHAUSTED: too many requests in a short "
                             "time; retry in 30s"))),
    "facebook_ads": Plan("Facebook campaign insights", "insights", (("spend", "spend"),), 120,
                         runs=((6, OK, None),)),
    "mailchimp": Plan("Mailchimp subscribers", "members",
                      (("email_address", "email"), ("status", "status")), 40,
                      runs=((74, OK, None),), daily_runs_from=98, quiet_after=74),
    "slack": Plan("Slack channels", "channels", (("name", "name"),), 60,
                  runs=((1, OK, None),)),
    "zapier": Plan("Zapier zaps", "zaps", (("title", "title"),), 20, runs=((7, OK, None),)),
}
# (provider, hours ago, severity, category, message, resolution or None)
LOGS: tuple[tuple[str, int, str, str, str, str | None], ...] = (
    ("salesforce", 9, "error", "rate_limited", REQUEST_LIMIT, None),
    ("salesforce", 20, "error", "rate_limited", REQUEST_LIMIT, None),
    ("salesforce", 2, "warning", "rate_limited", "Salesforce reports 12% of the org's daily "
     "API allocation left; bulk syncs wait so chat and workflows keep working", None),
    ("google_ads", 5, "warning", "rate_limited", "Google Ads quotaError."
     "RESOURCE_TEMPORARILY_EXHAUSTED: retry in 30s", None),
    ("facebook_ads", 3, "warning", "auth", "The Facebook long-lived access token expires in "
     "2 days and Facebook issues no refresh tokens; re-authorise the integration", None),
    ("hubspot", 50, "error", "provider_down", "HubSpot answered 502 Bad Gateway", "HubSpot "
     "status page reported a CRM API incident; the retried run caught up"),
    ("mailchimp", 80, "warning", "provider_down", "Mailchimp answered 503 Service "
     "Unavailable", "Transient; the next run succeeded"),
    ("zapier", 30, "info", "webhook", "Zapier delivered a test hook with no data", None),
)
WEBHOOKS = {"slack": (0.5, 72, 0), "zapier": (1.0, 72, 9)}  # every h, for h, stopped h ago


async def seed_demo_history(services: Services, tenant_id: uuid.UUID,
                            resolver: uuid.UUID | None = None,
                            now: datetime | None = None) -> dict[str, int]:
    """Replace the demo history of the tenant's sandbox integrations; ``resolver`` is
    who resolved the resolved logs. Returns what was written, by kind."""
    now = now or datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    counts = {"sync_runs": 0, "health_logs": 0, "usage_hours": 0, "webhook_events": 0}
    async with services.db.transaction(tenant_id) as session:
        integrations = {provider: row for row, provider in (await session.execute(
            select(Integration, IntegrationProvider.name)
            .join(IntegrationProvider, IntegrationProvider.id == Integration.provider_id)
            .where(Integration.name.like("% (sandbox)")))).all()}
        ids = [row.id for row in integrations.values()]
        await _forget(session, ids)
        usage: list[dict[str, Any]] = []
        runs: list[dict[str, Any]] = []
        for provider, row in integrations.items():
            plan = PLANS.get(provider)
            if plan is None:
                continue
            flow = await _flow(session, row, plan)
            planned = _runs(plan, hour)
            runs += [{"id": uuid.uuid4(), "tenant_id": tenant_id, "data_flow_id": flow.id, **run}
                     for run in planned]
            flow.last_run_at = max((r["finished_at"] for r in planned), default=None)
            usage += _usage(tenant_id, row.id, provider, plan, hour, now)
            if row.status == "pending":  # as if connected a while ago
                row.status = "active"
            if provider == "facebook_ads":  # a long-lived token, two days from its end
                row.auth_credentials = services.vault.encrypt({
                    **decrypt_credentials(services.vault, row),
                    "expires_at": int((now + timedelta(days=2)).timestamp())})
            if provider == "salesforce":
                day = sum(u["operations"] for u in usage if u["integration_id"] == row.id
                          and u["hour"] > hour - timedelta(hours=24))
                row.usage_reported = {"used": day, "limit": 100_000, "at": now.isoformat()}
        if usage:  # executemany: one statement compiled once, not a thousand VALUES
            statement = insert(ApiUsage)
            await session.execute(statement.on_conflict_do_update(
                index_elements=["tenant_id", "integration_id", "hour"],
                set_={c: statement.excluded[c]
                      for c in ("calls", "errors", "rate_limited", "operations")}), usage)
            counts["usage_hours"] = len(usage)
        if runs:  # one statement per table: this runs on every start
            await session.execute(insert(SyncRun), runs)
        counts["sync_runs"] = len(runs)
        counts["health_logs"] = _logs(session, integrations, resolver, now)
        events = _webhooks(tenant_id, integrations, now)
        if events:
            await session.execute(insert(WebhookEvent), events)
        counts["webhook_events"] = len(events)
    # the score as it stood on each past day, for the health chart; a day that already
    # has scores from real refreshes keeps its own latest (the later moment wins)
    for back in range(DAYS - 1, 0, -1):
        await refresh_health(services.db, services.vault, tenant_id, ids or None,
                             now=now - timedelta(days=back))
    await refresh_health(services.db, services.vault, tenant_id, ids or None, now=now)
    return counts


async def _forget(session: Any, ids: list[uuid.UUID]) -> None:
    """What an earlier seeding wrote; usage rows are overwritten in place instead."""
    flows = select(DataFlow.id).where(DataFlow.integration_id.in_(ids))
    await session.execute(delete(SyncRun).where(
        SyncRun.data_flow_id.in_(flows), SyncRun.summary[MARK].as_boolean().is_(True)))
    await session.execute(delete(HealthLog).where(
        HealthLog.integration_id.in_(ids), HealthLog.details[MARK].as_boolean().is_(True)))
    await session.execute(delete(WebhookEvent).where(
        WebhookEvent.integration_id.in_(ids), WebhookEvent.provider_event_id.like("demo-%")))


async def _flow(session: Any, row: Integration, plan: Plan) -> DataFlow:
    """The flow, made once; it is not scheduled (``next_run_at`` None) so the demo never
    calls a provider by itself: "sync now" runs it against the sandbox."""
    found: DataFlow | None = await session.scalar(
        select(DataFlow).where(DataFlow.name == plan.flow))
    if found is None:
        found = DataFlow(integration_id=row.id, name=plan.flow, direction="inbound",
                         stream=plan.stream, sync_frequency="daily",
                         source_fields=[s for s, _ in plan.fields],
                         target_fields=[t for _, t in plan.fields])
        session.add(found)
        await session.flush()
    return found


def _runs(plan: Plan, hour: datetime) -> list[dict[str, Any]]:
    rng = random.Random(plan.flow)
    told = {ago for ago, _, _ in plan.runs}
    daily = [(ago, OK, None) for ago in range(plan.daily_runs_from, DAYS * 24, 24)
             if ago not in told]
    runs = []
    for ago, status, error in (*plan.runs, *daily):
        started = hour - timedelta(hours=ago) + timedelta(minutes=rng.randrange(2, 20))
        read = 0 if status == "failed" else rng.randrange(40, 400)
        runs.append({
            "status": status, "trigger": "schedule", "started_at": started,
            "finished_at": started + timedelta(seconds=rng.randrange(20, 300)),
            "records_read": read, "records_written": read - read // 10,
            "records_unchanged": read // 10, "error": error,
            "summary": {MARK: True, **({"failure": "transient"} if error else {})}})
    return runs


def _usage(tenant_id: uuid.UUID, integration_id: uuid.UUID, provider: str, plan: Plan,
           hour: datetime, now: datetime) -> list[dict[str, Any]]:
    rng = random.Random(provider)
    rows = []
    for ago in range(DAYS * 24, -1, -1):
        at = hour - timedelta(hours=ago)
        pace = plan.calls_per_hour if plan.quiet_after is None or ago > plan.quiet_after \
            else plan.calls_per_hour // 8
        calls = int(pace * rng.uniform(0.85, 1.15))
        if ago == 0:  # the current hour so far
            calls = int(calls * (now - hour).total_seconds() / 3600)
        limited = calls // 200 if provider == "salesforce" else 0
        rows.append({"id": uuid.uuid4(), "tenant_id": tenant_id, "integration_id": integration_id,
                     "hour": at, "calls": calls, "operations": calls * plan.operations_per_call,
                     "errors": limited + (1 if rng.random() < 0.1 else 0),
                     "rate_limited": limited})
    return rows


def _logs(session: Any, integrations: dict[str, Integration], resolver: uuid.UUID | None,
          now: datetime) -> int:
    written = 0
    for provider, ago, severity, category, message, resolution in LOGS:
        if provider not in integrations:
            continue
        at = now - timedelta(hours=ago)
        session.add(HealthLog(
            integration_id=integrations[provider].id, severity=severity, category=category,
            message=message, details={MARK: True}, created_at=at, resolution=resolution,
            resolved_at=at + timedelta(hours=3) if resolution else None,
            resolved_by=resolver if resolution else None))
        written += 1
    return written


def _webhooks(tenant_id: uuid.UUID, integrations: dict[str, Integration],
              now: datetime) -> list[dict[str, Any]]:
    events = []
    for provider, (every, span, stopped) in WEBHOOKS.items():
        if provider not in integrations:
            continue
        for step in range(int((span - stopped) / every)):
            at = now - timedelta(hours=stopped + step * every)
            events.append({
                "id": uuid.uuid4(), "tenant_id": tenant_id,
                "integration_id": integrations[provider].id, "received_at": at,
                "provider_event_id": f"demo-{provider}-{int(at.timestamp())}",
                "event_type": "message" if provider == "slack" else "zap.triggered",
                "payload": {MARK: True}, "processed_at": at, "workflows_dispatched_at": at})
    return events
