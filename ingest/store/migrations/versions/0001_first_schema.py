"""The first schema: runs, deliveries and their files, raw rows, findings, corrections, audit log.

Revision ID: 0001
Revises:
Create Date: 2025-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("paths", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON()),
        sa.Column("message", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("entry_number", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer()),
        sa.Column("source", sa.String(8)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("imported_at", TS, nullable=False),
        sa.Column("run_id", BigId, sa.ForeignKey("runs.id", name="fk_deliveries_run_id_runs"), nullable=False),
        sa.Column("supersedes_id", BigId,
                  sa.ForeignKey("deliveries.id", name="fk_deliveries_supersedes_id_deliveries")),
        sa.Column("rows_stored", sa.Integer(), nullable=False),
        sa.Column("physical_rows", sa.Integer(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("extra_columns", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("inbox_action", sa.String(16)),
        sa.Column("inbox_target", sa.Text()),
        sa.Column("inbox_done", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
    )
    op.create_index("uq_deliveries_entry_version", "deliveries", ["entry_number", "version"], unique=True)
    op.create_index("uq_deliveries_content_stored", "deliveries", ["content_sha256"], unique=True,
                    sqlite_where=sa.text("status <> 'rejected'"),
                    postgresql_where=sa.text("status <> 'rejected'"))
    op.create_index("ix_deliveries_status", "deliveries", ["status"])
    op.create_table(
        "delivery_files",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("delivery_id", BigId,
                  sa.ForeignKey("deliveries.id", name="fk_delivery_files_delivery_id_deliveries"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("encoding", sa.String(32)),
        sa.Column("archive_path", sa.Text(), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("source_mtime_ns", sa.BigInteger()),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_files"),
    )
    op.create_index("ix_delivery_files_delivery_id", "delivery_files", ["delivery_id"])
    op.create_table(
        "raw_rows",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("delivery_id", BigId,
                  sa.ForeignKey("deliveries.id", name="fk_raw_rows_delivery_id_deliveries"), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("loebe_nr", sa.Integer()),
        sa.Column("file_id", BigId,
                  sa.ForeignKey("delivery_files.id", name="fk_raw_rows_file_id_delivery_files"), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("pos", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_raw_rows"),
    )
    op.create_index("uq_raw_rows_delivery_row", "raw_rows", ["delivery_id", "row_no"], unique=True)
    op.create_table(
        "findings",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("delivery_id", BigId, sa.ForeignKey("deliveries.id", name="fk_findings_delivery_id_deliveries")),
        sa.Column("run_id", BigId, sa.ForeignKey("runs.id", name="fk_findings_run_id_runs"), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("source", sa.String(8)),
        sa.Column("entry_number", sa.Text()),
        sa.Column("file", sa.Text()),
        sa.Column("line", sa.Integer()),
        sa.Column("loebe_nr", sa.Integer()),
        sa.Column("field", sa.String(128)),
        sa.Column("page", sa.Text()),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("suggestion", sa.Text()),
        sa.Column("auto_fix", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_findings"),
    )
    op.create_index("ix_findings_delivery_id", "findings", ["delivery_id"])
    op.create_index("ix_findings_run_id", "findings", ["run_id"])
    op.create_index("ix_findings_code", "findings", ["code"])
    op.create_table(
        "corrections",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("delivery_id", BigId,
                  sa.ForeignKey("deliveries.id", name="fk_corrections_delivery_id_deliveries"), nullable=False),
        sa.Column("entry_number", sa.String(64), nullable=False),
        sa.Column("loebe_nr", sa.Integer()),
        sa.Column("field", sa.String(128), nullable=False),
        sa.Column("old_value", sa.Text()),
        sa.Column("new_value", sa.Text()),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("rule", sa.String(64)),
        sa.Column("who", sa.String(255), nullable=False),
        sa.Column("made_at", TS, nullable=False),
        sa.Column("why", sa.Text()),
        sa.Column("file", sa.Text()),
        sa.Column("line", sa.Integer()),
        sa.Column("carried_from_id", BigId,
                  sa.ForeignKey("corrections.id", name="fk_corrections_carried_from_id_corrections")),
        sa.PrimaryKeyConstraint("id", name="pk_corrections"),
    )
    op.create_index("ix_corrections_delivery_id", "corrections", ["delivery_id"])
    op.create_index("ix_corrections_key", "corrections", ["entry_number", "loebe_nr", "field"])
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("run_id", BigId, sa.ForeignKey("runs.id", name="fk_audit_log_run_id_runs")),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entry_number", sa.String(64)),
        sa.Column("delivery_id", BigId, sa.ForeignKey("deliveries.id", name="fk_audit_log_delivery_id_deliveries")),
        sa.Column("detail", sa.JSON()),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    _audit_log_append_only()


def _audit_log_append_only() -> None:
    """The database itself refuses to change or remove an audit entry."""
    if op.get_context().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                       "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")
    else:
        op.execute("CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$")
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse()")


def downgrade() -> None:
    raise NotImplementedError("the first schema is not taken down: nothing in the store is ever deleted")
