"""Alembic environment for the web application's tables (own version table).

``webentry.db.upgrade`` runs it with an open connection in ``config.attributes``.
"""

from __future__ import annotations

from alembic import context

from webentry.models import WebBase

VERSION_TABLE = "webentry_alembic_version"

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise SystemExit("the web migrations run through webentry.db.upgrade (they need the store open first)")
context.configure(connection=connection, target_metadata=WebBase.metadata, version_table=VERSION_TABLE,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
