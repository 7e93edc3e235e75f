"""evaluation and control

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crisis_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('window_count', sa.Integer(), nullable=False),
    sa.Column('baseline', sa.Float(), nullable=False),
    sa.Column('sample', sa.String(), nullable=False),
    sa.Column('acknowledged_by_agent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_agent_id'], ['agent.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('crisis_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crisis_alert_started_at'), ['started_at'], unique=False)

    op.create_table('response_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('priority', sa.String(), nullable=False),
    sa.Column('waited_from', sa.DateTime(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=False),
    sa.Column('seconds', sa.Integer(), nullable=False),
    sa.Column('business_seconds', sa.Integer(), nullable=False),
    sa.Column('target_seconds', sa.Integer(), nullable=True),
    sa.Column('met', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('response_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_record_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_response_record_answered_at'), ['answered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_response_record_conversation_id'), ['conversation_id'], unique=False)

    op.create_table('csat_survey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('csat_survey', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_csat_survey_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_csat_survey_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_csat_survey_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_csat_survey_sent_at'), ['sent_at'], unique=False)

    # Plain ADD COLUMN on SQLite: no copy of a table that others refer to.
    op.add_column('message', sa.Column('sentiment', sa.String(), nullable=True))
    op.add_column('message', sa.Column('urgency', sa.String(), nullable=True))
    op.add_column('message', sa.Column('payload', sa.String(), nullable=True))
    op.create_index('ix_message_created_at', 'message', ['created_at'], unique=False)
    op.create_index('ix_conversation_resolved_at', 'conversation', ['resolved_at'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_message_created_at', table_name='message')
    op.drop_index('ix_conversation_resolved_at', table_name='conversation')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('urgency')
        batch_op.drop_column('sentiment')

    with op.batch_alter_table('csat_survey', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_csat_survey_sent_at'))
        batch_op.drop_index(batch_op.f('ix_csat_survey_customer_id'))
        batch_op.drop_index(batch_op.f('ix_csat_survey_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_csat_survey_agent_id'))

    op.drop_table('csat_survey')
    with op.batch_alter_table('response_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_record_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_response_record_answered_at'))
        batch_op.drop_index(batch_op.f('ix_response_record_agent_id'))

    op.drop_table('response_record')
    with op.batch_alter_table('crisis_alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crisis_alert_started_at'))

    op.drop_table('crisis_alert')
