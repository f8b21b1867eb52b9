"""The check after an import reads only the birth days the new delivery touches, and decides
exactly what one check of the whole store decides: the same findings, on the same records,
whatever order the deliveries arrive in, after a new version and after a correction."""

from __future__ import annotations

import shutil

import pytest

from fixtures.generator_population import write
from ingest.store import add_correction, import_paths, open_store
from ingest.store.crosscheck import crosscheck_store

pytest_plugins = ["store_fixtures"]  # the db_url, store and work fixtures

# births, deaths and censuses interleaved; K5009 (K5003 delivered twice) after its original
ARRIVALS = ["K7001", "K5001", "K6001", "K5002", "K7002", "K6002", "K5003", "K6003", "K5009", "K7003"]


def _cross(store) -> dict[str, tuple]:
    from sqlalchemy import select

    from ingest.store.crosscheck import CROSS_CODES
    from ingest.store.models import findings

    with store.reading() as conn:
        return {r.cross_key: (r.id, r.code, r.entry_number, r.loebe_nr, r.score, r.delivery_id)
                for r in conn.execute(select(findings).where(findings.c.code.in_(CROSS_CODES)))}


def _one_folder_each(src, dst) -> dict[str, object]:
    folders = {}
    for entry in ARRIVALS:
        folder = dst / entry
        folder.mkdir(parents=True)
        for path in src.glob(f"{entry}*.csv"):
            shutil.copy(path, folder / path.name)
        folders[entry] = folder
    return folders


def _same_findings(a: dict, b: dict) -> None:
    """The same cross keys, codes, records and scores (ids and delivery ids differ between stores)."""
    assert set(a) == set(b), (sorted(set(a) - set(b))[:5], sorted(set(b) - set(a))[:5])
    for key in a:
        assert a[key][1:5] == b[key][1:5], key


@pytest.mark.parametrize("order", ["mixed", "reversed"])
def test_deliveries_checked_one_at_a_time_find_what_one_check_of_everything_finds(tmp_path, store, order):
    key = write(tmp_path / "in")
    folders = _one_folder_each(tmp_path / "in", tmp_path / "one")
    modes = []
    for entry in (ARRIVALS if order == "mixed" else ARRIVALS[::-1]):
        run = import_paths(store, [folders[entry]])
        assert [o.status for o in run.outcomes] == ["imported"], entry
        modes.append((entry, run.cross.mode if run.cross else None, run.cross.days if run.cross else None))
    # once the store holds keys, each new delivery is checked on the days it touches
    incremental = [m for m in modes[2:] if m[1] == "incremental"]
    assert len(incremental) >= 6, modes
    assert all(0 < days < 2000 for _, _, days in incremental), modes
    one_at_a_time = _cross(store)

    # one check of everything, in a store (SQLite) that got all deliveries in one import
    (tmp_path / "all").mkdir()
    with open_store(tmp_path / "all", f"sqlite:///{tmp_path / 'all' / 'mgr.sqlite'}") as whole:
        import_paths(whole, [tmp_path / "in"], options={"crosscheck": False})
        run = crosscheck_store(whole)
        assert run.mode == "full"
        everything = _cross(whole)
    _same_findings(one_at_a_time, everything)
    # what the answer key planted is there
    codes = [v[1] for v in one_at_a_time.values()]
    assert codes.count("BIRTH_NOT_KEYED_KBD") == len(key["birth_not_keyed"])
    assert codes.count("BOOK_DELIVERED_TWICE") == 1
    assert codes.count("DUPLICATE_ACROSS_DELIVERIES") == len(key["duplicate_across_deliveries"])
    # and a full check of the same store changes nothing: no finding added, none removed
    again = crosscheck_store(store)
    assert (again.mode, again.added, again.removed) == ("full", 0, 0)
    assert _cross(store) == one_at_a_time


def _full_check_changes_nothing(store) -> None:
    before = _cross(store)
    run = crosscheck_store(store)
    assert (run.mode, run.added, run.removed) == ("full", 0, 0)
    assert _cross(store) == before


