"""The chat elements' Python side against the demo tenant: props carry the figures the
store holds, buttons run the same tools and confirmations as a typed request, a viewer's
writes are refused, and an API key typed into the provider form is never echoed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

import agent
from store.accounts import Caller, create_user
from store.models import (
    AgentConfirmation,
    DataFlow,
    HealthLog,
    Integration,
    Role,
    SyncRun,
    WorkflowAutomation,
)
from tools.context import Services
from tools.demo import seed_demo, seed_sandbox_integrations
from tools.demo_history import seed_demo_history
from ui.chat.elements import actions, props, tables, wanted

SECRET = "0123456789abcdef0123456789abcdef-us21"  # a Mailchimp key's shape, datacenter us21


@pytest.fixture
async def owner(services: Services, sandbox: Any) -> Caller:
    demo = await seed_demo(services)
    await seed_sandbox_integrations(services, demo, sandbox.url)
    await seed_demo_history(services, demo.tenant.id, demo.owner.id)
    return Caller(tenant_id=demo.tenant.id, user_id=demo.owner.id, role=demo.owner.role,
                  email=demo.owner.email)


async def _viewer(services: Services, owner: Caller) -> Caller:
    async with services.db.transaction(None) as session:
        user = await create_user(session, owner.tenant_id, "viewer@demo.example", Role.viewer)
    return Caller(tenant_id=owner.tenant_id, user_id=user.id, role=Role.viewer,
                  email=user.email)


async def _count(services: Services, caller: Caller, model: Any) -> int:
    async with services.db.session(caller.tenant_id) as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize(("said", "element"), [
    ("show my dashboard", "Dashboard"), ("Dashboard", "Dashboard"),
    ("add an integration", "ProviderBrowser"), ("build a workflow", "WorkflowBuilder"),
    ("edit the mapping of Contacts", "FieldMapping"),
    ("How healthy are my integrations?", None), ("Sync HubSpot now", None)])
def test_a_message_asks_for_an_element_or_for_the_agent(said: str, element: str | None) -> None:
    assert wanted(said) == element


async def test_dashboard_props_carry_the_stored_figures(services: Services,
                                                        owner: Caller) -> None:
    shown = await props.dashboard(services, owner)
    async with services.db.session(owner.tenant_id) as session:
        stored = {i.name: (i.health_score, i.api_calls_today)
                  for i in await session.scalars(select(Integration))}
        open_logs = await session.scalar(select(func.count()).select_from(HealthLog)
                                         .where(HealthLog.resolved_at.is_(None)))
        week = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - \
            timedelta(days=6)
        failed = await session.scalar(select(func.count()).select_from(SyncRun).where(
            SyncRun.status == "failed", SyncRun.finished_at >= week))
        flows = await session.scalar(select(func.count()).select_from(DataFlow))
    assert len(shown["integrations"]) == len(stored) == 7
    assert {c["name"]: (c["health_score"], c["api_calls_today"])
            for c in shown["integrations"]} == stored
    assert sum(shown["summary"]["open_logs"].values()) == open_logs
    assert sum(day["failed_syncs"] for day in shown["history"]) == failed > 0
    assert len(shown["history"]) == 7 and len(shown["data_flows"]) == flows
    salesforce = next(c for c in shown["integrations"] if c["provider"] == "salesforce")
    assert salesforce["api_calls_limit"] > 0 and salesforce["usage_fraction"] == round(
        salesforce["api_calls_today"] / salesforce["api_calls_limit"], 4)
    assert shown["can"] == {"test": True, "sync": True, "resolve": True}
    table = tables.dashboard(shown)
    assert f"Overall health {shown['summary']['overall_score']}/100" in table
    assert all(name in table for name in stored)


async def test_a_viewer_sees_the_dashboard_but_its_writes_are_refused(
        services: Services, owner: Caller) -> None:
    viewer = await _viewer(services, owner)
    shown = await props.dashboard(services, viewer)
    assert shown["can"] == {"test": False, "sync": False, "resolve": False}
    hubspot = next(c for c in shown["integrations"] if c["provider"] == "hubspot")
    log = next(entry for entry in shown["logs"] if not entry["resolved"])

    synced = await actions.run_action(services, viewer, None, "sync_now",
                                      {"integration_id": hubspot["id"]})
    resolved = await actions.run_action(services, viewer, None, "resolve_log",
                                        {"log_id": log["id"], "note": "looked at it"})
    assert synced.data["ok"] is False and synced.data["error"]["code"] == "forbidden"
    assert "viewer" in synced.data["error"]["message"] and synced.pending is None
    assert resolved.data["ok"] is False and resolved.data["error"]["code"] == "forbidden"
    assert await _count(services, owner, AgentConfirmation) == 0
    async with services.db.session(owner.tenant_id) as session:
        row = await session.get(HealthLog, uuid.UUID(log["id"]))
    assert row is not None and row.resolved_at is None


async def test_sync_now_waits_for_the_confirmation_card_then_runs(
        services: Services, owner: Caller) -> None:
    shown = await props.dashboard(services, owner)
    hubspot = next(c for c in shown["integrations"] if c["provider"] == "hubspot")
    runs_before = await _count(services, owner, SyncRun)

    reply = await actions.run_action(services, owner, "chat-1", "sync_now",
                                     {"integration_id": hubspot["id"]})
    assert reply.data == {"ok": True, "pending": True}
    assert reply.pending is not None and reply.pending["tool"] == "sync_now"
    assert hubspot["name"] in reply.pending["preview"]["summary"]
    assert await _count(services, owner, SyncRun) == runs_before  # nothing ran yet

    answer = await agent.confirm(services, owner, uuid.UUID(reply.pending["id"]))
    async with services.db.session(owner.tenant_id) as session:
        row = await session.get(AgentConfirmation, uuid.UUID(reply.pending["id"]))
    assert row is not None and row.status == "done" and answer.thread_id == "chat-1"
    assert await _count(services, owner, SyncRun) > runs_before


async def test_resolving_a_log_from_the_dashboard_updates_its_props(
        services: Services, owner: Caller) -> None:
    shown = await props.dashboard(services, owner)
    log = next(entry for entry in shown["logs"] if not entry["resolved"])
    reply = await actions.run_action(services, owner, None, "resolve_log",
                                     {"log_id": log["id"], "note": "rotated the token"})
    again = next(e for e in reply.data["props"]["logs"] if e["id"] == log["id"])
    assert again["resolved"] and again["resolution"] == "rotated the token"
    twice = await actions.run_action(services, owner, None, "resolve_log",
                                     {"log_id": log["id"], "note": "again"})
    assert twice.data["ok"] is False and twice.data["error"]["code"] == "conflict"


async def test_an_api_key_from_the_provider_form_is_stored_and_never_echoed(
        services: Services, owner: Caller) -> None:
    browser = await props.provider_browser(services, owner)
    names = [p["name"] for c in browser["categories"] for p in c["providers"]]
    assert sorted(names) == sorted(["hubspot", "salesforce", "mailchimp", "slack",
                                    "google_ads", "facebook_ads", "zapier"])
    mailchimp = next(p for c in browser["categories"] for p in c["providers"]
                     if p["name"] == "mailchimp")
    assert mailchimp["fields"] == [{"name": "api_key", "secret": True}]

    refused = await actions.run_action(services, owner, "chat-2", "add_provider", {
        "provider": "mailchimp", "name": "Newsletter", "credentials": {"api_key": "nodc"}})
    assert refused.data["error"]["field"] == "credentials.api_key"
    added = await actions.run_action(services, owner, "chat-2", "add_provider", {
        "provider": "mailchimp", "name": "Newsletter", "credentials": {"api_key": SECRET}})
    assert added.data["ok"] is True and added.data["integration"]["status"] == "pending"
    assert added.data["integration"]["credential_hint"].startswith("api_key: ")

    shown = [added.data, added.text, added.steps, refused.data,
             await props.dashboard(services, owner),
             await props.provider_browser(services, owner)]
    shown.append(tables.dashboard(shown[4]))
    assert SECRET not in json.dumps(shown, default=str)
    assert SECRET[:12] not in json.dumps(shown, default=str)
    async with services.db.session(owner.tenant_id) as session:
        row = await session.scalar(select(Integration).where(Integration.name == "Newsletter"))
        stored_text = await session.scalar(text(
            "select string_agg(t::text, '') from (select * from audit_logs) t"))
        confirmations = await session.scalar(select(func.count()).select_from(
            AgentConfirmation))
    assert row is not None and services.vault.decrypt(row.auth_credentials)["api_key"] == SECRET
    assert SECRET not in (stored_text or "") and confirmations == 0


async def test_the_mapping_preview_uses_the_unsaved_edit_and_saving_asks_first(
        services: Services, owner: Caller) -> None:
    async with services.db.session(owner.tenant_id) as session:
        flow = await session.scalar(select(DataFlow).join(
            Integration, Integration.id == DataFlow.integration_id).where(
            DataFlow.stream == "contacts", DataFlow.direction == "inbound").limit(1))
    assert flow is not None
    shown = await props.field_mapping(services, owner, flow.id)
    assert [r["source"] for r in shown["rows"]] == flow.source_fields
    assert "case" in {r["rule"] for r in shown["rule_options"]}
    rows = [{"source": "email", "target": "email", "rules": [{"rule": "case", "to": "upper"}]}]

    reply = await actions.run_action(services, owner, "chat-3", "preview_mapping",
                                     {"flow_id": str(flow.id), "rows": rows})
    preview = reply.data["preview"]
    assert preview["source"] == "live" and preview["records"]
    for sample in preview["records"]:
        email = sample["before"].get("properties", sample["before"]).get("email")
        assert sample["after"] == {"email": email.upper()}

    bad = await actions.run_action(services, owner, "chat-3", "preview_mapping", {
        "flow_id": str(flow.id), "rows": [{**rows[0], "rules": [{"rule": "no_such"}]}]})
    assert bad.data["ok"] is False and "no_such" in bad.data["error"]["message"]

    saved = await actions.run_action(services, owner, "chat-3", "save_mapping",
                                     {"flow_id": str(flow.id), "rows": rows})
    assert saved.pending is not None and saved.pending["tool"] == "update_data_flow"
    async with services.db.session(owner.tenant_id) as session:
        unchanged = await session.get(DataFlow, flow.id)
    assert unchanged is not None and unchanged.source_fields == flow.source_fields


async def test_a_workflow_built_in_the_form_is_checked_then_created_on_confirmation(
        services: Services, owner: Caller) -> None:
    shown = await props.workflow_builder(services, owner)
    assert {a["type"] for a in shown["actions"]} >= {"create_contact", "send_notification"}
    hubspot = next(i for i in shown["integrations"] if i["provider"] == "hubspot")
    assert "contact.creation" in hubspot["events"] and "contains" in shown["operators"]
    draft = {"integration": hubspot["id"], "name": "New Lead Alert", "trigger_type": "webhook",
             "trigger_config": {"event": "contact.creation"},
             "conditions": {"all": [{"field": "record.properties.email", "op": "contains",
                                     "value": "@"}]},
             "actions": [{"type": "create_contact", "target": "digisol_crm"},
                         {"type": "send_notification", "channel": "slack"}]}
    wrong = await actions.run_action(services, owner, "chat-4", "check_workflow", {
        **draft, "actions": [{"type": "send_fax"}]})
    assert wrong.data["ok"] is False and wrong.data["error"]["field"].startswith("actions[0]")
    checked = await actions.run_action(services, owner, "chat-4", "check_workflow", draft)
    assert checked.data["ok"] is True and checked.data["valid"] is True
    assert await _count(services, owner, WorkflowAutomation) == 0  # a check saves nothing

    saved = await actions.run_action(services, owner, "chat-4", "save_workflow", draft)
    assert saved.pending is not None and saved.pending["tool"] == "create_workflow"
    assert await _count(services, owner, WorkflowAutomation) == 0
    await agent.confirm(services, owner, uuid.UUID(saved.pending["id"]))
    listed = await props.dashboard(services, owner)
    [workflow] = [w for w in listed["workflows"] if w["name"] == "New Lead Alert"]
    async with services.db.session(owner.tenant_id) as session:
        row = await session.get(WorkflowAutomation, uuid.UUID(workflow["id"]))
    assert row is not None and row.conditions["all"][0]["op"] == "contains"
    assert [a["type"] for a in row.actions] == ["create_contact", "send_notification"]


async def test_rest_test_mapping_takes_an_unsaved_mapping_and_names_a_bad_one(
        services: Services, tenant: tuple[Caller, str], sandbox: Any,
        api: Any) -> None:
    from tests.agent.conftest import hubspot_with_flow

    caller, key = tenant
    _, flow_id = await hubspot_with_flow(services, caller, sandbox.url)
    url = f"/integrations/data-flows/{flow_id}/test_mapping/"
    auth = {"Authorization": f"Bearer {key}"}
    draft = {"source_fields": ["email"], "target_fields": ["email"],
             "transformation_rules": {"email": [{"rule": "case", "to": "upper"}]}}
    records = [{"properties": {"email": "ada@example.com"}}]
    good = await api.post(url, headers=auth, json={"records": records, "mapping": draft})
    assert good.status_code == 200
    assert good.json()["records"][0]["after"] == {"email": "ADA@EXAMPLE.COM"}
    for wrong in ({"source_fields": "email"}, {"transformation_rules": {"email": "upper"}},
                  {"source_fields": ["email"], "target_fields": ["email"],
                   "transformation_rules": {"email": [{"rule": "case", "to": "sideways"}]}}):
        bad = await api.post(url, headers=auth, json={"records": records, "mapping": wrong})
        assert bad.status_code == 422, (wrong, bad.text)
