"""memory-group curves for reports

Each learner's four memory-group curves (stability scale, decay) become columns of
learner_parameters, so class and school reports compute recall in SQL with one join instead
of shipping every learner's curves into each query. The settled group's two columns existed
as stability_scale and decay; they are renamed. Existing rows are filled in from their stored
calibration and parameters, by the same function the answer path uses.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GROUPS = ('failed_once', 'failed_restudied', 'known_at_first')


def upgrade() -> None:
    with op.batch_alter_table('learner_parameters', schema=None) as batch_op:
        batch_op.alter_column(
            'stability_scale', new_column_name='scale_settled', existing_type=sa.Float(),
            nullable=True, server_default=None,
        )
        batch_op.alter_column(
            'decay', new_column_name='decay_settled', existing_type=sa.Float(),
            nullable=True, server_default=None,
        )
        for group in _GROUPS:
            batch_op.add_column(sa.Column(f'scale_{group}', sa.Float(), nullable=True))
            batch_op.add_column(sa.Column(f'decay_{group}', sa.Float(), nullable=True))
    # Imported here: the engine's current curve maths is what the rows must agree with.
    from engine.service.base import recompute_stored_curves

    recompute_stored_curves(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('learner_parameters', schema=None) as batch_op:
        for group in _GROUPS:
            batch_op.drop_column(f'decay_{group}')
            batch_op.drop_column(f'scale_{group}')
    op.execute('UPDATE learner_parameters SET scale_settled = 1.0 WHERE scale_settled IS NULL')
    op.execute('UPDATE learner_parameters SET decay_settled = 0.1542 WHERE decay_settled IS NULL')
    with op.batch_alter_table('learner_parameters', schema=None) as batch_op:
        batch_op.alter_column(
            'scale_settled', new_column_name='stability_scale', existing_type=sa.Float(),
            nullable=False, server_default='1.0',
        )
        batch_op.alter_column(
            'decay_settled', new_column_name='decay', existing_type=sa.Float(),
            nullable=False, server_default='0.1542',
        )