def test_a_correction_reaches_the_next_check_of_what_is_new(tmp_path, store):
    from datetime import UTC, datetime

    key = write(tmp_path / "in")
    import_paths(store, [tmp_path / "in"])
    death = key["birth_not_keyed"][0]["kbd"]
    mine = [k for k, v in _cross(store).items()
            if v[1] == "BIRTH_NOT_KEYED_KBD" and k.endswith(f"|KBD|{death['entry_number']}|{death['loebe_nr']}")]
    assert len(mine) == 1
    # the death was keyed with the wrong birthplace: born abroad, no book of births can miss it
    add_correction(store, death["entry_number"], death["loebe_nr"], "FOEDESTED", "Hamborg", who="anna",
                   why="scan p. 2")
    run = crosscheck_store(store, since=datetime.now(UTC))  # nothing stored since: the correction is in question
    assert run.mode == "incremental" and run.read == 1
    assert mine[0] not in _cross(store) and run.removed == 1
    _full_check_changes_nothing(store)


def test_a_new_version_checked_on_its_days_matches_a_check_of_everything(tmp_path, store):
    key = write(tmp_path / "in")
    import_paths(store, [tmp_path / "in"])
    # the book of births delivered again with a planted duplicate's copy left out
    from sqlalchemy import select

    from ingest.store.models import deliveries, raw_rows

    copy = key["duplicate_across_deliveries"][0]["copy"]
    with store.reading() as conn:
        line = conn.execute(select(raw_rows.c.line).join(deliveries, deliveries.c.id == raw_rows.c.delivery_id)
                            .where(deliveries.c.entry_number == copy["entry_number"],
                                   raw_rows.c.loebe_nr == copy["loebe_nr"])).scalar_one()
    data = tmp_path / "in" / f"{copy['entry_number']}fd.csv"
    raw = data.read_bytes()
    newline = b"\r\n" if b"\r\n" in raw else b"\n"
    lines = raw.split(newline)
    del lines[line - 1]
    again = tmp_path / "again"
    again.mkdir()
    (again / data.name).write_bytes(newline.join(lines))
    (again / f"{copy['entry_number']}dok.csv").write_bytes((tmp_path / "in" / f"{copy['entry_number']}dok.csv")
                                                          .read_bytes())
    before = _cross(store)
    run = import_paths(store, [again])
    assert [o.status for o in run.outcomes] == ["new_version"] and run.cross.mode == "incremental"
    after = _cross(store)
    gone = set(before) - set(after)
    assert [k.split("|")[0] for k in gone] == ["DUPLICATE_ACROSS_DELIVERIES"]
    assert all(after[k][0] == before[k][0] for k in after if k in before)  # ids kept
    _full_check_changes_nothing(store)


def test_a_withdrawn_delivery_takes_its_findings_with_it(tmp_path, db_url):
    from store_support import cli, db_args

    key = write(tmp_path / "in")
    work = tmp_path / "w"
    imported = cli("import", str(tmp_path / "in"), "--work", str(work), *db_args(db_url), cwd=tmp_path)
    assert imported.returncode in (0, 1), imported.stderr
    with open_store(work, db_url) as store:
        before = _cross(store)
    # K5009 is K5003 delivered twice: withdrawn, the book is no longer there twice
    proc = cli("withdraw", "K5009", "--why", "the same book as K5003", "--work", str(work), *db_args(db_url),
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "K5009 version 1 withdrawn" in proc.stderr and "the same book" not in proc.stderr
    with open_store(work, db_url) as store:
        after = _cross(store)
        assert not [k for k in after if "|K5009|" in k]
        gone = {v[1] for k, v in before.items() if k not in after}
        assert gone == {"BOOK_DELIVERED_TWICE"} and len(before) - len(after) == 1
        _full_check_changes_nothing(store)
        from ingest.store.clean import rebuild_clean

        assert "K5009" not in set(rebuild_clean(store, "KBF")["INDTASTNINGSNUMMER"])
    status = cli("status", "--json", "--work", str(work), *db_args(db_url), cwd=tmp_path)
    import json

    assert json.loads(status.stdout)["by_status"]["withdrawn"]["deliveries"] == 1
    # nothing current to withdraw: one line, exit 2
    again = cli("withdraw", "K5009", "--why", "again", "--work", str(work), *db_args(db_url), cwd=tmp_path)
    assert again.returncode == 2 and "no current delivery" in again.stderr and "Traceback" not in again.stderr
    assert key["deliveries"]["K5009"]["source"] == "KBF"
