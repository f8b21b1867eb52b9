"""Log-in hardening: user names unique whatever their case, sessions bound to the browser,
and the log-in throttle (growing delays instead of a lock-out).

Revision ID: 0005_login_hardening
Revises: 0004_book_review
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_login_hardening"
down_revision = "0004_book_review"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("web_users") as batch:
        batch.add_column(sa.Column("name_key", sa.String(64)))
    conn = op.get_bind()
    seen: set[str] = set()
    for uid, name in conn.execute(sa.text("SELECT id, name FROM web_users ORDER BY id")).all():
        key = name.casefold()
        if key in seen:  # an older 'Alice' beside 'alice': the later one keeps a key of its own
            key = f"{key}#{uid}"
        seen.add(key)
        conn.execute(sa.text("UPDATE web_users SET name_key = :k WHERE id = :i"), {"k": key[:64], "i": uid})
    with op.batch_alter_table("web_users") as batch:
        batch.alter_column("name_key", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint("uq_web_users_name_key", ["name_key"])
    with op.batch_alter_table("web_sessions") as batch:
        batch.add_column(sa.Column("agent_sha256", sa.String(64)))
    op.create_table(
        "web_login_throttle",
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", TS, nullable=False),
        sa.Column("next_allowed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_web_login_throttle"),
    )


def downgrade() -> None:
    op.drop_table("web_login_throttle")
    with op.batch_alter_table("web_sessions") as batch:
        batch.drop_column("agent_sha256")
    with op.batch_alter_table("web_users") as batch:
        batch.drop_constraint("uq_web_users_name_key", type_="unique")
        batch.drop_column("name_key")
