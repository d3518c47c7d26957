"""What can go wrong talking to a provider, classed by who must act.

    ProviderError (store.errors.ConnectusError)
    ├── NeedsPerson                   config: a person must act; never retried
    │   ├── ReconnectNeeded           token revoked/expired and refresh failed, bad key
    │   ├── MissingScope              the grant lacks a permission the call needs
    │   ├── BadRequest                the provider refused our input (its own words kept)
    │   └── NotFoundAtProvider
    └── Transient                     retried with backoff, then surfaced
        ├── RateLimited               429 or the provider's own "slow down"; retry_after
        ├── QuotaExhausted            a daily/hourly cap: resets_at, resume then
        ├── ProviderDown              5xx, timeouts, connection errors, open circuit
        └── TokenExpired              refresh once and repeat the call

Each carries ``category`` and ``severity`` for the health log and a
``cause`` sentence a person can act on. Foreign errors (httpx) are converted
in connectors/http.py, the one place that talks to providers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from store.errors import ConnectusError


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


class NeedsPerson(ProviderError):
    code = "provider_config"
    status = 400


class ReconnectNeeded(NeedsPerson):
    code = "reconnect_needed"
    status = 409
    category = "auth"
    severity = "critical"


class MissingScope(NeedsPerson):
    code = "missing_scope"
    status = 403
    category = "missing_scope"


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


class Transient(ProviderError):
    code = "provider_unavailable"
    status = 503


class RateLimited(Transient):
    code = "rate_limited"
    status = 429
    category = "rate_limited"
    severity = "warning"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class QuotaExhausted(Transient):
    """A cap that will not lift in seconds: the caller should checkpoint and resume."""

    code = "quota_exhausted"
    status = 429
    category = "quota_exhausted"
    severity = "warning"

    def __init__(self, message: str, *, resets_at: datetime, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.resets_at = resets_at


class ProviderDown(Transient):
    code = "provider_down"
    category = "provider_down"


class TokenExpired(Transient):
    code = "token_expired"
    status = 401
    category = "auth"
    severity = "info"
