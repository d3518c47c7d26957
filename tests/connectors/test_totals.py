"""What reconciliation asks of a provider: its own count of a stream (one cheap call) and
the records of named ids, in the shape the stream's pages have."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.errors import ProviderError
from store.errors import ValidationFailed
from tests.connectors.test_deletions import (
    HUBSPOT,
    LIST,
    MAILCHIMP,
    _delete,
    _hubspot,
    _mailchimp,
    _salesforce,
)


async def test_hubspot_counts_by_search_and_reads_by_id(sandbox: Any, connect: Any) -> None:
    _hubspot(sandbox, 230)
    connector = connect("hubspot", HUBSPOT)
    assert await connector.total("contacts") == 230
    listed = {r["id"]: r for r in await connector.read_all("contacts")}
    ids = sorted(listed, key=int)
    await _delete(connector, f"/crm/v3/objects/contacts/{ids[7]}")
    assert await connector.total("contacts") == 229
    wanted = [ids[3], ids[7], ids[150]]
    read = [r async for batch in connector.read_ids("contacts", wanted) for r in batch]
    assert sorted(r["id"] for r in read) == sorted([ids[3], ids[150]])  # the archived one: out
    for record in read:  # the list's own shape, so the mapping reads it the same way
        assert record["properties"] == listed[record["id"]]["properties"]
        assert record["updatedAt"] == listed[record["id"]]["updatedAt"]


async def test_hubspot_reads_more_ids_than_one_batch(sandbox: Any, connect: Any) -> None:
    _hubspot(sandbox, 260)
    connector = connect("hubspot", HUBSPOT)
    ids = sorted(await connector.all_ids("contacts"), key=int)
    batches = [batch async for batch in connector.read_ids("contacts", ids[:250])]
    assert [len(b) for b in batches] == [100, 100, 50]


async def test_mailchimp_counts_members_without_reading_them(sandbox: Any, connect: Any,
                                                           monkeypatch: Any) -> None:
    _mailchimp(sandbox, monkeypatch, 1200)
    connector = connect("mailchimp", MAILCHIMP, {"list_id": LIST})
    assert await connector.total("members") == 1200
    [victim] = sorted(await connector.all_ids("members"))[:1]
    await _delete(connector, f"/lists/{LIST}/members/{victim}")  # archived: not counted
    assert await connector.total("members") == 1199


async def test_salesforce_counts_and_reads_by_id(sandbox: Any, connect: Any,
                                                 monkeypatch: Any) -> None:
    connector = connect("salesforce", _salesforce(sandbox, monkeypatch, 450))
    assert await connector.total("contacts") == 450
    listed = {r["Id"]: r for r in await connector.read_all("contacts")}
    ids = sorted(listed)
    await _delete(connector, f"/services/data/v62.0/sobjects/Contact/{ids[10]}")
    assert await connector.total("contacts") == 449
    read = [r async for batch in connector.read_ids("contacts", ids[5:15]) for r in batch]
    assert sorted(r["Id"] for r in read) == [i for i in ids[5:15] if i != ids[10]]
    for record in read:
        assert {k: v for k, v in record.items() if k != "attributes"} == \
            {k: v for k, v in listed[record["Id"]].items() if k != "attributes"}


async def test_a_stream_without_a_count_or_a_read_by_id_says_so(sandbox: Any, connect: Any,
                                                                monkeypatch: Any) -> None:
    _mailchimp(sandbox, monkeypatch, 3)
    connector = connect("mailchimp", MAILCHIMP, {"list_id": LIST})
    with pytest.raises(ValidationFailed, match="does not count lists"):
        await connector.total("lists")
    with pytest.raises(ValidationFailed, match="cannot read members by id"):
        [b async for b in connector.read_ids("members", ["a"])]


@pytest.mark.parametrize("answer", [None, "many", True, -3, 2.5])
async def test_a_count_that_is_no_number_is_refused(sandbox: Any, connect: Any, answer: Any,
                                                    monkeypatch: Any) -> None:
    _hubspot(sandbox, 3)
    connector = connect("hubspot", HUBSPOT)

    async def send(request: Any) -> Any:
        return None, {"total": answer}

    monkeypatch.setattr(connector.client, "send", send)
    with pytest.raises(ProviderError, match="without a number"):
        await connector.total("contacts")


async def test_a_read_by_id_answered_without_a_list_is_refused(sandbox: Any, connect: Any,
                                                               monkeypatch: Any) -> None:
    _hubspot(sandbox, 3)
    connector = connect("hubspot", HUBSPOT)

    async def send(request: Any) -> Any:
        return None, {"results": {"1": {}}}

    monkeypatch.setattr(connector.client, "send", send)
    with pytest.raises(ProviderError, match="without a list"):
        [b async for b in connector.read_ids("contacts", ["1001"])]
