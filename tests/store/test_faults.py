"""Faults in the middle of a pass: the database goes away, the disk fills up while archiving.

Each case stops a pass at an awkward moment and then checks what the crash tests check:
every delivery in the store is whole (its rows all there) or absent, nothing is stored
twice, the files of what was not stored are still in the inbox, the command says so in one
line with exit code 2, and the next pass - with the database back or room on the disk -
finishes the job.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import subprocess
from pathlib import Path

import pytest
from conftest import write_delivery
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError
from store_support import count, rows_for

from ingest.inbox import PassSettings, run_pass
from ingest.store import StoreError, StoreFull, StoreUnavailable, open_store

pytest_plugins = ["store_fixtures"]  # db_url: SQLite, and PostgreSQL when MGR_TEST_PG_URL is set

ENTRIES = {"K2697": 30, "K2698": 25, "K2699": 20, "K2700": 15}


def fill_inbox(inbox: Path, entries=ENTRIES, big: str | None = None) -> None:
    for entry, n in entries.items():
        rows = rows_for(n)
        for row in rows:
            row["INDTASTNINGSNUMMER"] = entry
            if entry == big:
                row["ANMAERKNINGER"] = "x" * 80_000  # a data file of about 1.6 MB
        write_delivery(inbox, rows, entry=entry, meta={"INDTASTNINGSNUMMER": entry})


def csv_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == ".csv")


def consistent(work: Path, db_url: str | None) -> list[str]:
    """The entries stored; fails if any is half there, doubled, or has no archived bytes."""
    with open_store(work, db_url) as store, store.engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT d.entry_number, d.rows_stored, (SELECT count(*) FROM raw_rows r WHERE r.delivery_id = d.id), "
            "d.status FROM deliveries d ORDER BY d.entry_number").all()
        files = conn.exec_driver_sql("SELECT archive_path, sha256 FROM delivery_files").all()
        for path, sha in files:
            assert store.archive.holds(path, sha), path
    assert all(rows == found for _, rows, found, _ in stored), stored
    entries = [e for e, *_ in stored]
    assert len(entries) == len(set(entries)), entries
    # the archive (made when the store is opened) holds no half-written file
    assert (work / "archive").is_dir()
    assert not list((work / "archive").glob(".incoming-*"))
    return entries


def finished(work: Path, db_url: str | None, inbox: Path, entries=ENTRIES) -> None:
    run_pass(PassSettings(inbox=inbox, work=work, db=db_url, settle_s=0))
    assert csv_files(inbox) == []
    assert consistent(work, db_url) == sorted(entries)
    with open_store(work, db_url) as store:
        assert count(store, "SELECT count(*) FROM raw_rows") == sum(entries.values())
        assert count(store, "SELECT count(*) FROM findings WHERE code = 'DUPLICATE_DELIVERY'") == 0
        assert count(store, "SELECT count(*) FROM runs WHERE status = 'running'") == 0
        assert count(store, "SELECT count(*) FROM deliveries WHERE inbox_done = :no", no=False) == 0


# --------------------------------------------------------------------------- the database goes away

class Outage:
    """Every statement fails, as against a server that has gone, once ``start()`` is called."""

    def __init__(self, engine):
        self.engine = engine
        self.down = False
        event.listen(engine, "before_cursor_execute", self._refuse)
        event.listen(engine, "commit", self._refuse_commit)

    def _refuse(self, conn, cursor, statement, parameters, context, executemany):
        if self.down:
            raise OperationalError(statement, parameters,
                                   ConnectionError("server closed the connection unexpectedly"))

    def _refuse_commit(self, conn):
        if self.down:
            raise OperationalError("COMMIT", None, ConnectionError("server closed the connection unexpectedly"))

    def start(self, *_):
        self.down = True

    def end(self):
        self.down = False
        event.remove(self.engine, "before_cursor_execute", self._refuse)
        event.remove(self.engine, "commit", self._refuse_commit)


@pytest.mark.parametrize("point", ["archived", "in-transaction", "committed", "moving"])
def test_the_database_goes_away_in_the_middle_of_a_pass(tmp_path, db_url, monkeypatch, point):
    import ingest.inbox
    import ingest.store.importer

    inbox, work = tmp_path / "inbox", tmp_path / "work"
    fill_inbox(inbox)
    store = open_store(work, db_url)
    outage = Outage(store.engine)

    def checkpoint(name, entry=None):
        if name == point and entry == "K2698":
            outage.start()

    monkeypatch.setattr(ingest.store.importer, "checkpoint", checkpoint)
    monkeypatch.setattr(ingest.inbox, "checkpoint", checkpoint)
    with pytest.raises(StoreError) as caught:
        run_pass(PassSettings(inbox=inbox, work=work, db=db_url, settle_s=0), store=store)
    assert isinstance(caught.value, StoreUnavailable) and "\n" not in str(caught.value)
    outage.end()
    store.close()
    stored = consistent(work, db_url)
    assert "K2698" not in stored or point in ("committed", "moving")
    assert set(stored) <= {"K2697", "K2698"}
    # The files of what was not stored are all still in the inbox.
    for entry in set(ENTRIES) - set(stored):
        assert f"{entry}dok.csv" in csv_files(inbox) and f"{entry}fd.csv" in csv_files(inbox)
    monkeypatch.undo()
    finished(work, db_url, inbox)


def test_an_outage_in_the_command_is_one_line_and_exit_2(tmp_path, monkeypatch):
    import ingest.inbox
    import ingest.store.importer
    from ingest.cli import main

    inbox, work = tmp_path / "inbox", tmp_path / "work"
    fill_inbox(inbox)
    real_open = ingest.inbox.open_store
    outages = []

    def open_with_outage(*args, **kwargs):
        store = real_open(*args, **kwargs)
        outages.append(Outage(store.engine))
        return store

    monkeypatch.setattr(ingest.inbox, "open_store", open_with_outage)
    monkeypatch.setattr(ingest.store.importer, "checkpoint",
                        lambda name, entry=None: outages[-1].start() if name == "in-transaction" else None)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["run", "--inbox", str(inbox), "--work", str(work), "--settle", "0"])
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err.getvalue()
    assert "lost the connection" in lines[0] or "cannot use the database" in lines[0], lines[0]
    assert "Traceback" not in err.getvalue()
    monkeypatch.undo()
    assert consistent(work, None) == []
    finished(work, None, inbox)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_connections_killed_in_the_middle_of_a_transaction(tmp_path, db_url, monkeypatch):
    """A real loss: the server ends the pass's connections while a delivery's transaction is open."""
    import ingest.store.importer
    from ingest.store.database import resolve_url

    inbox, work = tmp_path / "inbox", tmp_path / "work"
    fill_inbox(inbox)
    admin = create_engine(resolve_url(os.environ["MGR_TEST_PG_URL"], Path(".")))
    url = db_url

    def kill(name, entry=None):
        if name == "in-transaction" and entry == "K2699":
            # The store names its connections 'mgr-ingest'; the tests run one at a time.
            with admin.begin() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE application_name = 'mgr-ingest' AND pid <> pg_backend_pid()"))

    monkeypatch.setattr(ingest.store.importer, "checkpoint", kill)
    store = open_store(work, url)
    try:
        with pytest.raises(StoreError):
            run_pass(PassSettings(inbox=inbox, work=work, db=url, settle_s=0), store=store)
    finally:
        store.close()
        admin.dispose()
    stored = consistent(work, db_url)
    assert "K2699" not in stored and "K2697" in stored
    monkeypatch.undo()
    finished(work, db_url, inbox)


# --------------------------------------------------------------------------- the disk fills up

def test_the_archive_disk_fills_up(tmp_path, monkeypatch):
    """Without a small filesystem: the archive's write fails with ENOSPC for the big file."""
    import ingest.store.archive as archive_module

    inbox, work = tmp_path / "inbox", tmp_path / "work"
    fill_inbox(inbox, big="K2699")
    real_fsync = archive_module.os.fsync

    def fsync(fd):
        if os.fstat(fd).st_size > 1_000_000:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(archive_module.os, "fsync", fsync)
    with pytest.raises(StoreFull, match="archive folder .* is full"):
        run_pass(PassSettings(inbox=inbox, work=work, settle_s=0))
    monkeypatch.undo()
    assert consistent(work, None) == []  # validated in one batch: nothing stored before the failure
    assert {"K2699dok.csv", "K2699fd.csv"} <= set(csv_files(inbox))
    finished(work, None, inbox)


