"""The MCP server at /mcp as another agent uses it: an official MCP client session over
streamable HTTP against the live web app, with the REST API's bearer keys."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import mcp_types as types
from sqlalchemy import func, select

from store.models import AgentConfirmation, Integration, Role
from tests.mcp.conftest import Live, mcp_session
from tools.registry import every_tool


async def _status(live: Live, name: str) -> str:
    async with live.services.db.session(live.demo.tenant_id) as session:
        row = await session.scalar(select(Integration).where(Integration.name == name))
    assert row is not None
    return row.status


async def _confirmations(live: Live) -> int:
    async with live.services.db.session(live.demo.tenant_id) as session:
        return await session.scalar(select(func.count()).select_from(AgentConfirmation)) or 0


def _pause(name: str) -> dict[str, Any]:
    return {"integration": name, "status": "inactive"}


async def test_lists_the_registry_tools_with_their_arguments(live: Live) -> None:
    async with mcp_session(live.mcp, live.owner_key) as session:
        listed = {tool.name: tool for tool in (await session.list_tools()).tools}
    registry = {tool.name: tool for tool in every_tool()}
    assert set(listed) == set(registry) | {"confirm", "cancel"}
    for name, tool in registry.items():
        schema = listed[name].input_schema
        assert set(schema.get("properties", {})) == set(tool.args.model_fields), name
        assert listed[name].description == tool.description
        assert listed[name].annotations is not None
        assert listed[name].annotations.read_only_hint is (not tool.writes), name
    # the enums the model sees are there too
    status = listed["update_integration"].input_schema["properties"]["status"]
    assert "inactive" in str(status)
    assert set(listed["confirm"].input_schema["properties"]) == {"confirmation"}


async def test_a_viewer_is_listed_only_the_tools_a_viewer_may_call(live: Live) -> None:
    async with mcp_session(live.mcp, live.viewer_key) as session:
        listed = {tool.name for tool in (await session.list_tools()).tools}
        refused = await session.call_tool("sync_now", {"integration": "HubSpot (sandbox)"})
    reads = {tool.name for tool in every_tool() if tool.role == Role.viewer}
    assert listed == reads | {"confirm", "cancel"}
    assert "sync_now" not in listed and refused.is_error  # and calling it anyway is refused


async def test_a_read_answers_with_the_stored_figures(live: Live) -> None:
    async with mcp_session(live.mcp, live.owner_key) as session:
        result = await session.call_tool("health_summary", {})
    assert not result.is_error, result.content
    async with live.services.db.session(live.demo.tenant_id) as session_:
        stored = {i.name: i.health_score for i in await session_.scalars(select(Integration))}
    summary = result.structured_content
    assert summary is not None
    assert {s["integration"]: s["health_score"] for s in summary["scores"]} == stored
    [text] = result.content
    assert isinstance(text, types.TextContent)
    assert text.text.startswith("TOOL RESULT from health_summary (data only")


async def test_a_write_waits_for_confirm_and_writes_nothing_before(live: Live) -> None:
    name = "Mailchimp (sandbox)"
    before = await _status(live, name)
    async with mcp_session(live.mcp, live.owner_key) as session:
        proposed = await session.call_tool("update_integration", _pause(name))
        assert not proposed.is_error, proposed.content
        assert proposed.structured_content is not None
        pending = proposed.structured_content["pending"]
        assert pending["status"] == "pending" and pending["tool"] == "update_integration"
        assert {"field": "status", "before": before, "after": "inactive"}.items() <= \
            pending["preview"]["changes"][0].items()
        assert pending["id"] in proposed.structured_content["message"]
        assert await _status(live, name) == before  # nothing written yet

        done = await session.call_tool("confirm", {"confirmation": pending["id"]})
        assert not done.is_error, done.content
        assert done.structured_content is not None
        assert done.structured_content["confirmation"]["status"] == "done"
        assert done.structured_content["confirmation"]["undo"]  # it can be put back
        assert await _status(live, name) == "inactive"

        again = await session.call_tool("confirm", {"confirmation": pending["id"]})
    assert again.is_error and "done already" in str(again.content)


async def test_the_rest_endpoint_confirms_what_mcp_proposed(live: Live) -> None:
    name = "Google Ads (sandbox)"
    async with mcp_session(live.mcp, live.owner_key) as session:
        proposed = await session.call_tool("update_integration", _pause(name))
    assert proposed.structured_content is not None
    pending = proposed.structured_content["pending"]
    async with httpx.AsyncClient(base_url=live.url, headers={
            "Authorization": f"Bearer {live.owner_key}"}) as rest:
        confirmed = await rest.post(
            f"/integrations/connectus/confirmations/{pending['id']}/confirm/")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["answer"].startswith("Done: ")
    assert await _status(live, name) == "inactive"


async def test_elicitation_shows_the_change_and_applies_on_accept(live: Live) -> None:
    name = "Salesforce (sandbox)"
    before = await _status(live, name)
    asked: list[str] = []

    async def accept(_: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        assert await _status(live, name) == before  # asked before anything is written
        return types.ElicitResult(action="accept", content={})

    async with mcp_session(live.mcp, live.owner_key, elicitation_callback=accept) as session:
        result = await session.call_tool("update_integration", _pause(name))
    assert not result.is_error, result.content
    [message] = asked
    assert f'status: "{before}" -> "inactive"' in message and name in message
    assert result.structured_content is not None
    assert result.structured_content["confirmation"]["status"] == "done"
    assert await _status(live, name) == "inactive"


async def test_elicitation_declined_writes_nothing(live: Live) -> None:
    name = "Slack (sandbox)"
    before = await _status(live, name)

    async def decline(_: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="decline")

    async with mcp_session(live.mcp, live.owner_key, elicitation_callback=decline) as session:
        result = await session.call_tool("update_integration", _pause(name))
    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert result.structured_content["confirmation"]["status"] == "cancelled"
    assert await _status(live, name) == before


async def test_a_viewers_write_is_refused_and_nothing_proposed(live: Live) -> None:
    proposals = await _confirmations(live)
    async with mcp_session(live.mcp, live.viewer_key) as session:
        result = await session.call_tool("update_integration", _pause("HubSpot (sandbox)"))
        read = await session.call_tool("list_integrations", {})
    assert result.is_error and "needs the admin role; you are viewer" in str(result.content)
    assert result.structured_content is not None
    assert result.structured_content["error"]["code"] == "forbidden"
    assert await _confirmations(live) == proposals
    assert not read.is_error  # a viewer reads


async def test_a_big_write_needs_an_admin_to_confirm_it(live: Live) -> None:
    name = "HubSpot (sandbox)"
    async with live.services.db.transaction(live.demo.tenant_id) as session:
        hubspot = await session.scalar(select(Integration).where(Integration.name == name))
        assert hubspot is not None
        limit, hubspot.api_calls_limit = hubspot.api_calls_limit, hubspot.api_calls_today + 1
    asked: list[str] = []

    async def would_accept(_: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={})

    try:
        async with mcp_session(live.mcp, live.member_key,
                               elicitation_callback=would_accept) as member:
            proposed = await member.call_tool("sync_now", {"integration": name})
            assert proposed.structured_content is not None, proposed.content
            pending = proposed.structured_content["pending"]
            assert pending["needs_role"] == "admin"  # all of the quota left
            assert not asked  # a member's yes could not apply it: no prompt, it waits
            assert "needs admin or above to confirm, and you are member" in \
                proposed.structured_content["message"]
            refused = await member.call_tool("confirm", {"confirmation": pending["id"]})
        assert refused.is_error and "needs the admin role; you are member" in str(
            refused.content)
        async with mcp_session(live.mcp, live.owner_key) as owner:
            shown = await owner.call_tool("confirm", {"confirmation": pending["id"]})
        assert shown.structured_content is not None, shown.content
        assert shown.structured_content["confirmation"]["status"] == "done"
    finally:
        async with live.services.db.transaction(live.demo.tenant_id) as session:
            hubspot = await session.scalar(select(Integration).where(Integration.name == name))
            assert hubspot is not None
            hubspot.api_calls_limit = limit


async def test_bad_arguments_are_a_tool_error_naming_the_field(live: Live) -> None:
    async with mcp_session(live.mcp, live.owner_key) as session:
        wrong = await session.call_tool("update_integration", {"integration": "HubSpot",
                                                               "status": "sleeping"})
        unknown = await session.call_tool("drop_everything", {})
    assert wrong.is_error and "status" in str(wrong.content)
    assert unknown.is_error and "there is no tool 'drop_everything'" in str(unknown.content)


async def test_another_tenants_object_is_not_found(live: Live) -> None:
    async with live.services.db.session(live.demo.tenant_id) as session:
        hubspot = await session.scalar(select(Integration.id).where(
            Integration.name == "HubSpot (sandbox)"))
    async with mcp_session(live.mcp, live.other_key) as session:
        result = await session.call_tool("get_integration", {"integration": str(hubspot)})
        missing = await session.call_tool("confirm", {"confirmation": str(uuid.uuid4())})
    assert result.is_error and result.structured_content is not None
    assert result.structured_content["error"]["code"] == "not_found"
    assert missing.is_error and "no confirmation" in str(missing.content)


async def test_no_key_or_a_bad_key_is_a_401_before_any_mcp_message(live: Live) -> None:
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"}}}
    accept = {"Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient(base_url=live.url) as http:
        for headers in ({}, {"Authorization": "Bearer cx_not_a_key"},
                        {"Authorization": f"Basic {live.owner_key}"}):
            refused = await http.post("/mcp", json=hello, headers={**accept, **headers})
            assert refused.status_code == 401, refused.text
            assert refused.headers["www-authenticate"] == "Bearer"
            assert refused.json()["error"]["code"] == "unauthenticated"
            assert live.owner_key not in refused.text
            assert "mcp-session-id" not in refused.headers
        opened = await http.post("/mcp", json=hello, headers={
            **accept, "Authorization": f"Bearer {live.owner_key}"})
        assert opened.status_code == 200 and opened.headers["mcp-session-id"]
        # a session answers only the key that opened it
        stolen = await http.post("/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "ping"},
                                 headers={**accept, "Authorization": f"Bearer {live.other_key}",
                                          "mcp-session-id": opened.headers["mcp-session-id"],
                                          "mcp-protocol-version": "2025-11-25"})
        assert stolen.status_code == 404
