"""A book's place in the review: keying -> ready (the transcriber is done) -> approved (a
reviewer imported it into the store), with who moved it, when, a note, and the store
delivery the approval made.

Revision ID: 0004_book_review
Revises: 0003_web_sessions
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_book_review"
down_revision = "0003_web_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("web_books") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="keying"))
        batch.add_column(sa.Column("status_by", sa.String(64)))
        batch.add_column(sa.Column("status_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("status_note", sa.Text()))
        batch.add_column(sa.Column("delivery_id", sa.BigInteger()))


def downgrade() -> None:
    with op.batch_alter_table("web_books") as batch:
        for name in ("delivery_id", "status_note", "status_at", "status_by", "status"):
            batch.drop_column(name)
