"""Each provider's error table read against answers in its documented shapes, including
ones the simulators do not send: the error class, the provider code it keeps, and where
the retry delay came from."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from connectors.error_table import ErrorTable, Reply, Rule, Wait, fill
from connectors.errors import ProviderDown, QuotaExhausted, RateLimited, Transient
from connectors.registry import connector_spec

HS_429 = {"status": "error", "message": "You have reached your ten secondly limit.",
          "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"}
GOOGLE_QUOTA = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota",
                          "details": [{"errors": [{
                              "errorCode": {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
                              "message": "Too many requests",
                              "details": {"quotaErrorDetails": {"retryDelay": "12s"}}}]}]}}
FB_THROTTLE = {"error": {"code": 80004, "message": "too many calls", "type": "OAuthException"}}
BUC = '{"1": [{"type": "ads_management", "call_count": 100, ' \
      '"estimated_time_to_regain_access": 2}]}'

CASES: list[tuple[str, int, Any, dict[str, str], str, str | None, float | None]] = [
    # provider, status, body, headers -> error code, provider code, retry_after
    ("hubspot", 429, HS_429, {"retry-after": "3"}, "rate_limited", None, 3.0),
    # no Retry-After: the table leaves the wait to the rolling budget (connectors/http.py)
    ("hubspot", 429, HS_429, {"x-hubspot-ratelimit-interval-milliseconds": "10000"},
     "rate_limited", None, None),
    ("hubspot", 429, HS_429, {}, "rate_limited", None, None),
    ("hubspot", 429, {**HS_429, "policyName": "DAILY"}, {}, "quota_exhausted", None, None),
    ("hubspot", 401, {"message": "x", "category": "INVALID_AUTHENTICATION"}, {},
     "token_expired", "INVALID_AUTHENTICATION", None),
    ("hubspot", 403, {"message": "x", "category": "MISSING_SCOPES"}, {}, "missing_scope",
     "MISSING_SCOPES", None),
    ("hubspot", 400, {"message": "x", "category": "VALIDATION_ERROR"}, {},
     "provider_bad_request", "VALIDATION_ERROR", None),
    ("hubspot", 502, "<html>bad gateway</html>", {}, "provider_down", None, None),
    ("salesforce", 403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED",
                          "message": "TotalRequests Limit exceeded."}], {}, "quota_exhausted",
     "REQUEST_LIMIT_EXCEEDED", None),
    ("salesforce", 403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED",
                          "message": "ConcurrentPerOrgLongTxn Limit exceeded."}], {},
     "rate_limited", "REQUEST_LIMIT_EXCEEDED", None),
    ("salesforce", 404, [{"errorCode": "NOT_FOUND", "message": "gone"}], {},
     "provider_not_found", "NOT_FOUND", None),
    ("slack", 200, {"ok": False, "error": "ratelimited"}, {"retry-after": "7"},
     "rate_limited", "ratelimited", 7.0),
    ("slack", 200, {"ok": False, "error": "account_inactive"}, {}, "reconnect_needed",
     "account_inactive", None),
    ("slack", 200, {"ok": True, "warning": "superfluous_charset"}, {}, "", None, None),
    ("slack", 404, "<html>not found</html>", {}, "provider_not_found", None, None),
    ("google_ads", 429, GOOGLE_QUOTA, {}, "rate_limited",
     "quotaError.RESOURCE_TEMPORARILY_EXHAUSTED", 12.0),
    ("google_ads", 404, "<html>404</html>", {}, "provider_not_found", None, None),
    ("google_ads", 503, {"error": {"code": 503, "status": "UNAVAILABLE", "message": "x"}}, {},
     "provider_down", "UNAVAILABLE", None),
    ("facebook_ads", 400, FB_THROTTLE, {"x-business-use-case-usage": BUC}, "rate_limited",
     "80004", 120.0),
    ("facebook_ads", 400, FB_THROTTLE, {}, "rate_limited", "80004", 60.0),
    ("facebook_ads", 400, {"error": {**FB_THROTTLE["error"], "is_transient": True}}, {},
     "rate_limited", "80004", None),
    ("facebook_ads", 500, {"error": {"code": 2, "message": "unexpected"}}, {},
     "provider_down", "2", None),
    ("mailchimp", 429, None, {}, "rate_limited", None, None),
    ("zapier", 410, None, {}, "provider_not_found", None, None),
    ("zapier", 503, None, {"retry-after": "30"}, "provider_down", None, 30.0),
]


@pytest.mark.parametrize(("provider", "status", "body", "headers", "code", "provider_code",
                          "retry_after"), CASES)
def test_the_table_reads_the_answer(provider: str, status: int, body: Any,
                                    headers: dict[str, str], code: str,
                                    provider_code: str | None,
                                    retry_after: float | None) -> None:
    spec = connector_spec(provider)
    assert spec is not None and spec.classify is not None
    response = (httpx.Response(status, json=body, headers=headers) if not isinstance(body, str)
                else httpx.Response(status, text=body, headers=headers))
    found = spec.classify(response, body)
    assert (found.code if found else "") == code
    if found is None:
        return
    assert found.provider == provider and found.http_status == status
    assert found.provider_code == provider_code
    if isinstance(found, QuotaExhausted):
        assert found.resets_at > datetime.now(UTC)
    elif isinstance(found, Transient):
        assert found.retry_after == (pytest.approx(retry_after) if retry_after else None)


def test_a_daily_cap_resets_at_the_next_midnight_utc() -> None:
    spec = connector_spec("hubspot")
    assert spec is not None and spec.classify is not None
    body = {**HS_429, "policyName": "DAILY"}
    found = spec.classify(httpx.Response(429, json=body), body)
    assert isinstance(found, QuotaExhausted)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    assert (found.resets_at.date(), found.resets_at.hour, found.resets_at.minute) == \
        (tomorrow, 0, 0)


def test_rows_match_in_order_and_fill_templates_from_the_body() -> None:
    table = ErrorTable("Acme", "acme", code="error.kind", rules=(
        Rule(RateLimited, "{provider} is busy ({queue|default queue}): {said}", status=503,
             code="busy", wait=(Wait(path="error.wait_ms", unit=0.001), Wait(fixed=5))),
        Rule(ProviderDown, "{provider} is down", status=503),
    ))
    busy = {"error": {"kind": "busy", "message": "try later", "wait_ms": 1500}}
    found = table.classify(httpx.Response(503, json=busy), busy)
    assert isinstance(found, RateLimited) and found.retry_after == 1.5
    assert found.message == "Acme is busy (default queue): try later"
    unknown = {"error": {"kind": "other"}}
    assert isinstance(table.classify(httpx.Response(503, json=unknown), unknown), ProviderDown)
    fallback = {"error": {"kind": "busy"}}
    found = table.classify(httpx.Response(503, json=fallback), fallback)
    assert isinstance(found, RateLimited) and found.retry_after == 5
    assert table.classify(httpx.Response(200, json={}), {}) is None


def test_templates_name_missing_values_plainly() -> None:
    reply = Reply(httpx.Response(400), {"a": {"b": "x"}}, None, "said", {"c": ""})
    assert fill("{a.b} {c} {d|none} {code|-} {said}", reply, "Acme") == "x ? none - said"
