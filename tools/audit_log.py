"""Reading the audit trail (tools/audit.py writes it): who changed what and when, newest
first, filtered by action, target, user and time; admins and owners only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from store.accounts import Caller
from store.errors import ValidationFailed
from store.models import AuditLog, Role, User
from tools import paging
from tools.context import Services, require
from tools.health_args import moment


class AuditEntry(BaseModel):
    id: uuid.UUID
    action: str = Field(description="what was done: integration.create, user.remove, ...")
    target_type: str
    target_id: str | None
    user_id: uuid.UUID | None
    user: str | None = Field(description="the email of who did it (null once removed)")
    details: dict[str, Any]
    created_at: datetime


async def audit_log(services: Services, caller: Caller, *, action: str | None = None,
                    target_type: str | None = None, target_id: str | None = None,
                    user_id: uuid.UUID | None = None, since: datetime | str | None = None,
                    until: datetime | str | None = None, cursor: str | None = None,
                    limit: int = 50) -> paging.Page[AuditEntry]:
    """``action`` matches exactly, or every action under it when it ends in a dot
    (``integration.``)."""
    require(caller, Role.admin, "reading the audit log")
    start, end = moment(since, "since"), moment(until, "until")
    if start and end and start > end:
        raise ValidationFailed("since is later than until", field="since")
    query = paging.keyset(select(AuditLog, User.email)
                          .outerjoin(User, User.id == AuditLog.user_id),
                          AuditLog.created_at, AuditLog.id, cursor, limit)
    if action:
        query = query.where(AuditLog.action.startswith(action, autoescape=True)
                            if action.endswith(".") else AuditLog.action == action)
    if target_type:
        query = query.where(AuditLog.target_type == target_type)
    if target_id:
        query = query.where(AuditLog.target_id == target_id)
    if user_id:
        query = query.where(AuditLog.user_id == user_id)
    if start:
        query = query.where(AuditLog.created_at >= start)
    if end:
        query = query.where(AuditLog.created_at < end)
    async with services.db.session(caller.tenant_id) as session:
        rows = (await session.execute(query)).all()
    return paging.Page[AuditEntry](items=[
        AuditEntry(id=row.id, action=row.action, target_type=row.target_type,
                   target_id=row.target_id, user_id=row.user_id, user=email,
                   details=row.details, created_at=row.created_at)
        for row, email in rows[:limit]],
        next_cursor=paging.next_cursor([row for row, _ in rows], limit))
