"""Rebuilding the clean tables from the store streamed to files (``write_rebuilt``).

The streamed tables must be the one-frame rebuild (``rebuild``) exactly: same rows in the
same order, same columns and dtypes, the same manual corrections laid over them. The store
holds the bundled births (an extra column only some deliveries have), deaths and censuses,
hand-made deliveries with corrections that clear an error and corrections that make one,
and a new version a correction was carried to; the batches are made small so that the
tables are written in many parts.
"""

from __future__ import annotations

import gc
import weakref

import pandas as pd
import pytest
from conftest import write_delivery
from store_support import REPO, rows_for

from ingest.pipeline import CROSS_CODES
from ingest.store import add_correction, import_paths, rebuild, rebuild_clean
from ingest.store import clean as clean_module
from ingest.store.clean import corrections_table, findings_table, write_rebuilt
from validators.crosscheck import CROSS_COLUMNS

pytest_plugins = ["store_fixtures"]  # db_url: SQLite, and PostgreSQL when MGR_TEST_PG_URL is set

BATCH = 150  # rows: the births alone are rebuilt in several batches
WHEN = {"when": "2024-01-05T12:00:00+00:00"}  # the time stamped on rule corrections, else the build's


def rows_of(entry: str, n: int, **overrides) -> list[dict]:
    rows = rows_for(n, **overrides)
    for row in rows:
        row["INDTASTNINGSNUMMER"] = entry
    return rows


def record(table: pd.DataFrame, entry: str, loebe_nr: int) -> pd.Series:
    hit = table[(table["INDTASTNINGSNUMMER"] == entry) & (table["LOEBE_NR"] == loebe_nr)]
    assert len(hit) == 1, (entry, loebe_nr, len(hit))
    return hit.iloc[0]


def fill(store, tmp_path) -> None:
    import_paths(store, [REPO / "fixtures" / "kbf", REPO / "fixtures" / "kbd", REPO / "fixtures" / "ft"])
    hand = tmp_path / "hand"
    write_delivery(hand, rows_of("K3001", 6, r4={"FOEDSELSDATO": "19210230"}), entry="K3001")
    write_delivery(hand, rows_of("K3002", 5), entry="K3002")
    write_delivery(hand, rows_of("K3003", 4, r2={"KOEN": "X"}), entry="K3003")
    import_paths(store, [hand])
    # A correction that clears an error, and one carried to the next version of K3001.
    add_correction(store, "K3001", 4, "FOEDSELSDATO", "19210220", who="anna", why="scan says 20 February")
    add_correction(store, "K3001", 2, "FORNAVN", "Niels Peter", who="anna", why="scan p. 1")
    newer = tmp_path / "newer"
    write_delivery(newer, rows_of("K3001", 7, r4={"FOEDSELSDATO": "19210230"}), entry="K3001")
    import_paths(store, [newer])
    # Corrections that make an error: an impossible date, a sex the rules refuse.
    add_correction(store, "K3002", 3, "FOEDSELSDATO", "19211340", who="bo", why="as read, to be checked")
    add_correction(store, "K3002", 5, "KOEN", "Q", who="bo")
    # And both ways on the bundled sets.
    add_correction(store, "K3003", 2, "KOEN", "k", who="bo", why="a girl, per the scan")
    add_correction(store, "K2697", 3, "FORNAVN", "Verner Christian", who="anna", why="scan p. 1")
    add_correction(store, "K2750", 2, "EFTERNAVN", "Hansen", who="bo", why="scan p. 1")


