"""The chat: a password hash on users (argon2id) and the chat's conversations, their
steps and elements (store/models/chat.py).

A new nullable column and new tables, so an existing installation upgrades in place;
existing users have no password until one is set.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                   name=op.f(f'fk_{table}_tenant_id_tenants'),
                                   ondelete='CASCADE')


def upgrade() -> None:
    op.add_column('users', sa.Column('password_hash', sa.String(length=200), nullable=True))
    op.create_table('chat_threads',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('agent_thread_id', sa.String(length=64), nullable=True),
    sa.Column('meta', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('tags', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
              nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
              nullable=False),
    _tenant_fk('chat_threads'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_chat_threads_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_threads')))
    op.create_index(op.f('ix_chat_threads_tenant_id'), 'chat_threads', ['tenant_id'])
    op.create_index(op.f('ix_chat_threads_user_id'), 'chat_threads', ['user_id'])
    for table in ('chat_steps', 'chat_elements'):
        op.create_table(table,
        sa.Column('id', sa.UUID(), nullable=False),
        sa.Column('thread_id', sa.UUID(), nullable=False),
        sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tenant_id', sa.UUID(), nullable=False),
        _tenant_fk(table),
        sa.ForeignKeyConstraint(['thread_id'], ['chat_threads.id'],
                                name=op.f(f'fk_{table}_thread_id_chat_threads'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{table}')))
        op.create_index(op.f(f'ix_{table}_tenant_id'), table, ['tenant_id'])
        op.create_index(op.f(f'ix_{table}_thread_id'), table, ['thread_id'])


def downgrade() -> None:
    for table in ('chat_elements', 'chat_steps', 'chat_threads'):
        op.drop_table(table)
    op.drop_column('users', 'password_hash')
