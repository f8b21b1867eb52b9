"""The web entry tables: users, books, scans and pages, keyed records and their versions,
drafts, and reviewers' decisions on findings.

A history of its own (version table ``webentry_alembic_version``): it needs the store's
revision 0001 in place, which ``webentry.db`` makes sure of by opening the store first.

Revision ID: 0002_web_entry
Revises:
Create Date: 2025-06-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_web_entry"
down_revision = None  # the store's 0001 lives in another history; see the docstring
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def _fk(table: str, column: str, target: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "web_users",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", TS),
        sa.Column("session_nonce", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_login_at", TS),
        _pk("web_users"),
        sa.UniqueConstraint("name", name="uq_web_users_name"),
    )
    op.create_table(
        "web_books",
        sa.Column("id", BigId, nullable=False),
        sa.Column("entry_number", sa.String(16), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("parish", sa.String(128), nullable=False),
        sa.Column("herred", sa.String(128)),
        sa.Column("amt", sa.String(128)),
        sa.Column("from_year", sa.Integer(), nullable=False),
        sa.Column("to_year", sa.Integer(), nullable=False),
        sa.Column("page_capacity", sa.Integer()),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _pk("web_books"),
        sa.UniqueConstraint("entry_number", name="uq_web_books_entry_number"),
    )
    op.create_table(
        "web_assignments",
        sa.Column("id", BigId, nullable=False),
        sa.Column("book_id", BigId, _fk("web_assignments", "book_id", "web_books"), nullable=False),
        sa.Column("user_id", BigId, _fk("web_assignments", "user_id", "web_users"), nullable=False),
        _pk("web_assignments"),
    )
    op.create_index("uq_web_assignments_book_user", "web_assignments", ["book_id", "user_id"], unique=True)
    op.create_index("ix_web_assignments_user_id", "web_assignments", ["user_id"])
    op.create_table(
        "web_scans",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("view_path", sa.Text(), nullable=False),
        sa.Column("view_width", sa.Integer(), nullable=False),
        sa.Column("view_height", sa.Integer(), nullable=False),
        sa.Column("thumb_path", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("ocr", sa.JSON()),
        sa.Column("ocr_status", sa.String(16), nullable=False),
        sa.Column("ocr_at", TS),
        sa.PrimaryKeyConstraint("sha256", name="pk_web_scans"),
    )
    op.create_table(
        "web_pages",
        sa.Column("id", BigId, nullable=False),
        sa.Column("book_id", BigId, _fk("web_pages", "book_id", "web_books"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("scan_sha256", sa.String(64),
                  sa.ForeignKey("web_scans.sha256", name="fk_web_pages_scan_sha256_web_scans"), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("uploaded_at", TS, nullable=False),
        _pk("web_pages"),
    )
    op.create_index("uq_web_pages_book_seq", "web_pages", ["book_id", "seq"], unique=True)
    op.create_table(
        "web_records",
        sa.Column("id", BigId, nullable=False),
        sa.Column("book_id", BigId, _fk("web_records", "book_id", "web_books"), nullable=False),
        sa.Column("loebe_nr", sa.Integer(), nullable=False),
        sa.Column("page_seq", sa.Integer()),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _pk("web_records"),
    )
    op.create_index("uq_web_records_book_loebe_nr", "web_records", ["book_id", "loebe_nr"], unique=True)
    op.create_table(
        "web_record_versions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("record_id", BigId, _fk("web_record_versions", "record_id", "web_records"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("saved_by", sa.String(64), nullable=False),
        sa.Column("saved_at", TS, nullable=False),
        _pk("web_record_versions"),
    )
    op.create_index("uq_web_record_versions_record_version", "web_record_versions", ["record_id", "version"],
                    unique=True)
    op.create_table(
        "web_drafts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("user_id", BigId, _fk("web_drafts", "user_id", "web_users"), nullable=False),
        sa.Column("book_id", BigId, _fk("web_drafts", "book_id", "web_books"), nullable=False),
        sa.Column("loebe_nr", sa.Integer()),
        sa.Column("base_version", sa.Integer()),
        sa.Column("page_seq", sa.Integer()),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("saved_at", TS, nullable=False),
        _pk("web_drafts"),
    )
    op.create_index("uq_web_drafts_user_book", "web_drafts", ["user_id", "book_id"], unique=True)
    op.create_table(
        "web_decisions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("finding_id", sa.BigInteger(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("correction_id", sa.BigInteger()),
        sa.Column("note", sa.Text()),
        sa.Column("who", sa.String(64), nullable=False),
        sa.Column("made_at", TS, nullable=False),
        _pk("web_decisions"),
    )
    op.create_index("ix_web_decisions_finding_id", "web_decisions", ["finding_id"])


def downgrade() -> None:
    for table in ("web_decisions", "web_drafts", "web_record_versions", "web_records", "web_pages", "web_scans",
                  "web_assignments", "web_books", "web_users"):
        op.drop_table(table)
