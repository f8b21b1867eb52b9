"""The store's tables for linkage carry the cross-source check: DOED_FOER_CPR on the
births of children found in a book of deaths, and the findings beside the others."""

from __future__ import annotations

import pandas as pd
import pytest

from fixtures.generator_population import write
from ingest.store import import_paths
from ingest.store.clean import write_rebuilt

pytest_plugins = ["store_fixtures"]  # the db_url, store and work fixtures


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_tables_from_the_store_carry_the_crosscheck(tmp_path, store, fmt):
    key = write(tmp_path / "in")
    import_paths(store, [tmp_path / "in"])
    files = write_rebuilt(store, tmp_path / "out", fmt=fmt)
    read = (lambda p: pd.read_parquet(p)) if fmt == "parquet" else (
        lambda p: pd.read_csv(p, sep=";", dtype=str, keep_default_na=False, na_values=[""]))
    kbf = read(files.paths["kbf"])
    marked = kbf[kbf["DOED_FOER_CPR"].notna()]
    wanted = {(e["kbf"]["entry_number"], e["kbf"]["loebe_nr"]) for e in key["died_before_cpr"]}
    found = {(e, int(n)) for e, n in zip(marked["INDTASTNINGSNUMMER"], marked["LOEBE_NR"])}
    assert len(found & wanted) >= 0.95 * len(wanted) and found <= wanted
    copies = kbf[kbf["KOPI_AF"].notna()]
    assert len(copies) == len(key["duplicate_across_deliveries"]) + key["deliveries"]["K5009"]["rows"]
    assert not copies["TIL_LINKAGE"].astype(str).isin(["True", "true"]).any()
    findings = read(files.paths["findings"])
    assert (findings["code"] == "BIRTH_NOT_KEYED_KBD").sum() == len(key["birth_not_keyed"])
    assert findings.loc[findings["code"] == "BIRTH_NOT_KEYED_KBD", "message"].str.contains("other: KBD").all()


def _cross(store):
    from sqlalchemy import select

    from ingest.store.crosscheck import CROSS_CODES
    from ingest.store.models import findings

    with store.reading() as conn:
        return list(conn.execute(select(findings).where(findings.c.code.in_(CROSS_CODES)).order_by(findings.c.id)))


def test_an_import_is_checked_across_sources_and_the_findings_are_in_the_store(tmp_path, store):
    from sqlalchemy import select

    from ingest.store.models import deliveries, runs

    key = write(tmp_path / "in")
    run = import_paths(store, [tmp_path / "in"])
    assert run.cross is not None and run.cross.added == len(_cross(store)) > 0
    found = _cross(store)
    missing = [f for f in found if f.code == "BIRTH_NOT_KEYED_KBD"]
    # on the book of births (no record of its own), the death as evidence in fixed fields
    assert {(f.entry_number, f.other["entry_number"], f.other["loebe_nr"]) for f in missing} == {
        (k["kbf_book"], k["kbd"]["entry_number"], k["kbd"]["loebe_nr"]) for k in key["birth_not_keyed"]}
    assert all(f.loebe_nr is None and f.other["source"] == "KBD" and f.other["line"] is not None
               and f.rule_version == "kbf-kbd-2" for f in missing)
    dups = {(f.entry_number, f.loebe_nr, f.other["entry_number"], f.other["loebe_nr"])
            for f in found if f.code == "DUPLICATE_ACROSS_DELIVERIES"}
    assert all(f.score >= 0.94 for f in found if f.code == "DUPLICATE_ACROSS_DELIVERIES")
    for k in key["duplicate_across_deliveries"]:
        c, o = k["copy"], k["original"]
        assert (c["entry_number"], c["loebe_nr"], o["entry_number"], o["loebe_nr"]) in dups
    with store.reading() as conn:
        current = dict(conn.execute(select(deliveries.c.entry_number, deliveries.c.id)
                                    .where(deliveries.c.status == "current")).all())
        checks = list(conn.execute(select(runs).where(runs.c.kind == "crosscheck")))
    assert all(f.delivery_id == current[f.entry_number] for f in found)
    assert len(checks) == 1 and checks[0].status == "finished"
    assert checks[0].summary["findings"]["BIRTH_NOT_KEYED_KBD"] == len(key["birth_not_keyed"])
    # the same files again store nothing, and nothing is checked again
    again = import_paths(store, [tmp_path / "in"])
    assert again.cross is None and [f.id for f in _cross(store)] == [f.id for f in found]


def test_a_new_version_takes_its_findings_with_it_and_the_rest_keep_their_ids(tmp_path, store):
    key = write(tmp_path / "in")
    import_paths(store, [tmp_path / "in"])
    before = {f.cross_key: f.id for f in _cross(store)}
    gone = key["birth_not_keyed"][0]["kbd"]
    # the book of deaths delivered again without the death that showed the missing birth
    data = tmp_path / "in" / f"{gone['entry_number']}dd.csv"
    raw = data.read_bytes()
    newline = b"\r\n" if b"\r\n" in raw else b"\n"
    lines = raw.split(newline)
    del lines[gone["line"] - 1]
    again = tmp_path / "again"
    again.mkdir()
    (again / data.name).write_bytes(newline.join(lines))
    dok = data.with_name(f"{gone['entry_number']}dok.csv")
    (again / dok.name).write_bytes(dok.read_bytes())
    run = import_paths(store, [again])
    assert [o.status for o in run.outcomes] == ["new_version"]
    after = {f.cross_key: f for f in _cross(store)}
    lost = set(before) - set(after)
    assert [k.split("|")[0] for k in lost] == ["BIRTH_NOT_KEYED_KBD"]
    assert all(f"|KBD|{gone['entry_number']}|{gone['loebe_nr']}" in k for k in lost)
    # every finding still raised kept its id (and so a reviewer's decision on it)
    assert all(after[k].id == before[k] for k in after if k in before)
    assert set(after) <= set(before)


