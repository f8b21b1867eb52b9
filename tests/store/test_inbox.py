"""The inbox service: complete deliveries in, half-written ones left alone, bad ones quarantined."""

from __future__ import annotations

import json
import re

import pytest
from conftest import write_delivery
from sqlalchemy import event, text
from store_support import FIXTURES, cli, count, db_args, one_line, rows_for

from ingest.inbox import PassSettings, parse_interval, run_pass
from ingest.store import LockHeld, StoreFull, WorkLock, open_store

pytest_plugins = ["store_fixtures"]  # the db_url, store and work fixtures


def csv_files(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == ".csv")


def settings(inbox, work, db_url, **kw) -> PassSettings:
    kw.setdefault("settle_s", 0.0)
    return PassSettings(inbox=inbox, work=work, db=db_url, **kw)


def test_a_pass_imports_complete_deliveries_and_empties_the_inbox(tmp_path, work, db_url):
    inbox = tmp_path / "inbox"
    write_delivery(inbox, rows_for(8))
    write_delivery(inbox / "sub", rows_for(4, r2={"FOEDSELSDATO": "19210229"}), entry="K2698",
                   meta={"INDTASTNINGSNUMMER": "K2698"})
    result = run_pass(settings(inbox, work, db_url))
    assert (result.imported, result.duplicates, result.quarantined, result.waiting) == (2, 0, 0, 0)
    assert result.rows == 12 and result.errors >= 1
    assert csv_files(inbox) == []
    archived = [p for p in (work / "archive").rglob("*.csv")]
    assert len(archived) == 4
    report = json.loads((result.report / "findings.json").read_text(encoding="utf-8"))
    assert {d["entry_number"] for d in report["deliveries"]} == {"K2697", "K2698"}
    assert any(f["code"] == "DATE_INVALID" for f in report["findings"])
    assert (result.report / "report.html").is_file()
    # Dropping the same bytes again: recorded as a duplicate, not stored, and taken out of the inbox.
    write_delivery(inbox, rows_for(8))
    again = run_pass(settings(inbox, work, db_url))
    assert (again.imported, again.duplicates) == (0, 1) and csv_files(inbox) == []
    with open_store(work, db_url) as s:
        assert count(s, "SELECT count(*) FROM deliveries") == 2
        assert count(s, "SELECT count(*) FROM raw_rows") == 12
        assert count(s, "SELECT count(*) FROM findings WHERE code = 'DUPLICATE_DELIVERY'") == 0  # no new note
        assert count(s, "SELECT count(*) FROM audit_log WHERE action = 'duplicate_delivery'") == 1


