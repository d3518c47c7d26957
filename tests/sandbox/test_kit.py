"""The kit every simulator shares: token store, dataset tombstones, request log, typed state."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import pytest
from fastapi import Request

from connectors.sandbox.app import simulators
from connectors.sandbox.hubspot import HubSpotState
from connectors.sandbox.kit import Dataset, ProviderSandbox, TokenStore


def test_refresh_keeps_the_refresh_token_by_default() -> None:
    store = TokenStore("demo", lifetime_s=60, prefix="at-")
    first = store.issue("read")
    assert first.access_token.startswith("at-") and first.refresh_token is not None
    assert first.refresh_token.startswith("at-r-")
    again = store.redeem_refresh(first.refresh_token)
    assert again is not None and again.refresh_token == first.refresh_token
    assert again.scope == "read" and store.check(first.access_token) == "invalid"
    assert store.check(again.access_token) == "ok" and not store.revoked


def test_rotating_refresh_tokens_are_single_use() -> None:
    store = TokenStore("demo", lifetime_s=60, prefix="at-", refresh_prefix="rt-",
                       refresh_bytes=40, rotate_refresh=True)
    first = store.issue("read")
    assert first.refresh_token is not None and first.refresh_token.startswith("rt-")
    assert len(first.refresh_token) == len("rt-") + 54  # 40 random bytes, url-safe base64
    second = store.redeem_refresh(first.refresh_token)
    assert second is not None and second.refresh_token not in (None, first.refresh_token)
    assert first.refresh_token in store.revoked and second.refresh_token in store.refresh
    assert store.redeem_refresh(first.refresh_token) is None


def test_per_token_lifetime_overrides_the_store() -> None:
    store = TokenStore("demo", lifetime_s=60)
    assert store.issue("", lifetime_s=None).expires_at is None
    long_lived = store.issue("", lifetime_s=86_400).expires_at
    assert long_lived is not None and long_lived > time.time() + 86_000
    default = store.issue("").expires_at
    assert default is not None and default < time.time() + 61


def test_peek_spends_no_calls_and_check_does() -> None:
    store = TokenStore("demo", lifetime_s=None)
    token = store.issue("", calls=1).access_token
    peeked = store.peek(token)
    assert peeked is not None and not peeked.expired() and peeked.calls_left == 1
    assert store.peek("demo") is None and store.peek(None) is None
    assert store.check(token) == "ok" and store.check(token) == "expired"
    spent = store.peek(token)
    assert spent is not None and spent.expired()


def test_non_ascii_credentials_are_refused_not_crashed_on() -> None:
    store = TokenStore("demo", lifetime_s=None)
    assert store.check("d\u00e9mo") == "invalid"
    code = store.issue_code("c", "http://cb", "", "chall\u00e9nge", "plain")
    assert store.redeem_code(code, "c", None, "v\u00e9rifier") is None


def test_delete_leaves_a_tombstone_until_rewritten() -> None:
    ds = Dataset(7, {"things": 3}, lambda obj, i, rng: {"i": i})
    before = time.time()
    ds.delete("things", "0")  # generated, never written
    ds.put("things", "1", {"i": 1, "edited": True})
    ds.delete("things", "1")
    assert list(ds.deleted("things")) == ["0", "1"] and ds.is_deleted("things", "1")
    generated, written = ds.tombstone("things", "0"), ds.tombstone("things", "1")
    assert generated is not None and generated.last_written is None
    assert written is not None and written.last_written == {"i": 1, "edited": True}
    assert before <= generated.deleted_at <= written.deleted_at <= time.time()
    ds.put("things", "1", {"i": 1})
    assert not ds.is_deleted("things", "1") and ds.tombstone("things", "1") is None


def test_log_keeps_params_but_not_secrets() -> None:
    box = ProviderSandbox("demo", dict)
    request = Request({"type": "http", "method": "POST", "path": "/demo/api/x",
                       "query_string": b"a=1", "headers": []})
    entry = box.log(request, params={"code": "c", "client_secret": "s"}, kind="x")
    assert box.requests == [entry] == [{"method": "POST", "path": "/demo/api/x",
                                        "query": {"a": "1"}, "kind": "x",
                                        "params": {"code": "c"}}]


@dataclass
class _DemoState:
    seen: list[str] = field(default_factory=list)


def test_typed_state_is_checked_and_reset_makes_a_fresh_one() -> None:
    box = ProviderSandbox("demo", _DemoState)
    box.state_as(_DemoState).seen.append("x")
    assert box.state.seen == ["x"]
    with pytest.raises(TypeError, match="keeps _DemoState, not HubSpotState"):
        box.state_as(HubSpotState)
    box.reset()
    assert box.state.seen == []
    with pytest.raises(LookupError):
        _ = box.current_dataset
    made = box.dataset({"things": 3}, lambda obj, i, rng: {"i": i})
    assert box.current_dataset is made
    box.reset()
    with pytest.raises(LookupError):
        _ = box.current_dataset


def test_every_simulator_package_is_found_and_the_kit_is_not() -> None:
    found = simulators()
    assert list(found) == ["facebook_ads", "google_ads", "hubspot", "mailchimp", "salesforce",
                           "slack", "zapier"]
    for name, module in found.items():
        assert module.NAME == name
        assert dataclasses.is_dataclass(module.State)
