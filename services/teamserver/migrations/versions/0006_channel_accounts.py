"""channels connected from the app

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channel_account',
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('settings_json', sa.String(), nullable=False),
    sa.Column('secrets_sealed', sa.String(), nullable=False),
    sa.Column('account_id', sa.String(), nullable=False),
    sa.Column('account_name', sa.String(), nullable=False),
    sa.Column('token_expires_at', sa.DateTime(), nullable=True),
    sa.Column('connected_at', sa.DateTime(), nullable=False),
    sa.Column('connected_by_agent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['connected_by_agent_id'], ['agent.id'], ),
    sa.PrimaryKeyConstraint('channel')
    )


def downgrade() -> None:
    op.drop_table('channel_account')
