"""team operations: agent status, shifts, capacity, assignment trail

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('from_agent_id', sa.Integer(), nullable=True),
    sa.Column('to_agent_id', sa.Integer(), nullable=True),
    sa.Column('actor_agent_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.ForeignKeyConstraint(['from_agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['to_agent_id'], ['agent.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_conversation_id'), ['conversation_id'], unique=False)

    # Plain ADD COLUMN (no table copy): SQLite cannot drop `agent` for a copy while other tables refer to it.
    op.add_column('agent', sa.Column('status', sa.String(), nullable=False, server_default=sa.text("'offline'")))
    op.add_column('agent', sa.Column('status_changed_at', sa.DateTime(), nullable=True))
    op.add_column('agent', sa.Column('timezone', sa.String(), nullable=False, server_default=sa.text("'UTC'")))
    op.add_column('agent', sa.Column('shifts', sa.String(), nullable=False, server_default=sa.text("'[]'")))
    op.add_column('agent', sa.Column('capacity', sa.String(), nullable=False, server_default=sa.text("'{}'")))
    op.add_column('agent', sa.Column('last_seen_at', sa.DateTime(), nullable=True))
    op.add_column('agent', sa.Column('last_assigned_at', sa.DateTime(), nullable=True))
    op.add_column('conversation', sa.Column('assigned_at', sa.DateTime(), nullable=True))
    op.add_column('conversation', sa.Column('waiting_since', sa.DateTime(), nullable=True))
    op.add_column('conversation', sa.Column('reclaimed_from_agent_id', sa.Integer(), nullable=True))
    op.create_index('ix_conversation_status_assignee', 'conversation', ['status', 'assignee_id'], unique=False)
    # Conversations whose last word is the customer's have been waiting since then (close enough for the
    # ones stored before this revision: their oldest unanswered message is not worth a scan).
    op.execute("UPDATE conversation SET waiting_since = last_inbound_at "
               "WHERE last_message_direction = 'in' AND status <> 'resolved'")


def downgrade() -> None:
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_status_assignee')
        batch_op.drop_column('reclaimed_from_agent_id')
        batch_op.drop_column('waiting_since')
        batch_op.drop_column('assigned_at')
    for column in ('last_assigned_at', 'last_seen_at', 'capacity', 'shifts', 'timezone', 'status_changed_at',
                   'status'):
        op.drop_column('agent', column)

    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_conversation_id'))

    op.drop_table('assignment')

