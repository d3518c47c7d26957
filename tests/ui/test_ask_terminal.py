"""`connectus ask`: tool steps shown, a write's preview shown at the prompt, and the answer
to the prompt decides whether it runs."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import select

from store.models import Integration
from tests.agent.conftest import hubspot_with_flow
from tests.agent.scripted import ScriptedModel, call, say
from tests.conftest import make_tenant
from tools.context import Services
from ui.ask_terminal import converse


@pytest.mark.parametrize(("answer", "status"), [(True, "inactive"), (False, "pending")])
async def test_the_prompt_shows_the_change_and_decides(services: Services, sandbox: Any,
                                                       answer: bool, status: str) -> None:
    caller, _ = await make_tenant(services, "acme")
    await hubspot_with_flow(services, caller, sandbox.url)
    out = io.StringIO()
    console = Console(file=out, width=200)
    seen: list[dict[str, Any]] = []

    def prompt(pending: dict[str, Any]) -> bool:
        seen.append(pending)
        return answer

    model = ScriptedModel(script=[call("update_integration", integration="hubspot",
                                       status="inactive"), say("Done as you said.")])
    result = await converse(services, caller, "pause hubspot", None, console, prompt, model)
    text = out.getvalue()
    assert '-> update_integration({"integration": "hubspot", "status": "inactive"})' in text
    assert "Needs confirmation (admin or above): Pause integration 'HubSpot (sandbox)'" in text
    assert "integration 'HubSpot (sandbox)' status: \"pending\" -> \"inactive\"" in text
    assert len(seen) == 1 and result.text == "Done as you said."
    async with services.db.session(caller.tenant_id) as session:
        assert await session.scalar(select(Integration.status)) == status