def test_half_written_deliveries_are_left_alone(tmp_path, work, db_url):
    inbox = tmp_path / "inbox"
    dok, data = write_delivery(tmp_path / "staging", rows_for(40))
    # Only the dok file has arrived: wait for the data file.
    (inbox).mkdir()
    (inbox / dok.name).write_bytes(dok.read_bytes())
    first = run_pass(settings(inbox, work, db_url))
    assert (first.imported, first.quarantined, first.waiting) == (0, 0, 1)
    assert csv_files(inbox) == ["K2697dok.csv"]
    # The data file is still being written while the pass looks.
    body = data.read_bytes()
    target = inbox / data.name
    target.write_bytes(body[: len(body) // 2])

    # The writer finishes while the pass waits for the files to settle: driven from the pass's
    # own wait (no thread racing a sleep), so the file changes inside the settle window every time.
    import ingest.inbox as inbox_module

    real_sleep = inbox_module.time.sleep
    writes = []

    def settle_then_write(seconds):
        if not writes:
            with target.open("ab") as fh:
                fh.write(body[len(body) // 2:])
            writes.append(seconds)

    inbox_module.time.sleep = settle_then_write
    try:
        second = run_pass(settings(inbox, work, db_url, settle_s=0.6))
    finally:
        inbox_module.time.sleep = real_sleep
    assert writes == [0.6]
    assert (second.imported, second.quarantined) == (0, 0) and second.waiting >= 1
    assert csv_files(inbox) == ["K2697dok.csv", "K2697fd.csv"]
    # Complete now.
    third = run_pass(settings(inbox, work, db_url, settle_s=0.05))
    assert (third.imported, third.rows, third.errors) == (1, 40, 0)
    assert csv_files(inbox) == []


def test_unusable_files_go_to_quarantine_with_a_reason(tmp_path, work, db_url):
    inbox = tmp_path / "inbox"
    write_delivery(inbox, rows_for(3))
    dok, data = write_delivery(inbox, rows_for(3), entry="K2700")
    data.write_bytes(b"\x00\x01binary\x00" * 50)
    (inbox / "notes.csv").write_text("just;some;notes\n1;2;3\n", encoding="utf-8")
    (inbox / "K2701dok.csv").write_bytes(dok.read_bytes().replace(b"K2700", b"K2701"))  # its pair never comes
    result = run_pass(settings(inbox, work, db_url, pair_wait_s=3600))
    assert (result.imported, result.quarantined, result.waiting) == (1, 2, 1)
    assert csv_files(inbox) == ["K2701dok.csv"]
    folders = sorted((work / "quarantine").iterdir())
    assert len(folders) == 2
    held = {p.name: p for folder in folders for p in folder.iterdir()}
    assert set(held) == {"K2700dok.csv", "K2700dok.csv.reason.txt", "K2700fd.csv", "K2700fd.csv.reason.txt",
                         "notes.csv", "notes.csv.reason.txt"}
    assert "FILE_UNREADABLE" in held["K2700fd.csv.reason.txt"].read_text(encoding="utf-8")
    assert "FILE_UNRECOGNISED" in held["notes.csv.reason.txt"].read_text(encoding="utf-8")
    assert held["K2700fd.csv"].read_bytes() == b"\x00\x01binary\x00" * 50  # moved, not changed
    # Once its pair has waited long enough, a lone file is handled too.
    later = run_pass(settings(inbox, work, db_url, pair_wait_s=0))
    assert later.quarantined == 1 and csv_files(inbox) == []
    with open_store(work, db_url) as s:
        rejected = count(s, "SELECT count(*) FROM deliveries WHERE status = 'rejected'")
        assert rejected == 3


def test_a_lock_stops_two_passes_at_once(tmp_path, work, db_url):
    inbox = tmp_path / "inbox"
    write_delivery(inbox, rows_for(3))
    with open_store(work, db_url) as s, WorkLock(work, s):
        with pytest.raises(LockHeld, match="another import or inbox pass is running"):
            run_pass(settings(inbox, work, db_url))
        proc = cli("run", "--inbox", str(inbox), "--work", str(work), "--settle", "0", *db_args(db_url))
        assert proc.returncode == 2 and "another import or inbox pass is running" in one_line(proc.stderr)
        assert csv_files(inbox) == ["K2697dok.csv", "K2697fd.csv"]
    # Released: the next pass runs.
    assert run_pass(settings(inbox, work, db_url)).imported == 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite lives in its work folder
def test_the_postgresql_lock_holds_across_work_folders(tmp_path, db_url):
    with open_store(tmp_path / "a", db_url) as a, open_store(tmp_path / "b", db_url) as b, WorkLock(a.work, a):
        with pytest.raises(LockHeld, match="same PostgreSQL database"):
            WorkLock(b.work, b).acquire()


def test_a_full_database_stops_the_pass_and_moves_nothing(tmp_path, work):
    inbox = tmp_path / "inbox"
    write_delivery(inbox, rows_for(300))
    store = open_store(work)
    with store.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    @event.listens_for(store.engine, "connect")
    def _limit(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 6}")

    store.engine.dispose()
    with pytest.raises(StoreFull, match="is full"):
        run_pass(settings(inbox, work, None), store=store)
    store.close()
    assert csv_files(inbox) == ["K2697dok.csv", "K2697fd.csv"]
    with open_store(work) as s:
        assert count(s, "SELECT count(*) FROM deliveries") == 0
        assert count(s, "SELECT count(*) FROM raw_rows") == 0
    # With room again, the next pass does the job.
    assert run_pass(settings(inbox, work, None)).imported == 1


def test_an_unreachable_database_stops_the_pass_with_one_line(tmp_path):
    inbox = tmp_path / "inbox"
    write_delivery(inbox, rows_for(3))
    proc = cli("run", "--inbox", str(inbox), "--work", str(tmp_path / "w"), "--settle", "0",
               "--db", "postgresql://mgr@127.0.0.1:9/mgr", cwd=tmp_path)
    assert proc.returncode == 2
    assert "database" in one_line(proc.stderr)
    assert csv_files(inbox) == ["K2697dok.csv", "K2697fd.csv"]


def test_run_and_schedule_commands(tmp_path, db_url):
    inbox = tmp_path / "inbox"
    write_delivery(inbox, rows_for(5))
    work = tmp_path / "w"
    proc = cli("schedule", "--inbox", str(inbox), "--every", "1s", "--passes", "2", "--settle", "0",
               "--work", str(work), *db_args(db_url), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # the passes' own lines ("run N: …"), not APScheduler's note that a slow pass made it skip a tick
    passes = [line for line in proc.stderr.splitlines() if re.search(r" run \d+: ", line)]
    assert len(passes) == 2 and "1 imported" in passes[0] and "0 imported" in passes[1]
    for name in (f.name for f in FIXTURES.glob("K2697*")):
        (inbox / name).write_bytes((FIXTURES / name).read_bytes())
    run = cli("run", "--inbox", str(inbox), "--work", str(work), "--settle", "0", *db_args(db_url), cwd=tmp_path)
    assert run.returncode == 1, run.stderr  # the fixture K2697 carries error findings
    assert "1 new versions" in run.stderr and run.stdout.strip().endswith("report.html")


def test_intervals():
    assert parse_interval("15m") == 900 and parse_interval("30s") == 30 and parse_interval("2h") == 7200
    assert parse_interval("45") == 45
    with pytest.raises(ValueError):
        parse_interval("soon")
    bad = cli("schedule", "--inbox", ".", "--every", "often")
    assert bad.returncode == 2 and "not an interval" in one_line(bad.stderr)


def test_status_before_any_import(tmp_path):
    proc = cli("status", "--work", str(tmp_path / "nothing-yet"), cwd=tmp_path)
    assert proc.returncode == 0 and "no deliveries imported yet" in proc.stdout
    assert not (tmp_path / "nothing-yet").exists()


def test_runs_are_recorded(tmp_path, store):
    inbox = tmp_path / "inbox"
    write_delivery(inbox, rows_for(2))
    run_pass(settings(inbox, store.work, None), store=store) if store.dialect == "sqlite" else run_pass(
        settings(inbox, store.work, str(store.url.render_as_string(hide_password=False))))
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, status, summary FROM runs")).all()
    assert [(r[0], r[1]) for r in rows] == [("inbox", "finished")]
    summary = rows[0][2] if isinstance(rows[0][2], dict) else json.loads(rows[0][2])
    assert summary["imported"] == 1 and summary["rows"] == 2


def test_a_file_that_cannot_leave_the_inbox_is_logged_by_its_keys(tmp_path, work, db_url, monkeypatch, caplog):
    """The file stays for the next pass; the log says which delivery and why (the error's
    code), never the path, whose folder and file names may be anything."""
    import logging
    from pathlib import Path

    inbox = tmp_path / "Hansine Jensdatter 1921"
    write_delivery(inbox, rows_for(3))
    real_unlink = Path.unlink

    def refuse(self, *args, **kwargs):
        if inbox in self.parents:
            raise PermissionError(13, "Permission denied", str(self))
        return real_unlink(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", refuse)
    with caplog.at_level(logging.DEBUG):
        result = run_pass(settings(inbox, work, db_url))
    assert result.imported == 1
    assert len(csv_files(inbox)) == 2  # still there for the next pass
    lines = [r.getMessage() for r in caplog.records if "stays in the inbox" in r.getMessage()]
    assert lines and all("K2697" in line and "EACCES" in line for line in lines)
    assert not any("Hansine" in r.getMessage() or "K2697fd.csv" in r.getMessage() for r in caplog.records)
