"""What every operation gets: the running services and the caller it acts for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from store.accounts import Caller
from store.crypto import SecretBox
from store.db import Database
from store.errors import (
    AuthenticationFailed,
    ConfigError,
    Conflict,
    ConnectusError,
    PermissionDenied,
    TransientError,
    ValidationFailed,
)
from store.models import Role
from store.settings import Settings

# the doors see the error tree through here (DESIGN.md: ui -> tools, never ui -> store)
__all__ = ["AuthenticationFailed", "Caller", "ConfigError", "Conflict", "ConnectusError",
           "Role", "Services", "Settings", "TransientError", "ValidationFailed", "require"]


@dataclass
class Services:
    settings: Settings
    db: Database
    vault: SecretBox
    queue: Any = None  # arq.ArqRedis once the worker side is up
    extras: dict[str, Any] = field(default_factory=dict)


def require(caller: Caller, role: Role, action: str) -> None:
    """Writes are permission-checked: viewer < member < admin < owner."""
    if not caller.role.at_least(role):
        raise PermissionDenied(f"{action} needs the {role.value} role; you are {caller.role.value}")
