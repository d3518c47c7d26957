"""What can go wrong talking to a provider: the provider branches of the one tree.

``store/errors.py`` draws the whole tree. Here ``ProviderError`` adds who said
what (provider, HTTP status, the provider's code and words, the action it
suggests) and the health-log ``category``/``severity``; its subclasses sit
under the store's kinds:

    NeedsPerson (ConfigError)       a person must act; never retried
    ├── ReconnectNeeded             credentials refused, refresh refused
    ├── MissingScope                the grant lacks a permission the call needs
    ├── BadRequest                  the provider refused our input (its own words kept)
    └── NotFoundAtProvider
    Transient (TransientError)      retried with backoff, honouring retry_after/resets_at
    ├── RateLimited                 429 or the provider's own "slow down"
    ├── QuotaExhausted              a daily/hourly cap: resets_at, resume then
    ├── ProviderDown                5xx, timeouts, connection errors, open circuit
    ├── TokenExpired                refresh once and repeat the call
    └── ScanIncomplete              an id scan that did not see every id: delete nothing

Foreign errors (httpx) are converted in connectors/http.py, the one place that
talks to providers; each provider's answers are read through its error table
(connectors/error_table.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from store.errors import ConfigError, ConnectusError, TransientError


class ProviderError(ConnectusError):
    code = "provider_error"
    status = 502
    category = "provider_error"
    severity = "error"

    def __init__(self, message: str, *, provider: str = "", http_status: int | None = None,
                 provider_code: str | None = None, provider_message: str | None = None,
                 details: list[dict[str, Any]] | None = None, action: str | None = None) -> None:
        super().__init__(message, details=details)
        self.action = action  # what a person should do, when the provider knows better
        self.provider = provider
        self.http_status = http_status
        self.provider_code = provider_code
        self.provider_message = provider_message

    @property
    def cause(self) -> str:
        """A plain-language sentence for health logs and chat answers."""
        return self.message

    def as_details(self) -> dict[str, Any]:
        return {"provider": self.provider, "http_status": self.http_status,
                "provider_code": self.provider_code, "provider_message": self.provider_message}


class NeedsPerson(ProviderError, ConfigError):
    code = "provider_config"
    status = 400
    hint: ClassVar[str] = ("Check the integration's settings against the provider's own "
                           "words in the message.")


class ReconnectNeeded(NeedsPerson):
    code = "reconnect_needed"
    status = 409
    category = "auth"
    severity = "critical"
    integration_status: ClassVar[str | None] = "reconnect_needed"
    hint: ClassVar[str] = ("Reconnect the integration: the stored credentials are no "
                           "longer accepted.")


class MissingScope(NeedsPerson):
    code = "missing_scope"
    status = 403
    category = "missing_scope"
    hint: ClassVar[str] = "Grant the missing permission in the provider, then reconnect."


class BadRequest(NeedsPerson):
    code = "provider_bad_request"
    status = 400
    category = "bad_request"
    severity = "warning"


class NotFoundAtProvider(NeedsPerson):
    code = "provider_not_found"
    status = 404
    category = "not_found"
    severity = "warning"


class Transient(ProviderError, TransientError):
    code = "provider_unavailable"
    status = 503

    def __init__(self, message: str, *, retry_after: float | None = None,
                 resets_at: datetime | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_when(retry_after=retry_after, resets_at=resets_at)


class RateLimited(Transient):
    code = "rate_limited"
    status = 429
    category = "rate_limited"
    severity = "warning"
    hint: ClassVar[str] = "Wait a moment and try again; Connectus spaces its calls automatically."


class QuotaExhausted(Transient):
    """A cap that will not lift in seconds: the caller should checkpoint and resume."""

    code = "quota_exhausted"
    status = 429
    category = "quota_exhausted"
    severity = "warning"

    hint: ClassVar[str] = "Wait until the quota resets, or raise the provider quota."

    def __init__(self, message: str, *, resets_at: datetime, **kw: Any) -> None:
        super().__init__(message, resets_at=resets_at, **kw)

    def advice(self) -> str:
        if getattr(self, "action", None) or self.resets_at is None:
            return super().advice()
        return f"Wait until {self.resets_at:%Y-%m-%d %H:%M} UTC, or raise the provider quota."


class ProviderDown(Transient):
    code = "provider_down"
    category = "provider_down"
    hint: ClassVar[str] = ("The provider is failing on its side; Connectus retries, check its "
                           "status page.")


class TokenExpired(Transient):
    code = "token_expired"
    status = 401
    category = "auth"
    severity = "info"


class ScanIncomplete(Transient):
    """An id scan that cannot vouch for having seen every id (the list changed under its
    offset pages): nothing may be deleted on its word; scan again later."""

    code = "scan_incomplete"
    category = "sync"
    severity = "warning"
    hint: ClassVar[str] = ("The provider's list changed during the scan; the next scan "
                           "reconciles deletions.")
