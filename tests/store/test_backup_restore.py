"""``mgr-ingest backup`` / ``restore``: a restored store rebuilds the same clean tables.

A store is filled with births, deaths and censuses, manual corrections, a new version and a
quarantined delivery; it is backed up, restored into an empty folder (SQLite, and PostgreSQL
in both directions when a server is at hand), and every clean table rebuilt from the copy
must equal the original's. A damaged or truncated backup, a folder that is not empty and a
running pass are refused with one line, and nothing is written.
"""

from __future__ import annotations

import shutil
import tarfile

import pandas as pd
import pytest
from conftest import write_delivery
from store_support import REPO, count, one_line, rows_for

from ingest.cli_safety import main as safety
from ingest.store import WorkLock, add_correction, import_paths, open_store, rebuild_clean
from ingest.store.status import overview

pytest_plugins = ["store_fixtures"]  # db_url: SQLite, and PostgreSQL when MGR_TEST_PG_URL is set

SOURCES = ("KBF", "KBD", "FT")


def fill(store, tmp_path) -> None:
    import_paths(store, [REPO / "fixtures" / "kbf", REPO / "fixtures" / "kbd", REPO / "fixtures" / "ft"])
    add_correction(store, "K2697", 3, "FORNAVN", "Verner Christian", who="anna", why="scan p. 1")
    add_correction(store, "K2750", 2, "EFTERNAVN", "Hansen", who="bo", why="scan p. 1")
    newer = tmp_path / "newer"
    write_delivery(newer, rows_for(6), entry="K2790", meta={"SOGN": "Tikøb"})
    import_paths(store, [newer])
    write_delivery(newer, rows_for(7), entry="K2790", meta={"SOGN": "Tikøb"})  # a second version
    (newer / "K2790dok.csv").unlink()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "K2791fd.csv").write_bytes(b"\x00\x01\x02" * 40)
    import_paths(store, [newer, tmp_path / "bad"])
    # An inbox pass that quarantines a broken file and a link out of the inbox.
    from ingest.inbox import PassSettings, run_pass

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "K2793fd.csv").write_bytes(b"\xff\xfe\x00" * 30)
    (tmp_path / "elsewhere.csv").write_text("x;y\n1;2\n")
    (inbox / "K2794fd.csv").symlink_to(tmp_path / "elsewhere.csv")
    run_pass(PassSettings(inbox=inbox, work=store.work, settle_s=0, pair_wait_s=0.001), store=store)


def tables_of(work, db_url=None) -> dict[str, pd.DataFrame]:
    with open_store(work, db_url) as store:
        return {s: rebuild_clean(store, s) for s in SOURCES}


def facts(work, db_url=None) -> dict:
    with open_store(work, db_url) as store:
        rows = overview(store)
        for r in rows:
            r.pop("imported_at")
        return {"overview": rows,
                "audit": count(store, "SELECT count(*) FROM audit_log"),
                "corrections": count(store, "SELECT count(*) FROM corrections"),
                "findings": count(store, "SELECT count(*) FROM findings")}


def same_tables(a: dict, b: dict) -> None:
    for source in SOURCES:
        assert len(a[source]) > 0
        pd.testing.assert_frame_equal(a[source], b[source])


def run(*argv) -> tuple[int, str]:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = safety([str(a) for a in argv])
    return code, err.getvalue()


