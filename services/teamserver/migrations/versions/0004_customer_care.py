"""customer care

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on SQLite: no copy of tables that others refer to.
    op.create_table('cannedresponse',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('title', sa.String(), nullable=False),
    sa.Column('shortcut', sa.String(), nullable=False),
    sa.Column('category', sa.String(), nullable=False),
    sa.Column('language', sa.String(), nullable=False),
    sa.Column('body', sa.String(), nullable=False),
    sa.Column('variants', sa.String(), nullable=False),
    sa.Column('keywords', sa.String(), nullable=False),
    sa.Column('owner_agent_id', sa.Integer(), nullable=True),
    sa.Column('usage_count', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['owner_agent_id'], ['agent.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('cannedresponse', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cannedresponse_owner_agent_id'), ['owner_agent_id'], unique=False)

    op.create_table('followup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.String(), nullable=False),
    sa.Column('canned_id', sa.String(), nullable=True),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('followup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followup_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_due_at'), ['due_at'], unique=False)

    op.add_column('conversation', sa.Column('priority', sa.String(), nullable=False, server_default=sa.text("'normal'")))
    op.add_column('conversation', sa.Column('priority_reasons', sa.String(), nullable=False, server_default=sa.text("'[]'")))
    op.add_column('conversation', sa.Column('case_type', sa.String(), nullable=True))
    op.add_column('conversation', sa.Column('snoozed_until', sa.DateTime(), nullable=True))
    op.add_column('conversation', sa.Column('snooze_until_reply', sa.Boolean(), nullable=False, server_default=sa.text("false")))
    op.add_column('conversation', sa.Column('sla_kind', sa.String(), nullable=True))
    op.add_column('conversation', sa.Column('sla_due_at', sa.DateTime(), nullable=True))
    op.add_column('conversation', sa.Column('sla_target_seconds', sa.Integer(), nullable=True))
    op.add_column('conversation', sa.Column('sla_breached_at', sa.DateTime(), nullable=True))
    op.add_column('conversation', sa.Column('resolved_at', sa.DateTime(), nullable=True))
    op.add_column('conversation', sa.Column('reopened_count', sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.add_column('conversation', sa.Column('unanswered_count', sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.add_column('conversation', sa.Column('public', sa.Boolean(), nullable=False, server_default=sa.text("false")))
    op.add_column('conversation', sa.Column('first_replied_at', sa.DateTime(), nullable=True))
    op.add_column('conversation', sa.Column('auto_reply_key', sa.String(), nullable=True))
    op.create_index('ix_conversation_sla_due_at', 'conversation', ['sla_due_at'], unique=False)

    op.add_column('customer', sa.Column('tags', sa.String(), nullable=False, server_default=sa.text("'[]'")))
    op.add_column('customer', sa.Column('fields', sa.String(), nullable=False, server_default=sa.text("'{}'")))
    op.add_column('customer', sa.Column('notes', sa.String(), nullable=False, server_default=sa.text("''")))
    op.add_column('customer', sa.Column('language', sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('language')
        batch_op.drop_column('notes')
        batch_op.drop_column('fields')
        batch_op.drop_column('tags')

    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_sla_due_at'))
        batch_op.drop_column('auto_reply_key')
        batch_op.drop_column('first_replied_at')
        batch_op.drop_column('public')
        batch_op.drop_column('reopened_count')
        batch_op.drop_column('unanswered_count')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('sla_breached_at')
        batch_op.drop_column('sla_target_seconds')
        batch_op.drop_column('sla_due_at')
        batch_op.drop_column('sla_kind')
        batch_op.drop_column('snooze_until_reply')
        batch_op.drop_column('snoozed_until')
        batch_op.drop_column('case_type')
        batch_op.drop_column('priority_reasons')
        batch_op.drop_column('priority')

    with op.batch_alter_table('followup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followup_due_at'))
        batch_op.drop_index(batch_op.f('ix_followup_customer_id'))
        batch_op.drop_index(batch_op.f('ix_followup_conversation_id'))

    op.drop_table('followup')
    with op.batch_alter_table('cannedresponse', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cannedresponse_owner_agent_id'))

    op.drop_table('cannedresponse')
