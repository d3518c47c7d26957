"""What is connected and what moves: providers, integrations, flows, workflows and runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, HasId, TenantScoped, Timestamps, utcnow

INTEGRATION_STATUSES = ("pending", "active", "inactive", "error", "reconnect_needed")
FLOW_DIRECTIONS = ("inbound", "outbound", "bidirectional")
FLOW_STATUSES = ("active", "paused", "error", "draft")
# both-ways flows: who may change a field ("both": either side, conflicts by the policy)
FIELD_OWNERS = ("provider", "connectus", "both")
# "owner": a field changed on both sides is a conflict for a person; "newest_wins": the
# later change wins
CONFLICT_POLICIES = ("owner", "newest_wins")
SYNC_FREQUENCIES = ("realtime", "hourly", "daily", "weekly", "manual", "cron")
TRIGGER_TYPES = ("webhook", "schedule", "condition", "manual")
WORKFLOW_STATUSES = ("active", "paused", "draft", "error")
# the rows an outbound pass reads: a local version the provider has not taken yet
TO_PUSH = "origin = 'connectus' AND content_hash IS DISTINCT FROM pushed_hash"


def _fk(table: str, *, nullable: bool = False, ondelete: str = "CASCADE",
        index: bool = True) -> Mapped[Any]:
    return mapped_column(UUID(as_uuid=True), ForeignKey(f"{table}.id", ondelete=ondelete),
                         index=index, nullable=nullable)


class IntegrationProvider(Base):
    """The catalogue: shared by all tenants, seeded by the first migration."""

    __tablename__ = "integration_providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(50), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    auth_type: Mapped[str] = mapped_column(String(20))
    oauth_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    api_endpoints: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rate_limits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    webhook_support: Mapped[bool] = mapped_column(Boolean, default=False)
    webhook_events: Mapped[list[Any]] = mapped_column(default=list)


class Integration(HasId, TenantScoped, Timestamps, Base):
    """One connected account of a provider. Credentials are ciphertext, never plaintext."""

    __tablename__ = "integrations"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    provider_id: Mapped[int] = mapped_column(
        ForeignKey("integration_providers.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    auth_credentials: Mapped[str | None] = mapped_column(Text)  # MultiFernet token
    credential_hint: Mapped[str | None] = mapped_column(String(40))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sync_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    health_score: Mapped[int] = mapped_column(Integer, default=100)
    # why the score is what it is: [{"input", "points", "reason"}] (jobs/health/score.py)
    health_reasons: Mapped[list[Any]] = mapped_column(default=list)
    health_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the provider's own last word on usage: {"used", "limit", "at"} (jobs/recording.py)
    usage_reported: Mapped[dict[str, Any]] = mapped_column(default=dict)
    api_calls_today: Mapped[int] = mapped_column(Integer, default=0)
    api_calls_limit: Mapped[int] = mapped_column(Integer, default=0)
    last_sync_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class DataFlow(HasId, TenantScoped, Timestamps, Base):
    __tablename__ = "data_flows"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    integration_id: Mapped[uuid.UUID] = _fk("integrations")
    name: Mapped[str] = mapped_column(String(100))
    direction: Mapped[str] = mapped_column(String(20), default="inbound")
    status: Mapped[str] = mapped_column(String(20), default="active")
    stream: Mapped[str | None] = mapped_column(String(100))
    source_fields: Mapped[list[Any]] = mapped_column(default=list)
    target_fields: Mapped[list[Any]] = mapped_column(default=list)
    transformation_rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sync_frequency: Mapped[str] = mapped_column(String(20), default="daily")
    cursor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # [{"source": "email" | ["first", "last"], "target": "email", "rules": [{...}, ...]}]:
    # the compiled form of source_fields/target_fields and transformation_rules
    mappings: Mapped[list[Any]] = mapped_column(default=list)
    # {"cron": "0 6 * * 1-5", "timezone": "Europe/Berlin"} when sync_frequency is "cron"
    schedule: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # what a healthy run looks like: {"max_staleness_s": ..., "min_records": ...}
    contract: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # both-ways flows: {local field: "provider" | "connectus" | "both"}, and what settles a
    # field both sides changed (CONFLICT_POLICIES)
    field_owners: Mapped[dict[str, Any]] = mapped_column(default=dict)
    conflict_policy: Mapped[str] = mapped_column(String(20), default="owner")
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    records_processed: Mapped[int] = mapped_column(BigInteger, default=0)
    records_failed: Mapped[int] = mapped_column(BigInteger, default=0)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class WorkflowAutomation(HasId, TenantScoped, Timestamps, Base):
    """What starts a workflow (``trigger_type``/``trigger_config``), when it may go on
    (``conditions``) and what it does (``actions``, in order). ``trigger_event`` copies a
    webhook trigger's event type out of ``trigger_config`` so the workflows an event
    starts are found by index; ``next_run_at`` is a schedule's next fire time;
    ``trigger_state`` is what a condition trigger remembers between checks."""

    __tablename__ = "workflow_automations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        Index("ix_workflow_automations_trigger", "tenant_id", "integration_id",
              "trigger_event"),
        Index("ix_workflow_automations_due", "next_run_at",
              postgresql_where=text("next_run_at IS NOT NULL")),
    )

    integration_id: Mapped[uuid.UUID] = _fk("integrations")
    name: Mapped[str] = mapped_column(String(100))
    trigger_type: Mapped[str] = mapped_column(String(20))
    trigger_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actions: Mapped[list[Any]] = mapped_column(default=list)
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="active")
    execution_count: Mapped[int] = mapped_column(Integer, default=0)
    success_count: Mapped[int] = mapped_column(Integer, default=0)
    trigger_event: Mapped[str | None] = mapped_column(String(100))
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    trigger_state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SyncRun(HasId, TenantScoped, Base):
    """One run of a flow. At most one run of a flow is queued or running at a time (a
    partial unique index); a worker holds it by a lease it renews, so a run whose worker
    died is taken over from ``checkpoint`` once the lease has lapsed."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        Index("uq_sync_runs_one_active", "data_flow_id", unique=True,
              postgresql_where=text("status IN ('queued', 'running')")),
    )

    data_flow_id: Mapped[uuid.UUID] = _fk("data_flows")
    status: Mapped[str] = mapped_column(String(20), default="queued")
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    records_read: Mapped[int] = mapped_column(BigInteger, default=0)
    records_written: Mapped[int] = mapped_column(BigInteger, default=0)
    records_failed: Mapped[int] = mapped_column(BigInteger, default=0)
    cursor_before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cursor_after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    records_unchanged: Mapped[int] = mapped_column(BigInteger, default=0)
    records_deleted: Mapped[int] = mapped_column(BigInteger, default=0)
    # the last committed batch: cursor and the next page's request, to resume from
    checkpoint: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class SyncedRecord(TenantScoped, Base):
    """Connectus's copy of one record of a flow. For outbound and both-ways flows it also
    remembers what was last agreed with the provider: a row is waiting to be written
    there while ``content_hash`` (of ``data``) differs from ``pushed_hash`` (of ``base``)."""

    __tablename__ = "synced_records"
    tenant_id_index = False  # uq_synced_records_tenant_id leads with it; rows are written hot
    __table_args__ = (
        UniqueConstraint("tenant_id", "data_flow_id", "external_id"),
        Index("ix_synced_records_to_push", "data_flow_id", "id",
              postgresql_where=text(TO_PUSH)),
        Index("ix_synced_records_remote_id", "data_flow_id", "remote_id",
              postgresql_where=text("remote_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    data_flow_id: Mapped[uuid.UUID] = _fk("data_flows")
    external_id: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    content_hash: Mapped[str | None] = mapped_column(String(64))  # unchanged rows are skipped
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # which side wrote the current version ("provider" or "connectus"), so the echo of our
    # own outbound write is recognised and dropped
    origin: Mapped[str] = mapped_column(String(20), default="provider")
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # -- outbound and both-ways (jobs/sync/outbound.py, jobs/sync/both_ways.py) ----------
    remote_id: Mapped[str | None] = mapped_column(String(200))  # the provider's id for it
    # the values both sides last agreed on: in Connectus's field names, and as the
    # provider holds them (its field names and values, so our own write's echo is known)
    base: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    remote_base: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    pushed_hash: Mapped[str | None] = mapped_column(String(64))  # content hash of base
    rejected_hash: Mapped[str | None] = mapped_column(String(64))  # refused; not resent
    pushed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    local_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookEvent(HasId, TenantScoped, Base):
    __tablename__ = "webhook_events"
    tenant_id_index = False  # uq_webhook_events_tenant_id leads with it
    __table_args__ = (
        UniqueConstraint("tenant_id", "integration_id", "provider_event_id"),
        Index("ix_webhook_events_undispatched", "received_at",
              postgresql_where=text("workflows_dispatched_at IS NULL")),
    )

    integration_id: Mapped[uuid.UUID] = _fk("integrations")
    provider_event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # when the workflows it starts were found and their runs made (jobs/workflows/
    # dispatch.py); NULL past a minute means the process died in between: a sweep does it
    workflows_dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


RUNS_FILLFACTOR = 70


class WorkflowRun(HasId, TenantScoped, Base):
    """One execution of a workflow. A provider event starts a workflow at most once (the
    unique (workflow, event) pair), a schedule or condition fire likewise (the unique
    (workflow, trigger_key) pair), whatever the number of web replicas and workers. A
    worker holds a run by a lease; ``steps`` records each action's status, output, error,
    attempts and duration, so a run taken over (or replayed) goes on from its first
    unfinished step. A replay is a new run with ``replay_of`` set and no event of its own."""

    __tablename__ = "workflow_runs"
    # each run is written three times (made, claimed, ended), the last two changing an
    # indexed column, so each version is an entry in every index: none on tenant_id alone
    # (the tenant's reads name a workflow too; a tenant's deletion scans, once)
    tenant_id_index = False
    __table_args__ = (
        UniqueConstraint("workflow_id", "webhook_event_id"),
        # partial, as the replay index is: a webhook run (nearly every run) has no key and
        # no replay, so neither index gets an entry for any of its row versions
        Index("uq_workflow_runs_trigger_key", "workflow_id", "trigger_key", unique=True,
              postgresql_where=text("trigger_key IS NOT NULL")),
        Index("ix_workflow_runs_replay_of", "replay_of",
              postgresql_where=text("replay_of IS NOT NULL")),
        Index("ix_workflow_runs_open", "status", "lease_expires_at",
              postgresql_where=text("status IN ('queued', 'running')")),
        # room in each page for a run's next version: a save that changes no indexed
        # column is then a HOT update, with no index entry written
        {"postgresql_with": {"fillfactor": RUNS_FILLFACTOR}},
    )

    # no index of its own: the unique (workflow_id, webhook_event_id) leads with it
    workflow_id: Mapped[uuid.UUID] = _fk("workflow_automations", index=False)
    webhook_event_id: Mapped[uuid.UUID | None] = _fk("webhook_events", nullable=True,
                                                      ondelete="SET NULL")
    status: Mapped[str] = mapped_column(String(20), default="queued")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    steps: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(20), default="webhook")
    trigger_key: Mapped[str | None] = mapped_column(String(200))
    # the event as the run sees it ({"type", "id", "payload"}), and what it learnt on the
    # way ({"record": ...}, fetched once)
    input: Mapped[dict[str, Any]] = mapped_column(default=dict)
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    replay_of: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("workflow_runs.id", ondelete="SET NULL"))
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
