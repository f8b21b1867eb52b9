"""Links in the inbox: a linked folder is reported and never entered; a hard-linked file is
read like any file and never written through. What lies outside the inbox stays as it was."""

from __future__ import annotations

import json
import os
import stat

from conftest import write_delivery
from store_support import cli, count, db_args, rows_for

from ingest.inbox import PassSettings, run_pass
from ingest.store import open_store
from ingest.store.archive import file_sha256

pytest_plugins = ["store_fixtures"]  # the db_url, store and work fixtures


def settings(inbox, work, db_url, **kw) -> PassSettings:
    kw.setdefault("settle_s", 0.0)
    return PassSettings(inbox=inbox, work=work, db=db_url, **kw)


def snapshot(folder):
    """Every entry under ``folder`` (links not followed): its kind, bytes, mode, time and inode."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        kind = "link" if p.is_symlink() else "dir" if p.is_dir() else "file"
        body = os.readlink(p) if kind == "link" else p.read_bytes() if kind == "file" else None
        out[p.relative_to(folder).as_posix()] = (kind, body, stat.S_IMODE(st.st_mode), st.st_mtime_ns, st.st_ino)
    return out


def links_in(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_symlink())


def test_a_linked_folder_is_reported_not_entered_and_the_other_deliveries_are_imported(tmp_path, work, db_url):
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    write_delivery(inbox, rows_for(5))  # a good delivery at the top
    write_delivery(inbox / "sub", rows_for(3), entry="K2698", meta={"INDTASTNINGSNUMMER": "K2698"})  # and in a folder
    # Outside the inbox: a folder of deliveries, which must be neither read nor moved.
    write_delivery(outside / "deliveries", rows_for(4), entry="K2699", meta={"INDTASTNINGSNUMMER": "K2699"})
    (outside / "deliveries" / "notes.csv").write_text("a;b\n1;2\n", encoding="utf-8")
    (inbox / "linked folder").symlink_to(outside / "deliveries", target_is_directory=True)
    (inbox / "sub" / "nested link").symlink_to(outside / "deliveries", target_is_directory=True)
    (inbox / "K2700fd.csv").symlink_to(outside / "deliveries", target_is_directory=True)  # named like a file
    (inbox / ".hidden link").symlink_to(outside / "deliveries", target_is_directory=True)  # hidden: left alone
    before = snapshot(outside)

    result = run_pass(settings(inbox, work, db_url))

    # The other deliveries of the pass are imported; each linked folder is one rejected delivery.
    assert (result.imported, result.quarantined, result.waiting) == (2, 3, 0)
    assert result.rows == 8 and result.errors >= 3
    report = json.loads((result.report / "findings.json").read_text(encoding="utf-8"))
    linked = [f for f in report["findings"] if f["code"] == "FOLDER_LINKED"]
    assert sorted(f["file"] for f in linked) == ["K2700fd.csv", "linked folder", "nested link"]
    assert {f["severity"] for f in linked} == {"error"}
    assert all("symbolic link to a folder" in f["message"] for f in linked)
    assert not [f for f in report["findings"] if f["file"] in ("K2699dok.csv", "K2699fd.csv", "notes.csv")]

    # Outside the inbox nothing was read, moved or changed.
    assert snapshot(outside) == before
    with open_store(work, db_url) as s:
        assert count(s, "SELECT count(*) FROM deliveries WHERE entry_number = 'K2699'") == 0
        assert count(s, "SELECT count(*) FROM raw_rows") == 8
        assert count(s, "SELECT count(*) FROM findings WHERE code = 'FOLDER_LINKED'") == 3
    archived = {p.name.split(".")[0] for p in (work / "archive").rglob("*.csv")}
    assert not archived & {file_sha256(outside / "deliveries" / n) for n in ("K2699dok.csv", "K2699fd.csv")}

    # The links themselves went to quarantine, still links to the same place, with a reason.
    held = {p.name: p for p in (work / "quarantine").rglob("*")}
    for name in ("linked folder", "nested link", "K2700fd.csv"):
        assert held[name].is_symlink() and os.readlink(held[name]) == str(outside / "deliveries")
        assert "FOLDER_LINKED" in held[f"{name}.reason.txt"].read_text(encoding="utf-8")
    # The inbox keeps its ordinary folder (emptied) and the hidden link, nothing else.
    assert links_in(inbox) == [".hidden link"]
    assert (inbox / "sub").is_dir() and list((inbox / "sub").iterdir()) == []

    # `mgr-ingest status` shows them as rejected deliveries named after the link, with their error.
    proc = cli("status", "--json", "--work", str(work), *db_args(db_url), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = {d["entry_number"]: d for d in json.loads(proc.stdout)["deliveries"]}
    for name in ("linked folder", "nested link", "K2700fd.csv"):
        assert rows[name]["status"] == "rejected" and rows[name]["findings"]["error"] == 1
        assert rows[name]["reason"].startswith("FOLDER_LINKED:")
        assert [f["role"] for f in rows[name]["files"]] == ["folder"]
    assert rows["K2697"]["status"] == rows["K2698"]["status"] == "current"
    text = cli("status", "--work", str(work), *db_args(db_url), cwd=tmp_path)
    assert "linked folder" in text.stdout and "Traceback" not in text.stderr

    # Reported once: the next pass finds nothing new.
    again = run_pass(settings(inbox, work, db_url))
    assert (again.imported, again.quarantined) == (0, 0)
    with open_store(work, db_url) as s:
        assert count(s, "SELECT count(*) FROM deliveries") == 5
    assert snapshot(outside) == before


def test_the_run_command_exits_1_for_a_linked_folder_without_a_traceback(tmp_path, db_url):
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    write_delivery(inbox, rows_for(3))
    write_delivery(outside, rows_for(3), entry="K2699", meta={"INDTASTNINGSNUMMER": "K2699"})
    (inbox / "elsewhere").symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    proc = cli("run", "--inbox", str(inbox), "--work", str(tmp_path / "w"), "--settle", "0", *db_args(db_url),
               cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # done; a finding is an error
    assert "Traceback" not in proc.stderr
    assert "1 imported" in proc.stderr and "1 quarantined" in proc.stderr
    assert snapshot(outside) == before and links_in(inbox) == []


def test_a_folder_link_that_slips_past_the_listing_is_still_not_entered(tmp_path, work, db_url, monkeypatch):
    """A link swapped in after the inbox was listed (taken for a file): the pass pairs what it
    listed and never enters a path, so the reader refuses the link and nothing behind it moves."""
    import ingest.inbox

    monkeypatch.setattr(ingest.inbox, "_linked_folder", lambda path: False)
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    write_delivery(inbox, rows_for(3))
    write_delivery(outside, rows_for(3), entry="K2699", meta={"INDTASTNINGSNUMMER": "K2699"})
    (inbox / "K2700fd.csv").symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    result = run_pass(settings(inbox, work, db_url, pair_wait_s=0))
    assert (result.imported, result.quarantined) == (1, 1)
    assert snapshot(outside) == before
    with open_store(work, db_url) as s:
        assert count(s, "SELECT count(*) FROM deliveries WHERE entry_number = 'K2699'") == 0


def _double_encoded(folder, entry):
    """A delivery whose UTF-8 was encoded a second time (read back with a repair)."""
    dok, data = write_delivery(folder, rows_for(4, r1={"FORNAVN": "Søren", "FOEDESTED": "Åbenrå"}), entry=entry,
                               meta={"INDTASTNINGSNUMMER": entry}, encoding="utf-8")
    for p in (dok, data):
        p.write_bytes(p.read_bytes().decode("cp1252", errors="replace").encode("utf-8"))
    return dok, data


def test_hard_linked_files_are_read_and_never_written_through(tmp_path, work, db_url):
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    inbox.mkdir()
    good = write_delivery(outside, rows_for(5))
    repaired = _double_encoded(outside, "K2701")
    dok, data = write_delivery(outside, rows_for(3), entry="K2700", meta={"INDTASTNINGSNUMMER": "K2700"})
    data.write_bytes(b"\x00\x01binary\x00" * 50)  # unusable: goes to quarantine
    for p in outside.iterdir():
        os.chmod(p, 0o664)
        os.link(p, inbox / p.name)  # the same bytes, a second name in the inbox
        assert p.stat().st_nlink == 2
    before = snapshot(outside)

    result = run_pass(settings(inbox, work, db_url))

    assert (result.imported, result.quarantined, result.waiting) == (2, 1, 0)
    report = json.loads((result.report / "findings.json").read_text(encoding="utf-8"))
    assert any(f["code"] == "ENCODING_REPAIRED" and f["entry_number"] == "K2701" for f in report["findings"])
    assert not [f for f in report["findings"] if f["code"] == "FOLDER_LINKED"]
    # No byte, mode or time of the other names changed (the repair is made in memory only);
    # the inbox's names are gone: imported ones removed, the unusable pair moved to quarantine.
    assert snapshot(outside) == before
    assert list(inbox.iterdir()) == []
    for p in (*good, *repaired):
        assert p.stat().st_nlink == 1
    held = {p.name: p for p in (work / "quarantine").rglob("*.csv")}
    assert set(held) == {"K2700dok.csv", "K2700fd.csv"}
    for name, p in held.items():
        assert p.read_bytes() == (outside / name).read_bytes() and p.stat().st_ino == (outside / name).stat().st_ino
    # The archive keeps copies of its own: read-only, not sharing the other names' bytes.
    with open_store(work, db_url) as s, s.engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT f.name, f.sha256, f.archive_path FROM delivery_files f JOIN deliveries d "
            "ON d.id = f.delivery_id WHERE d.status = 'current'").all()
        assert sorted(r[0] for r in stored) == ["K2697dok.csv", "K2697fd.csv", "K2701dok.csv", "K2701fd.csv"]
        for name, sha, rel in stored:
            copy = s.archive.path_of(rel)
            assert copy.stat().st_ino != (outside / name).stat().st_ino and copy.stat().st_nlink == 1
            assert stat.S_IMODE(copy.stat().st_mode) == 0o444 and stat.S_IMODE((outside / name).stat().st_mode) == 0o664
        # Writing through the other name later does not reach the archive.
        with (outside / "K2697fd.csv").open("ab") as fh:
            fh.write(b"changed later\r\n")
        assert all(s.archive.holds(rel, sha) for _, sha, rel in stored)

    # The same bytes linked in again: a duplicate, whose inbox names are removed, the others kept.
    for p in repaired:
        os.link(p, inbox / p.name)
    kept = snapshot(outside)
    again = run_pass(settings(inbox, work, db_url))
    assert (again.imported, again.duplicates, again.quarantined) == (0, 1, 0)
    assert list(inbox.iterdir()) == [] and snapshot(outside) == kept
    assert all(p.stat().st_nlink == 1 for p in repaired)
