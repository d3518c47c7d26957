"""Recovery over REST: a failed run re-run from its checkpoint (only the pages after its
last batch) or from its start (a full re-read); a dead-lettered record, with its reason,
replayed after a mapping fix ends in the synced records."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import jobs.sync.engine as engine_module
from jobs.connecting import open_connector
from jobs.constants import SYNC_JOB
from store.errors import ValidationFailed
from tests.jobs.conftest import Flow, make_flow
from tools.context import Services


def _auth(flow: Flow) -> dict[str, str]:
    return {"Authorization": f"Bearer {flow.key}"}


def _contact_pages(sandbox: Any) -> list[dict[str, Any]]:
    return [r for r in sandbox.sandboxes["hubspot"].requests
            if r["path"].endswith("/crm/v3/objects/contacts")]


async def _failed_in_the_third_batch(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> str:
    real_write, calls = engine_module.write_batch, []

    async def refuses_the_third_batch(*args: Any, **kwargs: Any) -> int | None:
        calls.append(1)
        if len(calls) == 3:
            raise ValidationFailed("a value does not fit: stand-in for a config error")
        return await real_write(*args, **kwargs)

    monkeypatch.setattr(engine_module, "write_batch", refuses_the_third_batch)
    result = await flow.run()
    monkeypatch.setattr(engine_module, "write_batch", real_write)
    assert result["status"] == "failed" and await flow.count() == 200
    return str(result["run_id"])


async def test_a_failed_run_is_re_run_from_its_checkpoint(
        services: Services, api: httpx.AsyncClient, sandbox: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    flow = await make_flow(services, sandbox.url, contacts=450, sandbox=sandbox)
    failed = await _failed_in_the_third_batch(flow, monkeypatch)
    sandbox.sandboxes["hubspot"].requests.clear()
    answer = await api.post(f"/integrations/sync-runs/{failed}/rerun/",
                            json={"from": "checkpoint"}, headers=_auth(flow))
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["rerun_of"] == failed and body["run"]["status"] == "queued"
    assert body["run"]["trigger"] == "rerun" and body["run"]["summary"]["from"] == "checkpoint"
    [job] = [j for j in await services.queue.queued_jobs() if j.function == SYNC_JOB]
    assert job.args == (str(flow.id), body["run"]["id"])

    result = await flow.run(body["run"]["id"])  # the worker takes the queued re-run
    assert result["status"] == "succeeded", result
    assert (result["records_read"], result["records_written"]) == (250, 250)
    assert await flow.count() == 450
    assert len(_contact_pages(sandbox)) == 3  # pages 3, 4, 5: not the two committed ones
    old = await api.get(f"/integrations/sync-runs/{failed}/", headers=_auth(flow))
    assert old.json()["status"] == "failed"
    assert old.json()["summary"]["rerun_as"] == body["run"]["id"]


async def test_a_failed_run_is_re_run_from_its_start(
        services: Services, api: httpx.AsyncClient, sandbox: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    flow = await make_flow(services, sandbox.url, contacts=450, sandbox=sandbox)
    failed = await _failed_in_the_third_batch(flow, monkeypatch)
    sandbox.sandboxes["hubspot"].requests.clear()
    answer = await api.post(f"/integrations/sync-runs/{failed}/rerun/",
                            json={"from": "start"}, headers=_auth(flow))
    assert answer.status_code == 202, answer.text
    run = answer.json()["run"]
    assert run["cursor_before"] == {}
    result = await flow.run(run["id"])
    # the whole stream read again; the 200 already held are unchanged, so not rewritten
    assert (result["records_read"], result["records_written"]) == (450, 250)
    assert len(_contact_pages(sandbox)) == 5 and await flow.count() == 450


async def test_only_a_run_that_went_wrong_is_re_run(services: Services,
                                                    api: httpx.AsyncClient,
                                                    sandbox: Any) -> None:
    flow = await make_flow(services, sandbox.url, contacts=20, sandbox=sandbox)
    done = await flow.run()
    url = f"/integrations/sync-runs/{done['run_id']}/rerun/"
    refused = await api.post(url, json={"from": "start"}, headers=_auth(flow))
    assert refused.status_code == 409 and "only a failed" in refused.json()["error"]["message"]
    bad = await api.post(url, json={"from": "middle"}, headers=_auth(flow))
    assert bad.status_code == 422
    missing = await api.post("/integrations/sync-runs/00000000-0000-0000-0000-000000000000"
                             "/rerun/", json={"from": "start"}, headers=_auth(flow))
    assert missing.status_code == 404


async def test_a_dead_lettered_record_is_replayed_after_a_mapping_fix(
        services: Services, api: httpx.AsyncClient, sandbox: Any) -> None:
    flow = await make_flow(services, sandbox.url, contacts=30, sandbox=sandbox, mappings=[
        {"source": "email", "target": "email", "rules": ["required"]},
        {"source": "firstname", "target": "firstName"}])
    async with open_connector(services.db, services.vault, services.queue, flow.integration,
                              "hubspot") as connector:
        created = await connector.write("contacts.create", [{"firstname": "NoMail"}])
    [bad_id] = created.ids
    assert (await flow.run())["status"] == "partial"
    letters_url = f"/integrations/data-flows/{flow.id}/dead-letters/"
    replay_url = f"/integrations/data-flows/{flow.id}/replay_failed_records/"

    listed = await api.get(letters_url, params={"status": "open"}, headers=_auth(flow))
    assert listed.status_code == 200, listed.text
    [letter] = listed.json()
    assert letter["external_id"] == bad_id and letter["status"] == "open"
    assert letter["errors"] == [{"field": "email", "rule": 0,
                                 "message": "is required but missing or empty"}]
    assert letter["record"]["properties"]["firstname"] == "NoMail"

    # replayed before the fix: it still fails, and stays open with its (same) reason
    still = await api.post(replay_url, headers=_auth(flow))
    assert still.status_code == 200, still.text
    assert (still.json()["attempted"], still.json()["still_failing"]) == (1, 1)
    assert bad_id not in await flow.records()

    fixed = await api.patch(f"/integrations/data-flows/{flow.id}/", headers=_auth(flow), json={
        "mappings": [
            {"source": "email", "target": "email",
             "rules": [{"rule": "default", "value": "unknown@example.com"}]},
            {"source": "firstname", "target": "firstName"}]})
    assert fixed.status_code == 200, fixed.text
    replayed = await api.post(replay_url, headers=_auth(flow))
    assert replayed.status_code == 200, replayed.text
    counts = replayed.json()
    assert (counts["attempted"], counts["replayed"], counts["written"],
            counts["still_failing"], counts["remaining"]) == (1, 1, 1, 0, 0)
    records = await flow.records()
    assert records[bad_id] == {"email": "unknown@example.com", "firstName": "NoMail"}
    assert len(records) == 31
    assert (await api.get(letters_url, params={"status": "open"},
                          headers=_auth(flow))).json() == []
    [done] = (await api.get(letters_url, params={"status": "replayed"},
                            headers=_auth(flow))).json()
    assert done["id"] == letter["id"] and done["replayed_at"]
    runs = (await api.get("/integrations/sync-runs/", params={"data_flow": str(flow.id)},
                          headers=_auth(flow))).json()
    assert [r["trigger"] for r in runs][:2] == ["replay", "replay"]
    nothing = await api.post(replay_url, headers=_auth(flow))
    assert nothing.json()["attempted"] == 0


async def test_a_replay_still_failing_keeps_its_new_reason(services: Services,
                                                           api: httpx.AsyncClient,
                                                           sandbox: Any) -> None:
    flow = await make_flow(services, sandbox.url, contacts=5, sandbox=sandbox, mappings=[
        {"source": "email", "target": "email", "rules": ["required"]}])
    async with open_connector(services.db, services.vault, services.queue, flow.integration,
                              "hubspot") as connector:
        await connector.write("contacts.create", [{"firstname": "NoMail"}])
    await flow.run()
    fixed = await api.patch(f"/integrations/data-flows/{flow.id}/", headers=_auth(flow), json={
        "mappings": [{"source": "email", "target": "email",
                      "rules": [{"rule": "default", "value": "not an address"},
                                {"rule": "email"}]}]})
    assert fixed.status_code == 200, fixed.text
    answer = (await api.post(f"/integrations/data-flows/{flow.id}/replay_failed_records/",
                             headers=_auth(flow))).json()
    assert answer["still_failing"] == 1 and answer["replayed"] == 0
    [letter] = (await api.get(f"/integrations/data-flows/{flow.id}/dead-letters/",
                              headers=_auth(flow))).json()
    assert letter["status"] == "open" and letter["errors"][0]["rule"] == 1


async def test_a_flow_with_a_bad_contract_is_refused_and_a_good_one_shown(
        services: Services, api: httpx.AsyncClient, sandbox: Any) -> None:
    flow = await make_flow(services, sandbox.url, contacts=5, sandbox=sandbox,
                           mappings=[{"source": "email", "target": "email"}])
    url = f"/integrations/data-flows/{flow.id}/"
    bad = await api.patch(url, headers=_auth(flow), json={"contract": {"max_staleness": "6x"}})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "contract.max_staleness"
    good = {"max_staleness": "6h", "min_records": 3, "deletion_check": "weekly"}
    ok = await api.patch(url, headers=_auth(flow), json={"contract": good})
    assert ok.status_code == 200 and ok.json()["contract"] == good
    assert (await api.get(url, headers=_auth(flow))).json()["contract"] == good
