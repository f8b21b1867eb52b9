"""Small helpers shared by the store's writers: clock, audit entries, test checkpoints."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import Connection, insert

from ingest.store.models import audit_log

CHECKPOINT_ENV = "MGR_INGEST_TEST_PAUSE"


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without their zone; they were written in UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def audit(conn: Connection, action: str, *, actor: str = "mgr-ingest", run_id: int | None = None,
          entry_number: str | None = None, delivery_id: int | None = None, **detail) -> None:
    """Append one entry to the audit log (keys and counts only, never person data)."""
    if entry_number is not None and len(entry_number) > 64:  # the column's width (a rejected loose file's name)
        entry_number = entry_number[:63] + "…"
    conn.execute(insert(audit_log).values(at=now(), run_id=run_id, actor=actor, action=action,
                                          entry_number=entry_number, delivery_id=delivery_id,
                                          detail=detail or None))


def checkpoint(point: str, entry_number: str | None = None) -> None:
    """A place where the crash tests stop the process.

    With ``MGR_INGEST_TEST_PAUSE="in-transaction@K2698=30"`` the importer announces
    ``checkpoint in-transaction K2698`` on stderr and sleeps 30 seconds there, which gives a
    test the moment to kill it (without ``@ENTRY`` it pauses for every delivery). Without
    the variable this costs one dictionary look-up.
    """
    spec = os.environ.get(CHECKPOINT_ENV)
    if not spec:
        return
    for part in spec.split(","):
        name, _, seconds = part.partition("=")
        name, _, entry = name.strip().partition("@")
        if name == point and (not entry or entry == entry_number):
            print(f"checkpoint {point} {entry_number or '-'}", file=sys.stderr, flush=True)
            time.sleep(float(seconds or 0))