def _mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    return done.returncode == 0


def _remount(folder: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)], check=True, capture_output=True)


def _umount(folder: Path) -> None:
    subprocess.run(["umount", str(folder)], capture_output=True)


@pytest.mark.parametrize("what", ["archive", "work folder"])
def test_a_small_filesystem_fills_up(tmp_path, what):
    """A real full disk: a 1 MB tmpfs under the archive (or under the whole work folder,
    database included); the command stops with one line, exit 2, and after the disk grows
    the next pass finishes."""
    from ingest.cli import main

    inbox, work = tmp_path / "inbox", tmp_path / "work"
    fill_inbox(inbox, big="K2699")
    mount_at = work / "archive" if what == "archive" else work
    if not _mount_tmpfs(mount_at, "1m"):
        pytest.skip("cannot mount a tmpfs here (needs root and mount); the ENOSPC case above runs instead")
    try:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["run", "--inbox", str(inbox), "--work", str(work), "--settle", "0"])
        lines = [line for line in err.getvalue().splitlines() if line.strip()]
        assert code == 2 and len(lines) == 1 and "full" in lines[0], err.getvalue()
        assert "K2699fd.csv" in csv_files(inbox)
        stored = consistent(work, None)
        assert "K2699" not in stored
        _remount(mount_at, "64m")
        finished(work, None, inbox)
    finally:
        _umount(mount_at)
