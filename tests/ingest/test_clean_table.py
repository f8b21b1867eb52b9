"""The clean KBF table: raw values kept, cleaned columns beside them, every fix listed."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import write_delivery

from ingest.pipeline import corrections_frame, run_pipeline


@pytest.fixture
def table(tmp_path, clean_rows):
    rows = clean_rows
    rows[0].update(FADERS_FOEDSELSDAG="????1894", MODERS_ALDER="19 Aar")
    rows[1].update(EFTERNAVN="Jensen [Nielsen]", MELLEMNAVNE="--")
    rows[2].update(FORNAVN="DØDFØDT")
    rows[3].update(KOEN="m", FOEDSELSDATO="4-5-1921")
    rows[4].update(KILDE_LOEBE_NR="4a")
    rows[5].update(FOEDSELSDATO="19210230")
    rows[6].update(ANMAERKNINGER="Faders alder 34")
    rows[7].update(ANMAERKNINGER="Faderen 91 Aar")
    write_delivery(tmp_path, rows)
    result = run_pipeline([tmp_path], keep_clean=True)
    return result, result.clean["KBF"][0].set_index("LOEBE_NR")


def test_raw_values_are_kept_and_clean_columns_added(table):
    _, t = table
    assert t.at[1, "FADERS_FOEDSELSDAG"] == "????1894"
    assert t.at[1, "FADERS_FOEDSELSDAG_REN"] == "1894????"
    assert pd.isna(t.at[1, "FADERS_FOEDSELSDAG_ISO"])
    assert t.at[1, "MODERS_ALDER"] == "19 Aar" and t.at[1, "MODERS_ALDER_REN"] == 19
    assert t.at[4, "FOEDSELSDATO"] == "4-5-1921" and t.at[4, "FOEDSELSDATO_ISO"] == "1921-05-04"
    assert t.at[4, "KOEN"] == "m" and t.at[4, "KOEN_REN"] == "M"


def test_struck_out_names_and_placeholders(table):
    _, t = table
    assert t.at[2, "EFTERNAVN_UDEN_KLAMMER"] == "Jensen"
    assert t.at[2, "EFTERNAVN_KLAMMER"] == "Nielsen"
    assert t.at[2, "MELLEMNAVNE"] == "--" and pd.isna(t.at[2, "MELLEMNAVNE_REN"])


def test_fathers_age_is_read_from_the_remarks(table):
    result, t = table
    assert t.at[7, "FADERS_ALDER_REN"] == 34 and t.at[8, "FADERS_ALDER_REN"] == 91
    implausible = [f for f in result.findings_json()["findings"] if f["code"] == "AGE_IMPLAUSIBLE"]
    assert [(f["loebe_nr"], f["field"]) for f in implausible] == [(8, "ANMAERKNINGER")]


def test_linkage_flag(table):
    _, t = table
    assert t.at[1, "TIL_LINKAGE"]
    assert t.at[3, "DOED_UDEN_NAVN"] == "J" and not t.at[3, "TIL_LINKAGE"]
    assert t.at[5, "KILDE_LOEBE_NR_TAL"] == 4 and t.at[5, "KILDE_LOEBE_NR_BOGSTAV"] == "a"
    assert not t.at[5, "TIL_LINKAGE"]  # a child born outside the parish
    assert t.at[6, "BLOKERENDE_FEJL"] and not t.at[6, "TIL_LINKAGE"]  # 30 February
    assert t.at[4, "TIL_LINKAGE"]  # only automatic fixes: still linkable


def test_every_automatic_fix_is_a_correction(table):
    result, _ = table
    corr = corrections_frame(result)
    got = {(int(r.LOEBE_NR), r.field, r.old_value, r.new_value, r.rule) for r in corr.itertuples()}
    assert got == {
        (1, "FADERS_FOEDSELSDAG", "????1894", "1894????", "DATE_WILDCARD_MISPLACED"),
        (1, "MODERS_ALDER", "19 Aar", "19", "AGE_MALFORMED"),
        (2, "MELLEMNAVNE", "--", "", "NAME_PLACEHOLDER"),
        (4, "KOEN", "m", "M", "KOEN_INVALID"),
        (4, "FOEDSELSDATO", "4-5-1921", "19210504", "DATE_MALFORMED"),
    }
    assert set(corr["who"]) == {"rule"} and corr["INDTASTNINGSNUMMER"].eq("K2697").all()


def test_fast_path_gives_the_same_table_as_the_checker(tmp_path, monkeypatch):
    """Large columns skip the checker for known-good values; the table must not change."""
    from conftest import kbf_row

    from validators import engine

    rows = [kbf_row(i, i, KILDE_SIDE=str(1 + (i - 1) // 5)) for i in range(1, 61)]
    rows[7].update(EFTERNAVN="Holm [Berg]", KILDE_LOEBE_NR="-")
    write_delivery(tmp_path, rows)
    monkeypatch.setattr(engine, "FAST_PATH_MIN_ROWS", 10**9)
    slow = run_pipeline([tmp_path], keep_clean=True)
    monkeypatch.setattr(engine, "FAST_PATH_MIN_ROWS", 0)
    fast = run_pipeline([tmp_path], keep_clean=True)
    pd.testing.assert_frame_equal(slow.clean["KBF"][0], fast.clean["KBF"][0])
    assert slow.findings_json()["findings"] == fast.findings_json()["findings"]


def test_batches_spilled_to_disk_make_the_same_table(tmp_path, monkeypatch):
    """A national run writes each batch to disk; the merged table equals the in-memory one,
    including an unknown column that only one delivery has."""
    from conftest import kbf_row

    from ingest import pipeline
    from ingest.outputs import write_outputs
    from validators.sources import KBF

    for i, entry in enumerate(["K2701", "K2702", "K2703"]):
        rows = [kbf_row(n, n, INDTASTNINGSNUMMER=entry) for n in range(1, 8)]
        header = list(KBF.columns) + (["Praestens_note"] if i == 1 else [])
        for r in rows:
            r["Praestens_note"] = "x"
        write_delivery(tmp_path / "in" / entry, rows, entry=entry, header=header)
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 5)  # one delivery per batch
    whole = run_pipeline([tmp_path / "in"], keep_clean=True)
    spilled = run_pipeline([tmp_path / "in"], keep_clean=True, spill_dir=tmp_path / "out" / ".parts")
    assert len(spilled.clean["KBF"]) == 3
    write_outputs(spilled, tmp_path / "out")
    merged = pd.read_parquet(tmp_path / "out" / "kbf.parquet")
    expected = pd.concat(whole.clean["KBF"], ignore_index=True)
    assert list(merged.columns) == list(expected.columns)
    assert merged["EKSTRA_Praestens_note"].notna().sum() == 7
    pd.testing.assert_frame_equal(merged.astype(str), expected.astype(str))
    assert not (tmp_path / "out" / ".parts").exists()
