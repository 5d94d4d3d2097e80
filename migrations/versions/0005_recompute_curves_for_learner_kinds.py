"""recompute memory-group curves: the calibration's prior is a mixture of learner kinds

The calibration's prior on each learner's forgetting curves became a mixture of two kinds of
learner (single exposures weaker than FSRS says, or as FSRS says), weighted by each learner's
own evidence, so the curves stored in learner_parameters' columns no longer follow from the
stored calibration grids. They are recomputed, by the same function the answer path uses. No
schema change; downgrading leaves the recomputed values, which the older release refreshes on
each learner's next answer.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GROUPS = ('failed_once', 'failed_restudied', 'known_at_first', 'settled')


def upgrade() -> None:
    # Imported here: the engine's current curve maths is what the rows must agree with.
    from engine.service.base import curve_columns
    from engine.store.models import LearnerParameters

    names = [f'{kind}_{group}' for group in _GROUPS for kind in ('scale', 'decay')]
    table = sa.table(
        'learner_parameters',
        sa.column('user_id', sa.Integer()),
        sa.column('parameters', sa.JSON()),
        sa.column('calibration', sa.JSON()),
        *[sa.column(name, sa.Float()) for name in names],
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(table.c.user_id, table.c.parameters, table.c.calibration)
    ).all()
    updates = [
        {
            'uid': user_id,
            **curve_columns(
                LearnerParameters(user_id=user_id, parameters=parameters, calibration=calibration)
            ),
        }
        for user_id, parameters, calibration in rows
    ]
    if updates:
        connection.execute(
            table.update()
            .where(table.c.user_id == sa.bindparam('uid'))
            .values({name: sa.bindparam(name) for name in names}),
            updates,
        )


def downgrade() -> None:
    pass
