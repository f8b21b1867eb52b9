"""The cross-source check's match keys, kept per delivery version.

``check_key_sets`` records, per version of a KBF, KBD or FT delivery, the fingerprint of
what its keys were made from and the book's figures the check needs whole; ``check_keys``
holds the compared columns of each record by birth day, so that the check after an import
reads the days the new delivery touches and not the whole store.  Both are a cache: they
can be dropped and are rebuilt from the raw rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "check_key_sets",
        sa.Column("delivery_id", BigId,
                  sa.ForeignKey("deliveries.id", name="fk_check_key_sets_delivery_id_deliveries"), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("entry_number", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("counted", sa.Integer(), nullable=False),
        sa.Column("parish", sa.Text()),
        sa.Column("from_year", sa.Integer()),
        sa.Column("to_year", sa.Integer()),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_check_key_sets"),
    )
    op.create_index("ix_check_key_sets_entry_number", "check_key_sets", ["entry_number"])
    op.create_table(
        "check_keys",
        sa.Column("id", BigId, nullable=False),
        sa.Column("delivery_id", BigId,
                  sa.ForeignKey("deliveries.id", name="fk_check_keys_delivery_id_deliveries"), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("loebe_nr", sa.Integer()),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("died", sa.Integer()),
        sa.Column("parish", sa.Text()),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_check_keys"),
    )
    op.create_index("ix_check_keys_delivery_id", "check_keys", ["delivery_id"])
    op.create_index("ix_check_keys_source_day", "check_keys", ["source", "day"])
    op.create_index("ix_check_keys_source_parish_day", "check_keys", ["source", "parish", "day"])


def downgrade() -> None:
    op.drop_table("check_keys")
    op.drop_table("check_key_sets")
