"""The agent's monitoring tools answer from the database: the demo tenant's real scores,
its logs by severity (their ids as the answer's sources) and its usage."""

from __future__ import annotations

from sqlalchemy import select

import agent
from store.accounts import Caller
from store.models import HealthLog, Integration
from tests.agent.scripted import ScriptedModel, call, say
from tools.context import Services
from tools.demo import seed_demo, seed_sandbox_integrations
from tools.demo_history import seed_demo_history


async def test_health_logs_usage_and_summary_come_from_the_store(services: Services) -> None:
    demo = await seed_demo(services)
    await seed_sandbox_integrations(services, demo, "http://127.0.0.1:9")
    await seed_demo_history(services, demo.tenant.id, demo.owner.id)
    caller = Caller(tenant_id=demo.tenant.id, user_id=demo.owner.id, role=demo.owner.role,
                    email=demo.owner.email)
    model = ScriptedModel(script=[
        call("health_summary"), call("health_logs", severity="error"),
        call("api_usage", integration="salesforce"), say("done")])
    answer = await agent.ask(services, caller, "how are things?", model=model)
    summary, logs, usage = (c["result"] for c in answer.tool_calls)

    async with services.db.session(demo.tenant.id) as session:
        stored = {i.name: i.health_score for i in await session.scalars(select(Integration))}
        errors = set((await session.scalars(
            select(HealthLog.id).where(HealthLog.severity == "error"))).all())
    assert {s["integration"]: s["health_score"] for s in summary["scores"]} == stored
    assert logs["health_logs"] and {log["severity"] for log in logs["health_logs"]} == {"error"}
    assert {str(i) for i in errors} >= set(answer.sources) >= {
        log["id"] for log in logs["health_logs"]}
    [salesforce] = usage
    assert salesforce["provider"] == "salesforce" and salesforce["api_calls_today"] > 0


async def test_search_knowledge_finds_a_log_by_meaning_and_names_it_as_a_source(
        services: Services) -> None:
    from jobs.embedding.backfill import embed_pending
    from jobs.embedding.embedders import LocalE5
    from tests.conftest import make_tenant

    caller, _ = await make_tenant(services, "search")
    async with services.db.transaction(caller.tenant_id) as session:
        throttled = HealthLog(severity="warning", category="rate_limited",
                              message="HubSpot answered 429 Too Many Requests; retrying")
        session.add_all([throttled, HealthLog(severity="info", category="sync",
                                              message="Mailchimp sync finished: 40 read")])
    await embed_pending(services.db, LocalE5())
    model = ScriptedModel(script=[call("search_knowledge", query="are we being throttled?"),
                                  say("done")])
    answer = await agent.ask(services, caller, "are we being throttled?", model=model)
    [searched] = answer.tool_calls
    assert searched["result"]["results"][0]["id"] == str(throttled.id)
    assert answer.sources[0] == str(throttled.id)
