"""A tenant with HubSpot and Slack integrations on the sandbox, the brief's New Lead Alert,
signed HubSpot deliveries, and a burst worker that runs what is queued."""

from __future__ import annotations

import importlib
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from connectors.registry import connector_spec
from connectors.sandbox.slack.data import channel_id
from store.models import CrmContact, WorkflowAutomation, WorkflowRun
from tests.conftest import make_tenant
from tests.queued_jobs import run_queued_jobs
from tools.context import Caller, Services

NEW_LEAD_ALERT = {"name": "New Lead Alert", "trigger_type": "webhook",
                  "trigger_config": {"event": "contact.creation"},
                  "actions": [{"type": "create_contact", "target": "digisol_crm"},
                              {"type": "send_notification", "channel": "slack"}]}
CONTACT_ID = "1001"  # the sandbox's first contact


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Tenant:
    services: Services
    api: httpx.AsyncClient
    sandbox: Any
    caller: Caller
    key: str
    integrations: dict[str, str]  # provider -> id

    def hook_url(self, provider: str = "hubspot") -> str:
        return f"http://connectus.test/integrations/webhooks/{self.integrations[provider]}/"

    async def connect(self, provider: str, name: str | None = None,
                      **settings: Any) -> str:
        demo = connector_spec(provider).sandbox_demo
        credentials = {k: v.format(sandbox_url=self.sandbox.url) if isinstance(v, str) else v
                       for k, v in demo["credentials"].items()}
        created = await self.api.post("/integrations/integrations/", headers=auth(self.key),
                                      json={"provider": provider, "name": name or provider,
                                            "credentials": credentials, "settings": {
                                                **demo["settings"], **settings,
                                                "sandbox_url": self.sandbox.url}})
        assert created.status_code == 201, created.text
        self.integrations.setdefault(provider, created.json()["id"])
        return str(created.json()["id"])

    async def workflow(self, body: dict[str, Any] | None = None, **over: Any) -> dict[str, Any]:
        made = await self.api.post("/integrations/workflows/", headers=auth(self.key), json={
            "integration": self.integrations["hubspot"], **(body or NEW_LEAD_ALERT), **over})
        assert made.status_code == 201, made.text
        return made.json()

    async def deliver(self, *events: dict[str, Any], provider: str = "hubspot",
                      headers: dict[str, str] | None = None) -> httpx.Response:
        simulator = importlib.import_module(f"connectors.sandbox.{provider}")
        signed, body = simulator.webhook_delivery(self.sandbox.sandboxes[provider],
                                                  self.hook_url(provider), list(events))
        return await self.api.post(self.hook_url(provider), headers={**signed, **(headers or {})},
                                   content=body)

    async def work(self, **ctx: Any) -> None:
        """Run every queued job (and any it defers) to the end, as a worker would."""
        await run_queued_jobs(self.services, self.services.settings.redis_url or "",
                              workflow_retry_base_s=0.05, **ctx)

    async def runs(self) -> list[WorkflowRun]:
        async with self.services.db.session(self.caller.tenant_id) as session:
            return list((await session.scalars(
                select(WorkflowRun).order_by(WorkflowRun.started_at))).all())

    async def contacts(self) -> list[CrmContact]:
        async with self.services.db.session(self.caller.tenant_id) as session:
            return list((await session.scalars(select(CrmContact))).all())

    async def counts(self, workflow_id: str) -> tuple[int, int]:
        async with self.services.db.session(self.caller.tenant_id) as session:
            row = await session.get(WorkflowAutomation, uuid.UUID(workflow_id))
        assert row is not None
        return row.execution_count, row.success_count

    def slack_messages(self) -> list[dict[str, Any]]:
        """The messages the Slack simulator stored (not calls it refused), oldest first."""
        try:
            ds = self.sandbox.sandboxes["slack"].current_dataset
        except LookupError:
            return []
        found = [{**message, "channel": channel_id(int(name.split(":")[1]))}
                 for name, messages in ds.overlay.items() if name.startswith("messages:")
                 for message in messages.values()]
        return sorted(found, key=lambda m: m["ts"])

    def hubspot_contact(self, contact_id: str = CONTACT_ID) -> dict[str, Any]:
        response = httpx.get(f"{self.sandbox.url}/hubspot/crm/v3/objects/contacts/{contact_id}",
                             headers={"Authorization": "Bearer sandbox"})
        assert response.status_code == 200, response.text
        return response.json()["properties"]


async def new_tenant(services: Services, api: httpx.AsyncClient, sandbox: Any,
                     slug: str = "acme") -> Tenant:
    caller, key = await make_tenant(services, slug)
    tenant = Tenant(services, api, sandbox, caller, key, {})
    await tenant.connect("hubspot")
    await tenant.connect("slack", default_channel="#general")
    return tenant


def creation(object_id: str = CONTACT_ID, **extra: Any) -> dict[str, Any]:
    return {"subscriptionType": "contact.creation", "objectId": int(object_id), **extra}
