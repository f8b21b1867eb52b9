"""Importing into the store: once per bytes, versions, corrections that survive, the clean rebuild."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import write_delivery
from sqlalchemy import text
from store_support import FIXTURES, cli, count, db_args, one_line, rows_for

from ingest.store import CorrectionRefused, add_correction, import_paths, overview, rebuild, rebuild_clean
from ingest.store.archive import file_sha256

pytest_plugins = ["store_fixtures"]  # the db_url, store and work fixtures


def findings_of(store, code: str) -> list[dict]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM findings WHERE code = :c ORDER BY id"), {"c": code}).mappings()
        return [dict(r) for r in rows]


def current(store, entry: str):
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT * FROM deliveries WHERE entry_number = :e AND status = 'current'"),
                            {"e": entry}).mappings().one()


def test_same_delivery_twice_is_imported_once(tmp_path, store):
    write_delivery(tmp_path / "in", rows_for(10))
    first = import_paths(store, [tmp_path / "in"])
    assert [(o.entry_number, o.status, o.version, o.rows) for o in first.outcomes] == [("K2697", "imported", 1, 10)]
    # The same bytes again, under other names in another folder.
    (tmp_path / "again").mkdir()
    for f in (tmp_path / "in").iterdir():
        (tmp_path / "again" / f.name.upper()).write_bytes(f.read_bytes())
    second = import_paths(store, [tmp_path / "again"])
    assert [(o.status, o.version) for o in second.outcomes] == [("duplicate", 1)]
    assert count(store, "SELECT count(*) FROM deliveries") == 1
    assert count(store, "SELECT count(*) FROM raw_rows") == 10
    # a no-op for the store: no note added to the stored delivery, said in the run and the audit log
    assert findings_of(store, "DUPLICATE_DELIVERY") == []
    assert second.result.findings_json()["findings"][0]["code"] == "DUPLICATE_DELIVERY"
    assert count(store, "SELECT count(*) FROM audit_log WHERE action = 'duplicate_delivery'") == 1
    notes_before = count(store, "SELECT count(*) FROM findings")
    third = import_paths(store, [tmp_path / "in"])
    assert [o.status for o in third.outcomes] == ["duplicate"]
    assert count(store, "SELECT count(*) FROM findings") == notes_before


def test_originals_are_archived_byte_for_byte_by_hash(tmp_path, store):
    dok, data = write_delivery(tmp_path / "in", rows_for(3), encoding="utf-8-sig", newline="\n")
    import_paths(store, [tmp_path / "in"])
    with store.engine.connect() as conn:
        files = conn.execute(text("SELECT name, role, sha256, size, encoding, archive_path FROM delivery_files "
                                  "ORDER BY name")).mappings().all()
    assert [(f["name"], f["role"]) for f in files] == [("K2697dok.csv", "dok"), ("K2697fd.csv", "fd")]
    for f, original in zip(files, (dok, data)):
        kept = store.archive.path_of(f["archive_path"])
        assert kept.read_bytes() == original.read_bytes()
        assert f["sha256"] == file_sha256(original) and f["archive_path"].startswith(f["sha256"][:2] + "/")
        assert f["size"] == original.stat().st_size
    assert [f["encoding"] for f in files] == ["utf-8-sig", "utf-8-sig"]  # the BOM seen in both files


def test_raw_rows_keep_every_field_as_keyed(tmp_path, store):
    rows = rows_for(4, r2={"FORNAVN": 'Ane "Stine"', "ANMAERKNINGER": "død, se\\note"}, r3={"MELLEMNAVNE": "--"})
    write_delivery(tmp_path / "in", rows)
    import_paths(store, [tmp_path / "in"])
    with store.engine.connect() as conn:
        got = conn.execute(text("SELECT loebe_nr, line, fields FROM raw_rows ORDER BY row_no")).all()
    assert [(k, line) for k, line, _ in got] == [(1, 2), (2, 3), (3, 4), (4, 5)]
    second = got[1][2] if isinstance(got[1][2], dict) else json.loads(got[1][2])
    assert second["FORNAVN"] == 'Ane "Stine"' and second["ANMAERKNINGER"] == "død, se\\note"
    third = got[2][2] if isinstance(got[2][2], dict) else json.loads(got[2][2])
    assert third["MELLEMNAVNE"] == "--" and "FADERS_FORNAVN" not in third  # empty fields are left out


def _correct_and_redeliver(tmp_path, store, new_rows):
    write_delivery(tmp_path / "v1", rows_for(6))
    import_paths(store, [tmp_path / "v1"])
    add_correction(store, "K2697", 2, "FORNAVN", "Niels Peter", who="anna", why="scan, p. 1")
    add_correction(store, "K2697", 3, "EFTERNAVN", "Lauridsen", who="anna", why="scan")
    add_correction(store, "K2697", 5, "FOEDESTED", "Tibirke", who="bo", why="scan")
    add_correction(store, "K2697", 6, "MODERS_ALDER", "29", who="bo", why="scan")
    write_delivery(tmp_path / "v2", new_rows)
    return import_paths(store, [tmp_path / "v2"])


def test_redelivery_is_a_new_version_and_corrections_follow_their_records(tmp_path, store):
    new_rows = rows_for(6, r3={"EFTERNAVN": "Lauritsen"}, r5={"FOEDESTED": "Tibirke"}, r1={"KOEN": "K"})
    del new_rows[5]  # record 6 is gone from the new export
    run = _correct_and_redeliver(tmp_path, store, new_rows)
    assert [(o.status, o.version, o.rows) for o in run.outcomes] == [("new_version", 2, 5)]
    by_status = {(r["version"], r["status"]) for r in overview(store)}
    assert by_status == {(1, "superseded"), (2, "current")}
    v2 = current(store, "K2697")
    with store.engine.connect() as conn:
        carried = conn.execute(text("SELECT loebe_nr, field, old_value, new_value, who, carried_from_id "
                                    "FROM corrections WHERE kind = 'manual' AND delivery_id = :d"),
                               {"d": v2["id"]}).all()
    # Record 2's first name is keyed as before: the correction is carried over.
    assert [(c[0], c[1], c[3], c[4]) for c in carried] == [(2, "FORNAVN", "Niels Peter", "anna")]
    assert carried[0][5] is not None
    # Record 3's surname was re-keyed differently: a person must decide.
    conflict = findings_of(store, "CORRECTION_CONFLICT")
    assert [(f["loebe_nr"], f["field"], f["suggestion"], f["severity"], f["line"]) for f in conflict] == [
        (3, "EFTERNAVN", "Lauridsen", "warning", 4)]
    assert "Lauritsen" in conflict[0]["message"]
    # Record 6 is gone.
    gone = findings_of(store, "CORRECTION_RECORD_GONE")
    assert [(f["loebe_nr"], f["field"]) for f in gone] == [(6, "MODERS_ALDER")]
    # Record 5: the new export already says what the correction said; nothing left to carry.
    with store.engine.connect() as conn:
        settled = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'correction_settled'")).scalar()
    assert settled == 1
    assert sorted(f["code"] for f in run.result.findings_json()["findings"] if f["code"].startswith(("CORR", "DELIV"))) \
        == ["CORRECTION_CONFLICT", "CORRECTION_RECORD_GONE", "DELIVERY_NEW_VERSION"]
    # Nothing of version 1 was changed or removed.
    assert count(store, "SELECT count(*) FROM raw_rows") == 6 + 5


def test_corrections_carry_on_through_versions(tmp_path, store):
    run = _correct_and_redeliver(tmp_path, store, rows_for(6, r1={"KOEN": "K"}))
    assert run.outcomes[0].version == 2
    write_delivery(tmp_path / "v3", rows_for(6, r1={"KOEN": "K"}, r4={"FORNAVN": "Ib"}, r3={"EFTERNAVN": "Lund"}))
    third = import_paths(store, [tmp_path / "v3"])
    assert third.outcomes[0].version == 3
    v3 = current(store, "K2697")
    with store.engine.connect() as conn:
        fields = {r[0] for r in conn.execute(text("SELECT field FROM corrections WHERE kind = 'manual' "
                                                  "AND delivery_id = :d"), {"d": v3["id"]})}
    # Carried twice, from version 1 through version 2; the surname of record 3 was re-keyed in version 3.
    assert fields == {"FORNAVN", "FOEDESTED", "MODERS_ALDER"}
    assert [f["loebe_nr"] for f in findings_of(store, "CORRECTION_CONFLICT")] == [3]


def test_manual_corrections_are_refused_when_they_cannot_be_placed(tmp_path, store):
    rows = rows_for(3)
    rows[2]["LOEBE_NR"] = "2"  # two records share running number 2
    write_delivery(tmp_path / "in", rows)
    import_paths(store, [tmp_path / "in"])
    with pytest.raises(CorrectionRefused, match="appears 2 times"):
        add_correction(store, "K2697", 2, "FORNAVN", "X", who="anna")
    with pytest.raises(CorrectionRefused, match="record key"):
        add_correction(store, "K2697", 1, "LOEBE_NR", "7", who="anna")
    with pytest.raises(CorrectionRefused, match="no record"):
        add_correction(store, "K2697", 9, "FORNAVN", "X", who="anna")
    with pytest.raises(CorrectionRefused, match="no current delivery"):
        add_correction(store, "K9999", 1, "FORNAVN", "X", who="anna")


def test_rebuilt_clean_table_equals_the_clean_command(tmp_path, store, db_url):
    out = tmp_path / "out"
    proc = cli("clean", str(FIXTURES), "--out", str(out))
    assert proc.returncode == 1, proc.stderr
    import_paths(store, [FIXTURES])
    written = pq.read_table(out / "kbf.parquet").to_pandas()
    rebuilt = rebuild_clean(store, "KBF")
    pq.write_table(pa.Table.from_pandas(rebuilt, preserve_index=False), tmp_path / "rebuilt.parquet")
    rebuilt = pq.read_table(tmp_path / "rebuilt.parquet").to_pandas()
    keys = ["INDTASTNINGSNUMMER", "KILDEFIL", "LINJE"]
    assert sorted(rebuilt.columns) == sorted(written.columns)
    a = written.sort_values(keys).reset_index(drop=True)
    b = rebuilt[list(written.columns)].sort_values(keys).reset_index(drop=True)
    assert len(a) == 1337
    pd.testing.assert_frame_equal(a, b)


def test_rebuild_lays_manual_corrections_over_the_clean_columns(tmp_path, store):
    rows = rows_for(5, r4={"FOEDSELSDATO": "19210230"})
    write_delivery(tmp_path / "in", rows)
    import_paths(store, [tmp_path / "in"])
    before = rebuild_clean(store).set_index("LOEBE_NR")
    assert before.at[4, "BLOKERENDE_FEJL"] and not before.at[4, "TIL_LINKAGE"]
    add_correction(store, "K2697", 4, "FOEDSELSDATO", "19210220", who="anna", why="scan says 20 February")
    add_correction(store, "K2697", 2, "KOEN", "k", who="anna", why="a girl, per the scan")
    built = rebuild(store)
    after = built.clean.set_index("LOEBE_NR")
    assert after.at[4, "FOEDSELSDATO"] == "19210230"  # the raw column keeps what was keyed
    assert after.at[4, "FOEDSELSDATO_ISO"] == "1921-02-20"
    assert not after.at[4, "BLOKERENDE_FEJL"] and after.at[4, "TIL_LINKAGE"]
    assert after.at[2, "KOEN"] == "M" and after.at[2, "KOEN_REN"] == "K"  # the rules still apply to the new value
    manual = built.corrections[built.corrections["kind"] == "manual"]
    assert set(zip(manual["LOEBE_NR"], manual["field"], manual["who"])) == {(4, "FOEDSELSDATO", "anna"),
                                                                           (2, "KOEN", "anna")}
    # The stored raw rows did not change.
    assert rebuild_clean(store).set_index("LOEBE_NR").at[4, "FOEDSELSDATO"] == "19210230"


def test_audit_log_is_append_only(tmp_path, store):
    write_delivery(tmp_path / "in", rows_for(2))
    import_paths(store, [tmp_path / "in"])
    assert count(store, "SELECT count(*) FROM audit_log WHERE action = 'delivery_imported'") == 1
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))


def test_migrations_build_exactly_the_models(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from ingest.store.database import schema_revision
    from ingest.store.models import Base

    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []
    assert schema_revision(store.engine) == "0003"


def test_import_and_status_commands(tmp_path, db_url):
    write_delivery(tmp_path / "in", rows_for(5))
    other = rows_for(3, r2={"FOEDSELSDATO": "19210229"})
    for row in other:
        row["INDTASTNINGSNUMMER"] = "K2698"
    write_delivery(tmp_path / "in", other, entry="K2698")
    work = tmp_path / "w"
    proc = cli("import", str(tmp_path / "in"), "--work", str(work), *db_args(db_url), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # K2698 has an impossible date
    assert "2 imported" in proc.stderr and proc.stdout.strip().endswith("report.html")
    again = cli("import", str(tmp_path / "in"), "--work", str(work), *db_args(db_url), cwd=tmp_path)
    assert again.returncode == 0 and "2 duplicates" in again.stderr
    status = cli("status", "--json", "--work", str(work), *db_args(db_url), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    doc = json.loads(status.stdout)
    got = {d["entry_number"]: d for d in doc["deliveries"]}
    assert set(got) == {"K2697", "K2698"}
    assert got["K2698"]["findings"]["error"] == 1 and got["K2698"]["rows_stored"] == 3
    assert got["K2697"]["version"] == 1 and got["K2697"]["status"] == "current" and len(got["K2697"]["sha256"]) == 64
    assert got["K2697"]["findings"].get("info", 0) == 0  # importing the same bytes again added no note
    assert doc["by_status"]["current"]["deliveries"] == 2
    text_status = cli("status", "--work", str(work), *db_args(db_url), cwd=tmp_path)
    assert "current" in text_status.stdout and "K2698" in text_status.stdout


def test_unreachable_database_is_one_line_and_exit_2(tmp_path):
    write_delivery(tmp_path / "in", rows_for(2))
    proc = cli("import", str(tmp_path / "in"), "--work", str(tmp_path / "w"),
               "--db", "postgresql://nobody@127.0.0.1:9/nothing", cwd=tmp_path)
    assert proc.returncode == 2
    assert "database" in one_line(proc.stderr)
    bad = cli("status", "--db", "mysql://x@y/z", cwd=tmp_path)
    assert bad.returncode == 2 and "unsupported database" in one_line(bad.stderr)


def test_a_check_that_crashes_on_one_delivery_does_not_stop_the_others(tmp_path, store, monkeypatch):
    from ingest.store import importer

    for entry in ("K2697", "K2698", "K2699"):
        rows = rows_for(4)
        for row in rows:
            row["INDTASTNINGSNUMMER"] = entry
        write_delivery(tmp_path / "in", rows, entry=entry)
    real = importer.validate_frame

    def fragile(frame, source, options):
        if (frame["_delivery"] == "K2698").any():
            raise KeyError("a bug")
        return real(frame, source, options)

    monkeypatch.setattr(importer, "validate_frame", fragile)
    run = import_paths(store, [tmp_path / "in"])
    assert sorted((o.entry_number, o.status) for o in run.outcomes) == [
        ("K2697", "imported"), ("K2698", "rejected"), ("K2699", "imported")]
    rejected = [o for o in run.outcomes if o.status == "rejected"][0]
    assert "fault in mgr-ingest" in rejected.message


@pytest.mark.parametrize("source, folders", [("KBD", ["kbd"]), ("FT", ["ft"])])
def test_rebuilt_tables_of_other_sources_equal_the_clean_command(tmp_path, source, folders):
    from validators.sources import SOURCES

    paths = [FIXTURES.parent / f for f in folders]
    if not all(p.is_dir() for p in paths) or not SOURCES[source].supported:
        pytest.skip(f"{source} is not validated by this version, or its fixtures are missing")
    out = tmp_path / "out"
    cli("clean", *map(str, paths), "--out", str(out))
    from ingest.store import open_store

    with open_store(tmp_path / "work") as s:
        import_paths(s, paths)
        rebuilt = rebuild_clean(s, source)
    written = pq.read_table(out / f"{source.lower()}.parquet").to_pandas()
    pq.write_table(pa.Table.from_pandas(rebuilt, preserve_index=False), tmp_path / "rebuilt.parquet")
    rebuilt = pq.read_table(tmp_path / "rebuilt.parquet").to_pandas()
    keys = ["INDTASTNINGSNUMMER", "KILDEFIL", "LINJE"]
    assert sorted(rebuilt.columns) == sorted(written.columns)
    pd.testing.assert_frame_equal(written.sort_values(keys).reset_index(drop=True),
                                  rebuilt[list(written.columns)].sort_values(keys).reset_index(drop=True))


def test_an_unreadable_file_given_to_import_goes_to_quarantine(tmp_path, db_url):
    """As in an inbox pass, a file that cannot be used is rejected (never current) and a copy
    of it waits in WORK/quarantine/ with the reason; the file given stays where it was."""
    given = tmp_path / "given"
    given.mkdir()
    garbage = given / "K2999fd.csv"
    garbage.write_bytes(bytes(range(256)) * 12)
    work = tmp_path / "w"
    proc = cli("import", str(given), "--work", str(work), *db_args(db_url), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "K2999 could not be used" in proc.stderr
    [folder] = list((work / "quarantine").iterdir())
    assert (folder / "K2999fd.csv").read_bytes() == garbage.read_bytes()
    reason = (folder / "K2999fd.csv.reason.txt").read_text(encoding="utf-8")
    assert "FILE_UNREADABLE" in reason
    assert garbage.exists()
    status = cli("status", "--json", "--work", str(work), *db_args(db_url), cwd=tmp_path)
    by_status = json.loads(status.stdout)["by_status"]
    assert by_status["current"]["deliveries"] == 0 and by_status["rejected"]["deliveries"] == 1


def test_the_same_refused_bytes_given_to_import_are_stored_once(tmp_path, store):
    given = tmp_path / "given"
    given.mkdir()
    (given / "K2999fd.csv").write_bytes(bytes(range(256)) * 12)
    first = import_paths(store, [given])
    second = import_paths(store, [given])
    assert [o.status for o in first.outcomes] == ["rejected"]
    assert [o.status for o in second.outcomes] == ["duplicate"]
    assert count(store, "SELECT count(*) FROM deliveries") == 1
