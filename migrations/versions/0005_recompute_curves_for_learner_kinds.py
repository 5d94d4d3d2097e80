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

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    # Imported here: the engine's current curve maths is what the rows must agree with.
    from engine.service.base import recompute_stored_curves

    recompute_stored_curves(op.get_bind())


def downgrade() -> None:
    pass
