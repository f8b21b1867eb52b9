"""Cross-source findings: the record on the other side, the score and the rules' version.

A finding of the cross-source check (births against deaths and censuses, deliveries against
each other) names a second record (``other``: source, entry number, LOEBE_NR, file, line),
carries the match ``score`` and the ``rule_version`` of the thresholds, and a ``cross_key``
that stays the same while the same two records are in question, so that a finding kept
from one check to the next keeps its id (and the reviewer's decision on it).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("findings") as batch:
        batch.add_column(sa.Column("other", sa.JSON()))
        batch.add_column(sa.Column("score", sa.Float()))
        batch.add_column(sa.Column("rule_version", sa.String(32)))
        batch.add_column(sa.Column("cross_key", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("findings") as batch:
        for name in ("cross_key", "rule_version", "score", "other"):
            batch.drop_column(name)
