"""customer evidence index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customer_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('value', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('customer_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_evidence_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_customer_evidence_kind_value', ['kind', 'value'], unique=False)
    # The evidence already in customers' CRM fields (only rows that name a phone or an email are read).
    from services.teamserver.identities import field_evidence

    conn = op.get_bind()
    customer = sa.table('customer', sa.column('id', sa.Integer), sa.column('fields', sa.String))
    evidence = sa.table('customer_evidence', sa.column('customer_id', sa.Integer), sa.column('kind', sa.String),
                        sa.column('value', sa.String))
    rows = []
    for customer_id, fields in conn.execute(sa.select(customer.c.id, customer.c.fields).where(sa.or_(
            sa.func.lower(customer.c.fields).like('%phone"%'), sa.func.lower(customer.c.fields).like('%email"%')))):
        rows += [{"customer_id": customer_id, "kind": kind, "value": value}
                 for kind, value in sorted(field_evidence(fields))]
        if len(rows) >= 5000:
            conn.execute(evidence.insert(), rows)
            rows = []
    if rows:
        conn.execute(evidence.insert(), rows)


def downgrade() -> None:
    with op.batch_alter_table('customer_evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_evidence_kind_value')
        batch_op.drop_index(batch_op.f('ix_customer_evidence_customer_id'))
    op.drop_table('customer_evidence')
