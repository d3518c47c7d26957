"""One failure taxonomy: every error is config, transient or system, says when to retry,
and maps to the integration's status by one rule."""

from datetime import UTC, datetime, timedelta

import pytest

from connectors.errors import (
    BadRequest,
    MissingScope,
    NeedsPerson,
    NotFoundAtProvider,
    ProviderDown,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    ReconnectNeeded,
    TokenExpired,
    Transient,
)
from store.errors import (
    AuthenticationFailed,
    ConfigError,
    NotFound,
    SecretError,
    SystemFault,
    TransientError,
    ValidationFailed,
    classify_failure,
    integration_status_after,
)

SOON = datetime.now(UTC) + timedelta(hours=2)


def test_provider_errors_are_branches_of_the_one_tree() -> None:
    assert issubclass(NeedsPerson, ConfigError) and issubclass(NeedsPerson, ProviderError)
    assert issubclass(Transient, TransientError) and issubclass(Transient, ProviderError)
    for config in (ReconnectNeeded, MissingScope, BadRequest, NotFoundAtProvider):
        assert issubclass(config, ConfigError) and not issubclass(config, TransientError)
    for transient in (RateLimited, QuotaExhausted, ProviderDown, TokenExpired):
        assert issubclass(transient, TransientError) and not issubclass(transient, ConfigError)


@pytest.mark.parametrize(("error", "kind"), [
    (ReconnectNeeded("x", provider="hubspot"), "config"),
    (MissingScope("x"), "config"),
    (BadRequest("x"), "config"),
    (NotFoundAtProvider("x"), "config"),
    (ValidationFailed("x", field="settings.list_id"), "config"),
    (RateLimited("x", retry_after=3), "transient"),
    (QuotaExhausted("x", resets_at=SOON), "transient"),
    (ProviderDown("x"), "transient"),
    (TokenExpired("x"), "transient"),
    (SystemFault("x"), "system"),
    (ProviderError("an answer we cannot read"), "system"),
    (KeyError("a bug"), "system"),
])
def test_every_failure_is_config_transient_or_system(error: Exception, kind: str) -> None:
    failure = classify_failure(error)
    assert failure.kind == kind
    assert failure.retryable is (kind == "transient")
    assert failure.action  # every failure tells a person what, if anything, to do


def test_retry_timing_is_there_whichever_way_the_provider_said_it() -> None:
    limited = RateLimited("slow down", retry_after=30)
    assert limited.resets_at is not None
    assert abs((limited.resets_at - datetime.now(UTC)).total_seconds() - 30) < 2
    soon = datetime.now(UTC) + timedelta(hours=2)  # now, not at import: the suite is long
    capped = QuotaExhausted("daily cap", resets_at=soon)
    assert capped.retry_after is not None and 7100 < capped.retry_after <= 7200
    failure = classify_failure(capped)
    assert failure.resets_at == soon and failure.retry_after == capped.retry_after
    down = ProviderDown("503 with Retry-After", retry_after=5)
    assert classify_failure(down).retry_after == 5
    assert classify_failure(ProviderDown("no hint")).retry_after is None
    assert classify_failure(BadRequest("config")).retry_after is None


def test_the_providers_own_action_beats_the_generic_hint() -> None:
    assert classify_failure(ReconnectNeeded("x", action="Paste a new key.")).action == \
        "Paste a new key."
    assert classify_failure(ReconnectNeeded("x")).action.startswith("Reconnect")


@pytest.mark.parametrize(("error", "after"), [
    (None, "active"),
    (ReconnectNeeded("refused"), "reconnect_needed"),
    (SecretError("cannot decrypt"), "reconnect_needed"),
    (MissingScope("no scope"), "error"),
    (BadRequest("bad field"), "error"),
    (NotFoundAtProvider("no such list"), "error"),
    (RateLimited("slow down", retry_after=1), "pending"),
    (QuotaExhausted("cap", resets_at=SOON), "pending"),
    (ProviderDown("503"), "pending"),
    (TokenExpired("expired"), "pending"),
    (SystemFault("bug"), "pending"),
    (ProviderError("unreadable"), "pending"),
    (KeyError("bug"), "pending"),
    # about the caller's request, not the integration's standing
    (ValidationFailed("bad", field="name"), "pending"),
    (NotFound("no such flow"), "pending"),
    (AuthenticationFailed("bad API key"), "pending"),
])
def test_one_rule_for_the_status_after_a_failure(error: Exception | None, after: str) -> None:
    assert integration_status_after(error, "pending") == after
