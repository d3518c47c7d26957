"""A high-priority insight warns the tenant's Slack channel once per opening: through the
tenant's Slack integration (its settings.default_channel), saying what is wrong and what
to do. A warning that could not be posted is tried again on the next tick; one posted is
remembered on the insight (``notified_at``), so ticks do not repeat it."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select, type_coerce, update
from sqlalchemy.dialects.postgresql import JSONB

from jobs.connecting import open_connector
from store.errors import ConnectusError
from store.models import ConnectusInsight, InsightSettings, Integration, IntegrationProvider
from store.models.base import utcnow

log = logging.getLogger(__name__)

WARN = ("high", "critical")
MAX_TEXT = 3_000
MAX_PER_TICK = 20  # a burst of insights is not a burst of messages


def message(row: ConnectusInsight) -> str:
    steps = "\n".join(f"• {item}" for item in row.action_items or [])
    text = (f":warning: *{row.title}* ({row.priority})\n{row.description}\n"
            f"*What to do:* {row.recommendation}" + (f"\n{steps}" if steps else ""))
    return text[:MAX_TEXT]


def _channel(settings: dict[str, Any]) -> str | None:
    found = settings.get("default_channel") or settings.get("channel")
    return str(found).lstrip("#") if found else None


async def send_warnings(ctx: dict[str, Any], tenant_id: uuid.UUID) -> int:
    """Post the warnings due; returns how many were posted."""
    db = ctx["db"]
    async with db.session(tenant_id) as session:
        settings = await session.scalar(select(InsightSettings))
        if settings is not None and not settings.slack_warnings:
            return 0
        due = (await session.scalars(select(ConnectusInsight).where(
            ConnectusInsight.is_resolved.is_(False), ConnectusInsight.notified_at.is_(None),
            ConnectusInsight.priority.in_(WARN))
            .order_by(ConnectusInsight.opened_at).limit(MAX_PER_TICK))).all()
        if not due:
            return 0
        slack = (await session.scalars(
            select(Integration).join(IntegrationProvider,
                                     IntegrationProvider.id == Integration.provider_id)
            .where(IntegrationProvider.name == "slack",
                   Integration.status.notin_(("inactive", "reconnect_needed")))
            .order_by(Integration.created_at))).all()
    target = next((row for row in slack if _channel(row.settings or {})), None)
    if target is None:
        return 0
    channel = _channel(target.settings or {})
    posted = 0
    async with open_connector(db, ctx["vault"], ctx["redis"], target, "slack",
                              allow_private=bool(ctx.get("allow_private"))) as connector:
        for row in due:
            try:
                result = await connector.write("messages.post",
                                               [{"channel": channel, "text": message(row)}])
            except ConnectusError as exc:
                log.warning("insight warning to Slack failed: %s", exc.message)
                break
            if result.failed or not result.ok:
                log.warning("Slack refused an insight warning: %s", result.errors[:1])
                continue
            ts = result.ids[0].partition(":")[2] if result.ids else ""
            async with db.transaction(tenant_id) as session:
                await session.execute(
                    update(ConnectusInsight).where(ConnectusInsight.id == row.id)
                    .values(notified_at=utcnow(),
                            details=ConnectusInsight.details.op("||")(type_coerce(
                                {"slack": {"integration": str(target.id), "channel": channel,
                                           "ts": ts}}, JSONB)))
                    .execution_options(synchronize_session=False))
            posted += 1
    return posted