def test_a_check_killed_halfway_leaves_the_findings_it_found_before(tmp_path, store, monkeypatch):
    import ingest.store.crosscheck as cc

    write(tmp_path / "in")
    import_paths(store, [tmp_path / "in"])
    before = [(f.id, f.cross_key, f.delivery_id) for f in _cross(store)]

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as a kill between the removal of the old and the writing of the new

    monkeypatch.setattr(cc, "update", killed)
    with pytest.raises(KeyboardInterrupt):
        cc.crosscheck_store(store)
    assert [(f.id, f.cross_key, f.delivery_id) for f in _cross(store)] == before
    monkeypatch.undo()
    run = cc.crosscheck_store(store)
    assert (run.added, run.removed, run.kept) == (0, 0, len(before))
    assert [(f.id, f.cross_key, f.delivery_id) for f in _cross(store)] == before


def test_crosscheck_and_status_commands_on_the_store(tmp_path, db_url):
    import json

    from store_support import cli, db_args

    key = write(tmp_path / "in")
    work = tmp_path / "w"
    imported = cli("import", str(tmp_path / "in"), "--work", str(work), *db_args(db_url), cwd=tmp_path)
    assert imported.returncode in (0, 1), imported.stderr
    status = cli("status", "--json", "--work", str(work), *db_args(db_url), cwd=tmp_path)
    cross = json.loads(status.stdout)["cross_source"]
    assert cross["open_by_code"]["BIRTH_NOT_KEYED_KBD"] == len(key["birth_not_keyed"])
    assert cross["open"] == sum(cross["all_by_code"].values()) > 0
    text = cli("status", "--work", str(work), *db_args(db_url), cwd=tmp_path).stdout
    assert f"cross-source findings open: {cross['open']}" in text
    # the check again from the command line: nothing new, every finding kept, the same JSON shape
    proc = cli("crosscheck", "--work", str(work), *db_args(db_url), "--json", str(tmp_path / "x.json"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"(0 new, {cross['open']} kept, 0 removed; all " in proc.stderr
    doc = json.loads((tmp_path / "x.json").read_text(encoding="utf-8"))
    assert len(doc["findings"]) == cross["open"]
    f = next(f for f in doc["findings"] if f["code"] == "DUPLICATE_ACROSS_DELIVERIES")
    assert set(f["other"]) == {"source", "entry_number", "loebe_nr", "file", "line"} and f["rule_version"]
    # an archive importing a large batch can leave the check for later
    later = tmp_path / "later"
    cli("import", str(tmp_path / "in"), "--no-crosscheck", "--work", str(later), cwd=tmp_path)
    doc = json.loads(cli("status", "--json", "--work", str(later), cwd=tmp_path).stdout)
    assert doc["cross_source"]["open"] == 0 and doc["by_status"]["current"]["deliveries"] == len(key["deliveries"])
    assert cli("crosscheck", "--work", str(later), cwd=tmp_path).returncode == 0
    assert json.loads(cli("status", "--json", "--work", str(later), cwd=tmp_path).stdout)["cross_source"] == cross
    # PATHS without --json: one line, exit 2
    bad = cli("crosscheck", str(tmp_path / "in"), cwd=tmp_path)
    assert bad.returncode == 2 and "needs --json" in bad.stderr and "Traceback" not in bad.stderr


def test_births_and_a_census_without_deaths_are_checked_in_the_store(tmp_path, store):
    """A store of births and censuses only (the deaths not yet keyed) still finds the children
    a census lists and no book of births holds."""
    key = write(tmp_path / "in")
    for path in (tmp_path / "in").glob("K6*"):  # the deaths' deliveries left out
        path.unlink()
    run = import_paths(store, [tmp_path / "in"])
    assert run.cross is not None and run.cross.skipped is None
    found = _cross(store)
    missing = {(f.entry_number, f.other["source"], f.other["entry_number"], f.other["loebe_nr"])
               for f in found if f.code == "BIRTH_NOT_KEYED_FT"}
    assert missing == {(k["kbf_book"], "FT", k["ft"]["entry_number"], k["ft"]["loebe_nr"])
                       for k in key["birth_not_keyed_ft"]}
    assert len(missing) > 0 and not any(f.code == "BIRTH_NOT_KEYED_KBD" for f in found)
    # the tables written from the store carry them too, and the copies of births registered twice
    files = write_rebuilt(store, tmp_path / "out")
    assert "kbd" not in files.paths
    table = pd.read_parquet(files.paths["findings"])
    assert (table["code"] == "BIRTH_NOT_KEYED_FT").sum() == len(missing)
    kbf = pd.read_parquet(files.paths["kbf"])
    assert kbf["KOPI_AF"].notna().sum() >= len(key["duplicate_across_deliveries"])
