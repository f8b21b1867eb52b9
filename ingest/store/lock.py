"""One writer at a time: the lock an import or an inbox pass holds while it runs.

Two locks, both released by the operating system or the server when the process ends,
however it ends (so a killed pass never leaves a stale lock behind):

* ``fcntl.flock`` on ``WORK/mgr.lock``: passes that share a work folder (its archive,
  quarantine and SQLite database);
* for PostgreSQL also a session advisory lock on a connection held for the pass: passes
  on different machines or work folders that share one database.
"""

from __future__ import annotations

import fcntl
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

LOCK_NAME = "mgr.lock"
ADVISORY_KEY = 0x6D67725F696E67  # "mgr_ing"


class LockHeld(Exception):
    """Another import or pass holds the lock; the message says which."""


class WorkLock:
    def __init__(self, work: Path, store=None):
        self.path = Path(work) / LOCK_NAME
        self.store = store
        self._fd: int | None = None
        self._conn = None

    def acquire(self) -> WorkLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise LockHeld(f"another import or inbox pass is running ({holder}); nothing was done") from None
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {stamp}\n".encode(), 0)
        self._fd = fd
        if self.store is not None and self.store.dialect == "postgresql":
            conn = self.store.engine.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar()
            conn.commit()
            if not got:
                conn.close()
                self.release()
                raise LockHeld("another import or inbox pass is running against the same PostgreSQL database; "
                               "nothing was done")
            self._conn = conn
        return self

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                self._conn.commit()
            except Exception:  # noqa: BLE001 - a lost connection releases the lock anyway
                pass
            finally:
                self._conn.close()
                self._conn = None
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> WorkLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
