"""Every error Connectus raises on purpose, in one tree.

Each failure is one of three kinds, and its class says which:

    ConnectusError                  base; ``code`` is the stable machine name
    ├── ConfigError                 config: a person must act; never retried
    │   ├── SettingsError           bad environment variable, named
    │   ├── ValidationFailed        bad input: says what and where
    │   ├── NotFound                no such thing *in this tenant*
    │   ├── Conflict                would duplicate or contradict existing data
    │   ├── PermissionDenied        the caller's role may not do this
    │   ├── AuthenticationFailed    missing, wrong or revoked API key
    │   ├── SecretError             a stored secret cannot be decrypted    [reconnect_needed]
    │   └── NeedsPerson             the provider says a person must act    [error]
    │       ├── ReconnectNeeded     credentials refused, refresh refused   [reconnect_needed]
    │       ├── MissingScope        the grant lacks a permission the call needs
    │       ├── BadRequest          the provider refused our input (its own words kept)
    │       └── NotFoundAtProvider  the provider has no such object
    ├── TransientError              transient: retry; ``retry_after`` and ``resets_at`` say when
    │   └── Transient               a provider's "not now"
    │       ├── RateLimited         429 or the provider's own "slow down"
    │       ├── QuotaExhausted      a daily/hourly cap: checkpoint, resume at resets_at
    │       ├── ProviderDown        5xx, timeouts, connection errors, open circuit
    │       └── TokenExpired        refresh once and repeat the call
    └── SystemFault                 system: a bug or a broken installation

``NeedsPerson`` and ``Transient`` live in ``connectors/errors.py`` with
``ProviderError``, the mixin that adds who said what (provider, HTTP status,
the provider's code and words, the action it suggests); a bare
``ProviderError`` (an answer we cannot read) is a system failure.

``classify_failure(exc)`` reads any exception, ours or foreign, as a
``Failure`` (kind, code, retry timing, action): arq retries, the health score,
the agent's tool errors and the chat all read that. ``integration_status_after``
is the one rule for an integration's status after a failure, taken from the
bracketed column above: an error about the integration's standing sets the
status (``reconnect_needed`` when only new credentials help, ``error`` when a
person must change something else); transient, system and request errors
(bad input, not found, no permission: about the caller, not the integration)
leave it as it was.

Foreign errors (httpx, SQLAlchemy, provider SDKs) are converted at the
boundary where they are caught; only ``SystemFault`` and genuine bugs reach a
person as "internal error".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

Kind = Literal["config", "transient", "system"]


class ConnectusError(Exception):
    code = "error"
    status = 500
    kind: ClassVar[Kind] = "system"
    # what becomes of the integration the failing operation was about; None: unchanged
    integration_status: ClassVar[str | None] = None
    # the generic next step when the error itself names none
    hint: ClassVar[str] = "This is a bug in Connectus: report it with the time it happened."

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def advice(self) -> str:
        """The next step for a person: the error's own action when it names one (a
        provider's "fix the API key"), else its class's hint."""
        return getattr(self, "action", None) or self.hint


class ConfigError(ConnectusError):
    code = "config_error"
    status = 400
    kind: ClassVar[Kind] = "config"
    integration_status: ClassVar[str | None] = "error"
    hint: ClassVar[str] = "Fix what the message names, then try again."


class SettingsError(ConfigError):
    code = "bad_setting"
    integration_status: ClassVar[str | None] = None  # the installation's, not an integration's

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}", details=[{"variable": variable}])
        self.variable = variable


class ValidationFailed(ConfigError):
    code = "invalid"
    status = 422
    integration_status: ClassVar[str | None] = None  # told to whoever gave the input

    def __init__(self, message: str, *, field: str | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        if field and not details:
            details = [{"field": field, "message": message}]
        super().__init__(message if not field else f"{field}: {message}", details=details)


class NotFound(ConfigError):
    code = "not_found"
    status = 404
    integration_status: ClassVar[str | None] = None


class Conflict(ConfigError):
    code = "conflict"
    status = 409
    integration_status: ClassVar[str | None] = None


class PermissionDenied(ConfigError):
    code = "forbidden"
    status = 403
    integration_status: ClassVar[str | None] = None


class AuthenticationFailed(ConfigError):
    code = "unauthenticated"
    status = 401
    integration_status: ClassVar[str | None] = None  # our API key, not the provider's


class SecretError(ConfigError):
    code = "secret_unreadable"
    status = 500
    integration_status: ClassVar[str | None] = "reconnect_needed"
    hint: ClassVar[str] = ("Enter the integration's credentials again: the stored ones "
                           "cannot be decrypted with the current CONNECTUS_SECRET_KEYS.")


class TransientError(ConnectusError):
    """``retry_after`` (seconds from when it was raised) and ``resets_at`` (a UTC moment)
    both say when to try again; give either, the other is derived. Both None: back off."""

    code = "unavailable"
    status = 503
    kind: ClassVar[Kind] = "transient"
    hint: ClassVar[str] = "Nothing to do: Connectus retries on its own."

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None,
                 retry_after: float | None = None, resets_at: datetime | None = None) -> None:
        super().__init__(message, details=details)
        self.retry_after: float | None = None
        self.resets_at: datetime | None = None
        self.retry_when(retry_after=retry_after, resets_at=resets_at)

    def retry_when(self, *, retry_after: float | None = None,
                   resets_at: datetime | None = None) -> None:
        if retry_after is not None and resets_at is None:
            resets_at = datetime.now(UTC) + timedelta(seconds=retry_after)
        elif resets_at is not None and retry_after is None:
            retry_after = max(0.0, (resets_at - datetime.now(UTC)).total_seconds())
        self.retry_after, self.resets_at = retry_after, resets_at


class SystemFault(ConnectusError):
    code = "internal"
    status = 500


@dataclass(frozen=True)
class Failure:
    """What every reader of a failure needs, whatever raised it."""

    kind: Kind
    code: str
    message: str
    action: str
    retry_after: float | None = None
    resets_at: datetime | None = None
    integration_status: str | None = None  # None: leave the status as it is

    @property
    def retryable(self) -> bool:
        return self.kind == "transient"


def classify_failure(error: BaseException) -> Failure:
    """Any exception as a Failure; a foreign one is a bug (system), never config."""
    if not isinstance(error, ConnectusError):
        return Failure("system", SystemFault.code, f"internal error ({type(error).__name__})",
                       SystemFault.hint)
    timing = error if isinstance(error, TransientError) else None
    return Failure(
        kind=error.kind, code=error.code, message=error.message,
        action=error.advice(),
        retry_after=timing.retry_after if timing else None,
        resets_at=timing.resets_at if timing else None,
        integration_status=error.integration_status)


def integration_status_after(error: BaseException | None, current: str) -> str:
    """The integration's status once an operation on it ended with ``error`` (None: it
    succeeded, so it is active): see the rule in the module docstring."""
    if error is None:
        return "active"
    return classify_failure(error).integration_status or current
