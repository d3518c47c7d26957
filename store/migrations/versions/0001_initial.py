"""Initial schema, the pgvector extension, and the seven default providers.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-27 06:11:21.786480
"""

import json
from collections.abc import Sequence
from pathlib import Path

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Seed data is frozen with the migration: later catalogue changes get migrations of their own.
PROVIDERS = Path(__file__).parent.parent / "data" / "providers_0001.json"

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table('integration_providers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=50), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('auth_type', sa.String(length=20), nullable=False),
    sa.Column('oauth_config', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('api_endpoints', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('rate_limits', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('webhook_support', sa.Boolean(), nullable=False),
    sa.Column('webhook_events', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_providers')),
    sa.UniqueConstraint('name', name=op.f('uq_integration_providers_name'))
    )
    op.create_index(op.f('ix_integration_providers_category'), 'integration_providers', ['category'], unique=False)
    op.create_table('tenants',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('slug', name=op.f('uq_tenants_slug'))
    )
    op.create_table('integrations',
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('auth_credentials', sa.Text(), nullable=True),
    sa.Column('credential_hint', sa.String(length=40), nullable=True),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('sync_config', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('health_score', sa.Integer(), nullable=False),
    sa.Column('api_calls_today', sa.Integer(), nullable=False),
    sa.Column('api_calls_limit', sa.Integer(), nullable=False),
    sa.Column('last_sync_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['integration_providers.id'], name=op.f('fk_integrations_provider_id_integration_providers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_integrations_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integrations')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_integrations_tenant_id'))
    )
    op.create_index(op.f('ix_integrations_provider_id'), 'integrations', ['provider_id'], unique=False)
    op.create_index(op.f('ix_integrations_tenant_id'), 'integrations', ['tenant_id'], unique=False)
    op.create_table('users',
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('owner', 'admin', 'member', 'viewer', name='user_role'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_users_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('tenant_id', 'email', name=op.f('uq_users_tenant_id'))
    )
    op.create_index(op.f('ix_users_tenant_id'), 'users', ['tenant_id'], unique=False)
    op.create_table('api_keys',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_api_keys_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_keys_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    op.create_index(op.f('ix_api_keys_tenant_id'), 'api_keys', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_api_keys_user_id'), 'api_keys', ['user_id'], unique=False)
    op.create_table('api_usage',
    sa.Column('integration_id', sa.UUID(), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('rate_limited', sa.Integer(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_api_usage_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_api_usage_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_usage')),
    sa.UniqueConstraint('tenant_id', 'integration_id', 'hour', name=op.f('uq_api_usage_tenant_id'))
    )
    op.create_index(op.f('ix_api_usage_integration_id'), 'api_usage', ['integration_id'], unique=False)
    op.create_index(op.f('ix_api_usage_tenant_id'), 'api_usage', ['tenant_id'], unique=False)
    op.create_table('audit_logs',
    sa.Column('user_id', sa.UUID(), nullable=True),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('target_type', sa.String(length=50), nullable=False),
    sa.Column('target_id', sa.String(length=100), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_audit_logs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_logs_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_logs'))
    )
    op.create_index(op.f('ix_audit_logs_created_at'), 'audit_logs', ['created_at'], unique=False)
    op.create_index(op.f('ix_audit_logs_tenant_id'), 'audit_logs', ['tenant_id'], unique=False)
    op.create_table('connectus_insights',
    sa.Column('integration_id', sa.UUID(), nullable=True),
    sa.Column('insight_type', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('recommendation', sa.Text(), nullable=False),
    sa.Column('action_items', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('is_read', sa.Boolean(), nullable=False),
    sa.Column('is_resolved', sa.Boolean(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('embedding', pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_connectus_insights_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_connectus_insights_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connectus_insights')),
    sa.UniqueConstraint('tenant_id', 'fingerprint', name=op.f('uq_connectus_insights_tenant_id'))
    )
    op.create_index(op.f('ix_connectus_insights_created_at'), 'connectus_insights', ['created_at'], unique=False)
    op.create_index(op.f('ix_connectus_insights_integration_id'), 'connectus_insights', ['integration_id'], unique=False)
    op.create_index(op.f('ix_connectus_insights_tenant_id'), 'connectus_insights', ['tenant_id'], unique=False)
    op.create_table('data_flows',
    sa.Column('integration_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('direction', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('stream', sa.String(length=100), nullable=True),
    sa.Column('source_fields', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('target_fields', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('transformation_rules', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('sync_frequency', sa.String(length=20), nullable=False),
    sa.Column('cursor', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('records_processed', sa.BigInteger(), nullable=False),
    sa.Column('records_failed', sa.BigInteger(), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_data_flows_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_data_flows_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_flows')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_data_flows_tenant_id'))
    )
    op.create_index(op.f('ix_data_flows_integration_id'), 'data_flows', ['integration_id'], unique=False)
    op.create_index(op.f('ix_data_flows_tenant_id'), 'data_flows', ['tenant_id'], unique=False)
    op.create_table('health_logs',
    sa.Column('integration_id', sa.UUID(), nullable=True),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('embedding', pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_health_logs_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_health_logs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_health_logs'))
    )
    op.create_index(op.f('ix_health_logs_created_at'), 'health_logs', ['created_at'], unique=False)
    op.create_index(op.f('ix_health_logs_integration_id'), 'health_logs', ['integration_id'], unique=False)
    op.create_index(op.f('ix_health_logs_tenant_id'), 'health_logs', ['tenant_id'], unique=False)
    op.create_table('webhook_events',
    sa.Column('integration_id', sa.UUID(), nullable=False),
    sa.Column('provider_event_id', sa.String(length=200), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_webhook_events_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_webhook_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_events')),
    sa.UniqueConstraint('tenant_id', 'integration_id', 'provider_event_id', name=op.f('uq_webhook_events_tenant_id'))
    )
    op.create_index(op.f('ix_webhook_events_integration_id'), 'webhook_events', ['integration_id'], unique=False)
    op.create_index(op.f('ix_webhook_events_tenant_id'), 'webhook_events', ['tenant_id'], unique=False)
    op.create_table('workflow_automations',
    sa.Column('integration_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('trigger_type', sa.String(length=20), nullable=False),
    sa.Column('trigger_config', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('actions', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('conditions', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('execution_count', sa.Integer(), nullable=False),
    sa.Column('success_count', sa.Integer(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_workflow_automations_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workflow_automations_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_automations')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_workflow_automations_tenant_id'))
    )
    op.create_index(op.f('ix_workflow_automations_integration_id'), 'workflow_automations', ['integration_id'], unique=False)
    op.create_index(op.f('ix_workflow_automations_tenant_id'), 'workflow_automations', ['tenant_id'], unique=False)
    op.create_table('sync_runs',
    sa.Column('data_flow_id', sa.UUID(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('records_read', sa.BigInteger(), nullable=False),
    sa.Column('records_written', sa.BigInteger(), nullable=False),
    sa.Column('records_failed', sa.BigInteger(), nullable=False),
    sa.Column('cursor_before', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('cursor_after', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['data_flow_id'], ['data_flows.id'], name=op.f('fk_sync_runs_data_flow_id_data_flows'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sync_runs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs'))
    )
    op.create_index(op.f('ix_sync_runs_data_flow_id'), 'sync_runs', ['data_flow_id'], unique=False)
    op.create_index(op.f('ix_sync_runs_tenant_id'), 'sync_runs', ['tenant_id'], unique=False)
    op.create_table('synced_records',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('data_flow_id', sa.UUID(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('source_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['data_flow_id'], ['data_flows.id'], name=op.f('fk_synced_records_data_flow_id_data_flows'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_synced_records_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_synced_records')),
    sa.UniqueConstraint('tenant_id', 'data_flow_id', 'external_id', name=op.f('uq_synced_records_tenant_id'))
    )
    op.create_index(op.f('ix_synced_records_data_flow_id'), 'synced_records', ['data_flow_id'], unique=False)
    op.create_index(op.f('ix_synced_records_tenant_id'), 'synced_records', ['tenant_id'], unique=False)
    op.create_table('workflow_runs',
    sa.Column('workflow_id', sa.UUID(), nullable=False),
    sa.Column('webhook_event_id', sa.UUID(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('steps', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workflow_runs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['webhook_event_id'], ['webhook_events.id'], name=op.f('fk_workflow_runs_webhook_event_id_webhook_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflow_automations.id'], name=op.f('fk_workflow_runs_workflow_id_workflow_automations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_runs'))
    )
    op.create_index(op.f('ix_workflow_runs_tenant_id'), 'workflow_runs', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_workflow_runs_webhook_event_id'), 'workflow_runs', ['webhook_event_id'], unique=False)
    op.create_index(op.f('ix_workflow_runs_workflow_id'), 'workflow_runs', ['workflow_id'], unique=False)
    providers = sa.table(
        "integration_providers",
        *(sa.column(name) for name in ("name", "display_name", "category", "description",
                                       "auth_type", "webhook_support")),
        *(sa.column(name, postgresql.JSONB) for name in ("oauth_config", "api_endpoints",
                                                         "rate_limits", "webhook_events")),
    )
    op.bulk_insert(providers, json.loads(PROVIDERS.read_text()))


def downgrade() -> None:
    op.drop_index(op.f('ix_workflow_runs_workflow_id'), table_name='workflow_runs')
    op.drop_index(op.f('ix_workflow_runs_webhook_event_id'), table_name='workflow_runs')
    op.drop_index(op.f('ix_workflow_runs_tenant_id'), table_name='workflow_runs')
    op.drop_table('workflow_runs')
    op.drop_index(op.f('ix_synced_records_tenant_id'), table_name='synced_records')
    op.drop_index(op.f('ix_synced_records_data_flow_id'), table_name='synced_records')
    op.drop_table('synced_records')
    op.drop_index(op.f('ix_sync_runs_tenant_id'), table_name='sync_runs')
    op.drop_index(op.f('ix_sync_runs_data_flow_id'), table_name='sync_runs')
    op.drop_table('sync_runs')
    op.drop_index(op.f('ix_workflow_automations_tenant_id'), table_name='workflow_automations')
    op.drop_index(op.f('ix_workflow_automations_integration_id'), table_name='workflow_automations')
    op.drop_table('workflow_automations')
    op.drop_index(op.f('ix_webhook_events_tenant_id'), table_name='webhook_events')
    op.drop_index(op.f('ix_webhook_events_integration_id'), table_name='webhook_events')
    op.drop_table('webhook_events')
    op.drop_index(op.f('ix_health_logs_tenant_id'), table_name='health_logs')
    op.drop_index(op.f('ix_health_logs_integration_id'), table_name='health_logs')
    op.drop_index(op.f('ix_health_logs_created_at'), table_name='health_logs')
    op.drop_table('health_logs')
    op.drop_index(op.f('ix_data_flows_tenant_id'), table_name='data_flows')
    op.drop_index(op.f('ix_data_flows_integration_id'), table_name='data_flows')
    op.drop_table('data_flows')
    op.drop_index(op.f('ix_connectus_insights_tenant_id'), table_name='connectus_insights')
    op.drop_index(op.f('ix_connectus_insights_integration_id'), table_name='connectus_insights')
    op.drop_index(op.f('ix_connectus_insights_created_at'), table_name='connectus_insights')
    op.drop_table('connectus_insights')
    op.drop_index(op.f('ix_audit_logs_tenant_id'), table_name='audit_logs')
    op.drop_index(op.f('ix_audit_logs_created_at'), table_name='audit_logs')
    op.drop_table('audit_logs')
    op.drop_index(op.f('ix_api_usage_tenant_id'), table_name='api_usage')
    op.drop_index(op.f('ix_api_usage_integration_id'), table_name='api_usage')
    op.drop_table('api_usage')
    op.drop_index(op.f('ix_api_keys_user_id'), table_name='api_keys')
    op.drop_index(op.f('ix_api_keys_tenant_id'), table_name='api_keys')
    op.drop_table('api_keys')
    op.drop_index(op.f('ix_users_tenant_id'), table_name='users')
    op.drop_table('users')
    op.drop_index(op.f('ix_integrations_tenant_id'), table_name='integrations')
    op.drop_index(op.f('ix_integrations_provider_id'), table_name='integrations')
    op.drop_table('integrations')
    op.drop_table('tenants')
    op.drop_index(op.f('ix_integration_providers_category'), table_name='integration_providers')
    op.drop_table('integration_providers')
    sa.Enum(name="user_role").drop(op.get_bind(), checkfirst=True)
