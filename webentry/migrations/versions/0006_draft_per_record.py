"""A draft per record: a person's unsaved new record and a correction to an older record are
kept apart, so saving one never removes the other.

Revision ID: 0006_draft_per_record
Revises: 0005_login_hardening
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_draft_per_record"
down_revision = "0005_login_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("web_drafts") as batch:
        batch.add_column(sa.Column("draft_key", sa.String(16)))
    op.execute("UPDATE web_drafts SET draft_key = CASE WHEN loebe_nr IS NULL THEN 'new' "
               "ELSE CAST(loebe_nr AS VARCHAR(16)) END")
    op.drop_index("uq_web_drafts_user_book", table_name="web_drafts")
    with op.batch_alter_table("web_drafts") as batch:
        batch.alter_column("draft_key", existing_type=sa.String(16), nullable=False)
    op.create_index("uq_web_drafts_user_book_record", "web_drafts", ["user_id", "book_id", "draft_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_web_drafts_user_book_record", table_name="web_drafts")
    # one draft a person and book again: the newest stays
    op.execute("DELETE FROM web_drafts WHERE id NOT IN (SELECT MAX(id) FROM web_drafts GROUP BY user_id, book_id)")
    with op.batch_alter_table("web_drafts") as batch:
        batch.drop_column("draft_key")
    op.create_index("uq_web_drafts_user_book", "web_drafts", ["user_id", "book_id"], unique=True)
