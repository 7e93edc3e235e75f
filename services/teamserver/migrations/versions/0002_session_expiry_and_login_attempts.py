"""session expiry and login attempts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('loginattempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email_key', sa.String(length=64), nullable=False),
    sa.Column('client_ip', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('loginattempt', schema=None) as batch_op:
        batch_op.create_index('ix_loginattempt_client_ip_created_at', ['client_ip', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_loginattempt_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_loginattempt_email_key_created_at', ['email_key', 'created_at'], unique=False)

    with op.batch_alter_table('sessiontoken', schema=None) as batch_op:
        # Tokens issued before expiry existed count as used now and expire now: their agents sign in again.
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(), nullable=False,
                                      server_default=sa.func.current_timestamp()))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=False,
                                      server_default=sa.func.current_timestamp()))
        batch_op.create_index(batch_op.f('ix_sessiontoken_expires_at'), ['expires_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sessiontoken', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessiontoken_expires_at'))
        batch_op.drop_column('expires_at')
        batch_op.drop_column('last_used_at')

    with op.batch_alter_table('loginattempt', schema=None) as batch_op:
        batch_op.drop_index('ix_loginattempt_email_key_created_at')
        batch_op.drop_index(batch_op.f('ix_loginattempt_created_at'))
        batch_op.drop_index('ix_loginattempt_client_ip_created_at')

    op.drop_table('loginattempt')
