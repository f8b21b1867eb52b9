"""``mgr-ingest tables``: the clean tables written from the store, with the manual
corrections in force, equal to the one-frame rebuild."""

from __future__ import annotations

import pandas as pd
from pandas.testing import assert_frame_equal
from store_support import FIXTURES, cli, db_args, one_line

from ingest.store import add_correction, import_paths, rebuild_clean
from validators.crosscheck import CROSS_COLUMNS

pytest_plugins = ["store_fixtures"]  # the db_url, store and work fixtures


def test_tables_writes_the_corrected_clean_tables(tmp_path, store, work, db_url):
    import_paths(store, [FIXTURES, FIXTURES.parent / "kbd", FIXTURES.parent / "ft"])
    add_correction(store, "K2697", 3, "FORNAVN", "Verner Christian", who="anna", why="scan p. 1")
    expected = {code: rebuild_clean(store, code) for code in ("KBF", "KBD", "FT")}
    out = tmp_path / "tables"
    proc = cli("tables", "--work", str(work), *db_args(db_url), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    written = {line.rsplit("/", 1)[-1] for line in proc.stdout.split()}
    assert {"kbf.parquet", "kbd.parquet", "ft.parquet", "ft_children.parquet", "corrections.parquet",
            "findings.parquet"} <= written
    for code, name in (("KBF", "kbf"), ("KBD", "kbd"), ("FT", "ft")):
        table = pd.read_parquet(out / f"{name}.parquet")
        if code == "KBF":  # births checked against the deaths: DOED_FOER_CPR and its kin beside
            copies = table["KOPI_AF"].notna().to_numpy()
            assert not table.loc[copies, "TIL_LINKAGE"].any()
            table.loc[copies, "TIL_LINKAGE"] = expected[code].loc[copies, "TIL_LINKAGE"].to_numpy()
            table = table.drop(columns=list(CROSS_COLUMNS))
        if code == "KBD":  # a death registered twice: the copy is out of the linkage
            copies = table["KOPI_AF"].notna().to_numpy()
            assert not table.loc[copies, "TIL_LINKAGE"].any()
            table.loc[copies, "TIL_LINKAGE"] = expected[code].loc[copies, "TIL_LINKAGE"].to_numpy()
            table = table.drop(columns=["KOPI_AF"])
        assert_frame_equal(table, expected[code], check_dtype=False)
    kbf = pd.read_parquet(out / "kbf.parquet")
    row = kbf[(kbf["INDTASTNINGSNUMMER"] == "K2697") & (kbf["LOEBE_NR"] == 3)].iloc[0]
    assert row["FORNAVN_REN"] == "Verner Christian"  # the correction is in the clean column …
    assert row["FORNAVN"] != "Verner Christian"  # … and the raw value stays as keyed
    fixes = pd.read_parquet(out / "corrections.parquet")
    assert ((fixes["field"] == "FORNAVN") & (fixes["new_value"] == "Verner Christian")).any()
    assert f"KBF {len(expected['KBF']):,} rows" in proc.stderr


def test_tables_one_source_as_csv(tmp_path, store, work, db_url):
    import_paths(store, [FIXTURES])
    out = tmp_path / "csv"
    proc = cli("tables", "--work", str(work), *db_args(db_url), "--out", str(out), "--source", "KBF",
               "--format", "csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (out / "kbf.csv").is_file() and not (out / "kbd.csv").exists()
    assert len(pd.read_csv(out / "kbf.csv", sep=None, engine="python", dtype=str)) == len(rebuild_clean(store, "KBF"))


def test_tables_without_a_store_is_one_line_and_exit_2(tmp_path):
    proc = cli("tables", "--work", str(tmp_path / "nothing"), "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "no store here" in one_line(proc.stderr)
    assert not (tmp_path / "nothing").exists()
