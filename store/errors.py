"""Every error Connectus raises on purpose, in one tree.

    ConnectusError                 base; ``code`` is the stable machine name
    ├── ConfigError                a person must act (fix a field, reconnect)
    │   ├── SettingsError          bad environment variable, named
    │   ├── ValidationFailed       bad input: says what and where
    │   ├── NotFound               no such thing *in this tenant*
    │   ├── Conflict               would duplicate or contradict existing data
    │   ├── PermissionDenied       the caller's role may not do this
    │   ├── AuthenticationFailed   missing, wrong or revoked API key
    │   └── SecretError            a stored secret cannot be decrypted
    ├── TransientError             retrying later may succeed
    └── SystemFault                a bug or a broken installation

Foreign errors (httpx, SQLAlchemy, provider SDKs) are converted at the
boundary where they are caught; only ``SystemFault`` and genuine bugs reach a
person as "internal error". Connector errors extend this tree in
``connectors/errors.py``.
"""

from __future__ import annotations

from typing import Any


class ConnectusError(Exception):
    code = "error"
    status = 500

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class ConfigError(ConnectusError):
    code = "config_error"
    status = 400


class SettingsError(ConfigError):
    code = "bad_setting"

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}", details=[{"variable": variable}])
        self.variable = variable


class ValidationFailed(ConfigError):
    code = "invalid"
    status = 422

    def __init__(self, message: str, *, field: str | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        if field and not details:
            details = [{"field": field, "message": message}]
        super().__init__(message if not field else f"{field}: {message}", details=details)


class NotFound(ConfigError):
    code = "not_found"
    status = 404


class Conflict(ConfigError):
    code = "conflict"
    status = 409


class PermissionDenied(ConfigError):
    code = "forbidden"
    status = 403


class AuthenticationFailed(ConfigError):
    code = "unauthenticated"
    status = 401


class SecretError(ConfigError):
    code = "secret_unreadable"
    status = 500


class TransientError(ConnectusError):
    code = "unavailable"
    status = 503


class SystemFault(ConnectusError):
    code = "internal"
    status = 500
