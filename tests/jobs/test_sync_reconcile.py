"""Reconciliation against the provider's totals: one count call when nothing drifted; on
drift, an id scan names exactly the missing ids, only those are read (by id) and
upserted, and nothing else is rewritten; ids the provider no longer has are marked."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import delete

from store.models import SyncedRecord
from tests.jobs.conftest import Flow
from tests.jobs.upkeep_helpers import (
    archive,
    deleted,
    provider_flow,
    reconcile,
    run_row,
    synced,
)

LIST = "4ca5becb8d"


def _calls(sandbox: Any) -> list[dict[str, Any]]:
    return list(sandbox.sandboxes["hubspot"].requests)


async def test_without_drift_reconciliation_is_one_call(contacts_flow: Flow,
                                                        sandbox: Any) -> None:
    await contacts_flow.run()
    sandbox.sandboxes["hubspot"].requests.clear()
    result = await reconcile(contacts_flow)
    assert result["status"] == "succeeded"
    assert result["summary"]["provider_total"] == 250 == result["summary"]["ours"]
    assert result["summary"]["drift"] == 0
    [call] = _calls(sandbox)
    assert call["path"].endswith("/crm/v3/objects/contacts/search")


async def test_missing_records_come_back_and_nothing_else_is_rewritten(
        contacts_flow: Flow, sandbox: Any) -> None:
    await contacts_flow.run()
    before = await synced(contacts_flow)
    lost = sorted(before, key=int)[::50]  # five rows gone from our side
    async with contacts_flow.services.db.transaction(contacts_flow.caller.tenant_id) as s:
        await s.execute(delete(SyncedRecord).where(SyncedRecord.external_id.in_(lost)))
    assert await contacts_flow.count() == 245
    sandbox.sandboxes["hubspot"].requests.clear()

    result = await reconcile(contacts_flow)
    assert result["status"] == "succeeded", result
    summary = result["summary"]
    assert (summary["provider_total"], summary["ours"], summary["drift"]) == (250, 245, 5)
    assert summary["missing"] == 5 and sorted(summary["missing_ids"]) == sorted(lost)
    assert summary["method"] == "batch_read" and summary["backfilled"] == 5
    assert summary["vanished"] == 0 and summary["not_found"] == 0
    assert result["records_written"] == 5

    after = await synced(contacts_flow)
    assert len(after) == 250 and {k: r.data for k, r in after.items()} == \
        {k: r.data for k, r in before.items()}
    for external_id, row in after.items():  # the others were not touched at all
        if external_id not in lost:
            assert row.synced_at == before[external_id].synced_at
            assert row.id == before[external_id].id
    batch_reads = [c for c in _calls(sandbox) if c["path"].endswith("/batch/read")]
    assert len(batch_reads) == 1  # five ids, one call: not a re-read of the stream
    run = await run_row(contacts_flow, result["run_id"])
    assert run.trigger == "reconcile" and run.records_read == 5

    again = await reconcile(contacts_flow)
    assert again["summary"]["drift"] == 0  # reconciled


async def test_an_id_gone_at_the_provider_is_marked_deleted(contacts_flow: Flow,
                                                            sandbox: Any) -> None:
    await contacts_flow.run()
    gone = sorted(await contacts_flow.records(), key=int)[77]
    await archive(sandbox.url, gone)
    result = await reconcile(contacts_flow)
    assert result["summary"]["drift"] == -1 and result["summary"]["vanished_ids"] == [gone]
    assert result["records_deleted"] == 1 and await deleted(contacts_flow) == {gone}
    assert (await reconcile(contacts_flow))["summary"]["drift"] == 0


async def test_without_a_read_by_id_the_stream_is_re_read_for_the_missing_alone(
        services: Any, sandbox: Any, monkeypatch: Any) -> None:
    box = sandbox.sandboxes["mailchimp"]
    monkeypatch.setattr(box, "counts_override", {LIST: 1500, "8d3c9a1f27": 5,
                                                 "b5e0f1d2c3": 0})
    box.reset()
    flow = await provider_flow(services, sandbox.url, "mailchimp", "members",
                               ["email_address", "status"], ["email", "status"])
    assert (await flow.run())["records_written"] == 1500
    before = await synced(flow)
    members = sorted(before)
    lost, erased = [members[700], members[1200]], members[3]
    async with flow.services.db.transaction(flow.caller.tenant_id) as s:
        await s.execute(delete(SyncedRecord).where(SyncedRecord.external_id.in_(lost)))
    async with httpx.AsyncClient() as client:  # a permanent delete leaves no archive
        answer = await client.post(
            f"{sandbox.url}/mailchimp/3.0/lists/{LIST}/members/{erased}/actions/"
            "delete-permanent", auth=("any", "sandbox-us1"))
        assert answer.status_code == 204, answer.text
    box.requests.clear()

    result = await reconcile(flow)
    summary = result["summary"]
    assert result["status"] == "succeeded", result
    assert (summary["provider_total"], summary["ours"], summary["drift"]) == (1499, 1498, 1)
    assert sorted(summary["missing_ids"]) == sorted(lost) and summary["method"] == "re_read"
    assert summary["backfilled"] == 2 and summary["vanished_ids"] == [erased]
    after = await synced(flow)
    assert {k for k, r in after.items() if r.deleted_at is not None} == {erased}
    for external_id, row in after.items():
        if external_id not in lost and external_id != erased:
            assert row.synced_at == before[external_id].synced_at
    assert (await reconcile(flow))["summary"]["drift"] == 0


async def test_a_provider_that_suddenly_lists_nothing_deletes_nothing(contacts_flow: Flow,
                                                                      sandbox: Any) -> None:
    await contacts_flow.run()
    box = sandbox.sandboxes["hubspot"]
    box.counts_override = {"contacts": 0}
    box.reset()
    result = await reconcile(contacts_flow)
    assert result["status"] == "failed" and "refusing" in result["error"]
    assert await deleted(contacts_flow) == set() and await contacts_flow.count() == 250
