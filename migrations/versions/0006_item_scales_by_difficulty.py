"""item scales by author difficulty: easy and hard items' stability factors

The calibration gained a per-learner slope on author difficulty: easy items' stability is
multiplied by exp(slope), hard items' by exp(-slope) (StabilityCalibration.item_scales). The
two factors become columns of learner_parameters beside the group curves, so reports compute
recall in SQL as the planner does. Existing rows are filled in by the function the answer
path uses; calibrations stored before have no evidence on the slope, so theirs are the
prior's.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('learner_parameters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('item_scale_easy', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('item_scale_hard', sa.Float(), nullable=True))
    # Imported here: the engine's current curve maths is what the rows must agree with.
    from engine.service.base import recompute_stored_curves

    recompute_stored_curves(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('learner_parameters', schema=None) as batch_op:
        batch_op.drop_column('item_scale_hard')
        batch_op.drop_column('item_scale_easy')