def test_backup_and_restore_into_an_empty_folder(tmp_path, db_url):
    work = tmp_path / "work"
    with open_store(work, db_url) as store:
        fill(store, tmp_path)
    before, before_facts = tables_of(work, db_url), facts(work, db_url)
    code, err = run("backup", "--work", work, *(["--db", db_url] if db_url else []), "--to", tmp_path / "b.tar")
    assert code == 0, err
    # Into SQLite in a new folder, whichever database the backup came from.
    code, err = run("restore", tmp_path / "b.tar", "--work", tmp_path / "again")
    assert code == 0, err
    same_tables(before, tables_of(tmp_path / "again"))
    assert facts(tmp_path / "again") == before_facts
    archived = sorted(p.relative_to(work) for p in (work / "archive").rglob("*") if p.is_file())
    assert archived and archived == sorted(p.relative_to(tmp_path / "again")
                                           for p in (tmp_path / "again" / "archive").rglob("*") if p.is_file())
    held = sorted((p.relative_to(work), p.is_symlink()) for p in (work / "quarantine").rglob("*"))
    assert any(link for _, link in held) and len(held) >= 4
    assert held == sorted((p.relative_to(tmp_path / "again"), p.is_symlink())
                          for p in (tmp_path / "again" / "quarantine").rglob("*"))
    # The restored store goes on working: a new delivery gets fresh ids.
    more = tmp_path / "more"
    write_delivery(more, rows_for(4), entry="K2792")
    with open_store(tmp_path / "again") as store:
        run_ = import_paths(store, [more])
        assert [o.status for o in run_.outcomes] == ["imported"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_sqlite_to_postgresql_and_back(tmp_path, db_url):
    work = tmp_path / "work"
    with open_store(work) as store:
        fill(store, tmp_path)
    before = tables_of(work)
    assert run("backup", "--work", work, "--to", tmp_path / "b.tar")[0] == 0
    code, err = run("restore", tmp_path / "b.tar", "--work", tmp_path / "pg", "--db", db_url)
    assert code == 0, err
    same_tables(before, tables_of(tmp_path / "pg", db_url))
    assert facts(tmp_path / "pg", db_url) == facts(work)
    more = tmp_path / "more"
    write_delivery(more, rows_for(4), entry="K2792")
    with open_store(tmp_path / "pg", db_url) as store:  # sequences were moved past the restored ids
        assert [o.status for o in import_paths(store, [more]).outcomes] == ["imported"]
    # And a backup of that PostgreSQL store restores into SQLite the same again.
    assert run("backup", "--work", tmp_path / "pg", "--db", db_url, "--to", tmp_path / "pg.tar")[0] == 0
    assert run("restore", tmp_path / "pg.tar", "--work", tmp_path / "back")[0] == 0
    same_tables(tables_of(tmp_path / "pg", db_url), tables_of(tmp_path / "back"))


@pytest.fixture
def backed_up(tmp_path):
    work = tmp_path / "work"
    with open_store(work) as store:
        fill(store, tmp_path)
    assert run("backup", "--work", work, "--to", tmp_path / "b.tar")[0] == 0
    return work, tmp_path / "b.tar"


def _rewrite(src, dst, change) -> None:
    with tarfile.open(src) as tin, tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as tout:
        for member in tin:
            data = tin.extractfile(member).read() if member.isfile() else None
            member, data = change(member, data)
            if member is not None:
                tout.addfile(member, None if data is None else __import__("io").BytesIO(data))


def test_a_damaged_backup_is_refused_before_anything_is_written(backed_up, tmp_path):
    _, good = backed_up

    def flip(member, data):
        if member.name.startswith("files/archive/") and data:
            data = bytes([data[0] ^ 1]) + data[1:]
        return member, data

    _rewrite(good, tmp_path / "flipped.tar", flip)
    code, err = run("restore", tmp_path / "flipped.tar", "--work", tmp_path / "r1")
    assert code == 2 and "checksum mismatch" in one_line(err)
    assert not (tmp_path / "r1").exists()

    dropped = []

    def drop_one(member, data):
        if member.name.startswith("files/archive/") and not dropped:
            dropped.append(member.name)
            return None, None
        return member, data

    _rewrite(good, tmp_path / "short.tar", drop_one)
    code, err = run("restore", tmp_path / "short.tar", "--work", tmp_path / "r2")
    assert code == 2 and "lacks" in one_line(err)

    data = good.read_bytes()
    (tmp_path / "cut.tar").write_bytes(data[: len(data) // 2])
    code, err = run("restore", tmp_path / "cut.tar", "--work", tmp_path / "r3")
    assert code == 2, err
    one_line(err)
    assert not (tmp_path / "r3").exists()
    assert not [p for p in tmp_path.iterdir() if ".restoring-" in p.name]


def test_restore_refuses_a_folder_in_use_and_backup_a_running_pass(backed_up, tmp_path):
    work, good = backed_up
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "something").write_text("x")
    code, err = run("restore", good, "--work", tmp_path / "busy")
    assert code == 2 and "not empty" in one_line(err)
    with open_store(work) as store, WorkLock(work, store):
        code, err = run("backup", "--work", work, "--to", tmp_path / "b2.tar")
        assert code == 2 and "another import or inbox pass is running" in one_line(err)
    assert not (tmp_path / "b2.tar").exists()
    code, err = run("backup", "--work", work, "--to", good)
    assert code == 2 and "exists already" in one_line(err)
    code, err = run("backup", "--work", work, "--to", work / "inside.tar")
    assert code == 2 and "outside the work folder" in one_line(err)
    shutil.rmtree(tmp_path / "busy")
