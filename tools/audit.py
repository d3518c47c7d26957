"""Who changed what: one row per write, in the same transaction as the write."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from store.accounts import Caller
from store.models import AuditLog


def audit(session: AsyncSession, caller: Caller, action: str, target_type: str,
          target_id: Any, **details: Any) -> None:
    session.add(AuditLog(tenant_id=caller.tenant_id, user_id=caller.user_id, action=action,
                         target_type=target_type, target_id=str(target_id), details=details))
