"""The REST app: thin routers over the operations in tools/."""

from __future__ import annotations

from fastapi import FastAPI

from tools.context import Services
from tools.webhooks import MAX_BODY as MAX_WEBHOOK_BODY
from ui import slack
from ui.api import errors
from ui.api.limits import BodyLimit
from ui.api.metrics import RequestTimer
from ui.api.metrics import router as metrics_router
from ui.api.nul import RefuseNul
from ui.api.routes import (
    accounts,
    agent_policy,
    ask,
    audit,
    conflicts,
    data_flows,
    health,
    insights,
    integrations,
    knowledge,
    monitoring,
    providers,
    records,
    recovery,
    syncs,
    webhooks,
    workflows,
)
from ui.mcp.http import mount_mcp


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="Connectus",
        version="0.1.0",
        description="Integration management: providers, integrations, data flows, workflows, "
                    "health and insights. Authenticate with `Authorization: Bearer <API key>`.",
    )
    app.state.services = services
    errors.install(app)
    app.add_middleware(RefuseNul)
    # added last, so outermost: nothing reads a body before it is bounded
    app.add_middleware(BodyLimit, limit=services.settings.max_body_bytes,
                       by_prefix={"/integrations/webhooks/": MAX_WEBHOOK_BODY})
    app.add_middleware(RequestTimer)  # outermost: a refused body is a request too
    app.include_router(health.router)
    app.include_router(metrics_router)
    app.include_router(accounts.router)
    app.include_router(audit.router)
    app.include_router(agent_policy.router)  # before insights, as knowledge is
    # before the insight routes: /integrations/connectus/search/ is not an insight's id
    app.include_router(knowledge.router)
    app.include_router(providers.router)
    app.include_router(monitoring.router)  # before integrations: /integrations/health_summary/
    app.include_router(integrations.router)
    app.include_router(data_flows.router)
    app.include_router(records.router)
    app.include_router(conflicts.router)
    app.include_router(syncs.router)
    app.include_router(recovery.router)
    app.include_router(workflows.router)
    app.include_router(webhooks.router)
    app.include_router(ask.router)
    app.include_router(insights.router)
    mount_mcp(app, services)  # /mcp: the agent's tools for other agents, same keys
    slack.mount(app, services)  # the Slack bot's events and button presses
    return app