def test_streamed_rebuild_equals_the_one_frame_rebuild(tmp_path, store, monkeypatch):
    fill(store, tmp_path)
    # The streamed path must hold one batch at a time: when a batch is made, every clean
    # part made before it is gone.
    made: list[weakref.ref] = []
    real = clean_module._rebuild_batch

    def watched(*args, **kwargs):
        gc.collect()
        alive = [r for r in made if r() is not None]
        assert not alive, f"{len(alive)} earlier batches still in memory"
        batch = real(*args, **kwargs)
        made.append(weakref.ref(batch.clean))
        return batch

    monkeypatch.setattr(clean_module, "_rebuild_batch", watched)
    files = write_rebuilt(store, tmp_path / "out", batch_rows=BATCH, options=WHEN)
    batches = len(made)
    monkeypatch.undo()
    assert batches >= 10  # KBF, KBD and FT each in several parts

    assert {p.name for p in files.paths.values()} == {
        "kbf.parquet", "kbd.parquet", "ft.parquet", "ft_children.parquet", "corrections.parquet", "findings.parquet"}
    assert not list((tmp_path / "out").glob(".rebuild-parts-*"))  # the spilled parts are removed
    corrections, findings = [], []
    for code in ("KBF", "KBD", "FT"):
        built = rebuild(store, code, batch_rows=BATCH, options=WHEN)
        streamed = pd.read_parquet(files.paths[code.lower()])
        assert len(streamed) == files.rows[code] == len(built.clean) > 0
        if code == "KBF":
            # The streamed births were checked against the deaths (the one-source rebuild cannot).
            assert set(CROSS_COLUMNS) <= set(streamed.columns)
            copies = streamed["KOPI_AF"].notna().to_numpy()  # a child registered twice: the copy is out
            assert not streamed.loc[copies, "TIL_LINKAGE"].any()
            streamed.loc[copies, "TIL_LINKAGE"] = built.clean.loc[copies, "TIL_LINKAGE"].to_numpy()
            streamed = streamed.drop(columns=list(CROSS_COLUMNS))
        if code == "KBD":  # a death registered twice: the copy is out of the linkage
            copies = streamed["KOPI_AF"].notna().to_numpy()
            assert not streamed.loc[copies, "TIL_LINKAGE"].any()
            streamed.loc[copies, "TIL_LINKAGE"] = built.clean.loc[copies, "TIL_LINKAGE"].to_numpy()
            streamed = streamed.drop(columns=["KOPI_AF"])
        pd.testing.assert_frame_equal(streamed, built.clean)
        for name, table in built.tables.items():
            pd.testing.assert_frame_equal(pd.read_parquet(files.paths[name]), table)
        corrections.append(built.corrections)
        findings.append(built.findings)
    pd.testing.assert_frame_equal(pd.read_parquet(files.paths["corrections"]), corrections_table(corrections))
    written_findings = pd.read_parquet(files.paths["findings"])
    cross = written_findings["code"].isin(CROSS_CODES).to_numpy()
    pd.testing.assert_frame_equal(written_findings[~cross].reset_index(drop=True),
                                  findings_table(pd.concat(findings, ignore_index=True)))

    # The corrections are applied as the one-frame rebuild applies them, both ways.
    kbf = pd.read_parquet(files.paths["kbf"])
    assert (kbf["INDTASTNINGSNUMMER"] == "K3001").sum() == 7  # the new version only
    fixed = record(kbf, "K3001", 4)  # an error cleared, by a correction carried to the new version
    assert fixed["FOEDSELSDATO"] == "19210230" and fixed["FOEDSELSDATO_ISO"] == "1921-02-20"
    assert not fixed["BLOKERENDE_FEJL"] and fixed["TIL_LINKAGE"]
    assert record(kbf, "K3001", 2)[["FORNAVN", "FORNAVN_REN"]].tolist() == ["Jens", "Niels Peter"]
    broken = record(kbf, "K3002", 3)  # an error made
    assert broken["FOEDSELSDATO"] != "19211340" and pd.isna(broken["FOEDSELSDATO_ISO"])
    assert broken["BLOKERENDE_FEJL"] and not broken["TIL_LINKAGE"]
    assert record(kbf, "K3002", 5)["KOEN"] == "M" and record(kbf, "K3002", 5)["BLOKERENDE_FEJL"]
    assert record(kbf, "K3003", 2)["KOEN"] == "X" and record(kbf, "K3003", 2)["KOEN_REN"] == "K"
    assert not record(kbf, "K3003", 2)["BLOKERENDE_FEJL"]
    assert record(kbf, "K2697", 3)["FORNAVN_REN"] == "Verner Christian"
    assert record(pd.read_parquet(files.paths["kbd"]), "K2750", 2)["EFTERNAVN_REN"] == "Hansen"
    manual = pd.read_parquet(files.paths["corrections"]).query("kind == 'manual'")
    assert sorted(zip(manual["INDTASTNINGSNUMMER"], manual["LOEBE_NR"], manual["field"])) == [
        ("K2697", 3, "FORNAVN"), ("K2750", 2, "EFTERNAVN"), ("K3001", 2, "FORNAVN"), ("K3001", 4, "FOEDSELSDATO"),
        ("K3002", 3, "FOEDSELSDATO"), ("K3002", 5, "KOEN"), ("K3003", 2, "KOEN")]


def test_streamed_rebuild_in_the_default_batches_equals_rebuild_clean(tmp_path, store):
    fill(store, tmp_path)
    files = write_rebuilt(store, tmp_path / "out", ["KBF"])
    assert set(files.paths) == {"kbf", "corrections", "findings"}
    pd.testing.assert_frame_equal(pd.read_parquet(files.paths["kbf"]), rebuild_clean(store, "KBF"))


def test_an_empty_store_writes_an_empty_kbf_table(tmp_path, store):
    files = write_rebuilt(store, tmp_path / "out")
    assert set(files.paths) == {"kbf", "corrections", "findings"} and files.rows == {"KBF": 0}
    pd.testing.assert_frame_equal(pd.read_parquet(files.paths["kbf"]), rebuild_clean(store, "KBF"))
    assert len(pd.read_parquet(files.paths["corrections"])) == 0
    assert len(pd.read_parquet(files.paths["findings"])) == 0


def test_a_source_without_a_clean_table_is_refused(tmp_path, store):
    with pytest.raises(ValueError, match="no clean table"):
        rebuild(store, "XYZ")
