"""Fixes whose reading is certain are applied (with their finding and correction row), so
the record stays linkable; an uncertain one is only suggested."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import kbf_row, write_delivery

from ingest.pipeline import corrections_frame, run_pipeline
from validators.record_rules import _readings


def test_sex_written_as_pige_or_dreng_is_read_and_the_child_stays_linkable(tmp_path):
    rows = [kbf_row(i, i) for i in range(1, 5)]
    rows[0].update(KOEN="pige")
    rows[1].update(KOEN="Dreng")
    rows[2].update(KOEN="pd")
    write_delivery(tmp_path, rows, entry="K2697")
    result = run_pipeline([tmp_path], keep_clean=True)
    clean = pd.concat(result.clean["KBF"], ignore_index=True).set_index("LOEBE_NR")
    assert clean.loc[[1, 2], "KOEN_REN"].tolist() == ["K", "M"]
    assert clean.loc[[1, 2], "TIL_LINKAGE"].tolist() == [True, True]
    assert pd.isna(clean.at[3, "KOEN_REN"]) and not clean.at[3, "TIL_LINKAGE"]
    findings = {f["loebe_nr"]: f for f in result.findings_json()["findings"] if f["code"] == "KOEN_INVALID"}
    assert (findings[1]["auto_fix"], findings[2]["auto_fix"], findings[3]["auto_fix"]) == (True, True, False)
    assert findings[3]["suggestion"] == "M"  # offered, not applied
    corrections = corrections_frame(result)
    sex = corrections[corrections["field"] == "KOEN"].set_index("LOEBE_NR")
    assert sex.loc[[1, 2], "new_value"].tolist() == ["K", "M"] and 3 not in sex.index
    # what a reviewer reads in the corrections table: what was keyed, where, by which rule and when
    assert sex.loc[1, ["INDTASTNINGSNUMMER", "line", "old_value", "rule", "who", "when"]].tolist() == [
        "K2697", 2, "pige", "KOEN_INVALID", "rule", result.started]


def test_dates_the_book_years_make_unique_are_read(tmp_path):
    rows = [kbf_row(i, i) for i in range(1, 7)]
    rows[0].update(FOEDSELSDATO="12031921")  # DDMMYYYY
    rows[1].update(FOEDSELSDATO="210312")  # YYMMDD (DDMMYY would be 1912, outside the book)
    rows[2].update(FOEDSELSDATO="12-3-21")  # a two-digit year: 1921, not 1821
    rows[3].update(FOEDSELSDATO="200121")  # 1920-01-21 and 1921-01-20 both fit: only suggested
    rows[4].update(FOEDSELSDATO="120321")  # DDMMYY (YYMMDD would be 1912)
    write_delivery(tmp_path, rows, entry="K2697", meta={"FRA_AAR": "1921", "TIL_AAR": "1921"})
    result = run_pipeline([tmp_path], keep_clean=True)
    clean = pd.concat(result.clean["KBF"], ignore_index=True).set_index("LOEBE_NR")
    assert clean.loc[[1, 2, 3, 5], "FOEDSELSDATO_ISO"].tolist() == ["1921-03-12"] * 4
    assert clean.loc[[1, 2, 3, 5], "TIL_LINKAGE"].tolist() == [True] * 4
    assert pd.isna(clean.at[4, "FOEDSELSDATO_REN"]) and not clean.at[4, "TIL_LINKAGE"]
    dates = {f["loebe_nr"]: f for f in result.findings_json()["findings"] if f["field"] == "FOEDSELSDATO"}
    assert all(dates[n]["auto_fix"] and dates[n]["code"] == "DATE_MALFORMED" for n in (1, 2, 3, 5))
    assert [dates[n]["message"] for n in (1, 2, 3, 5)] == [
        f"date '{text}' read as {form}: 19210312, the only reading within the book's year 1921"
        for text, form in (("12031921", "DDMMYYYY"), ("210312", "YYMMDD"), ("12-3-21", "D-M-YY"),
                           ("120321", "DDMMYY"))]
    assert not dates[4]["auto_fix"]
    corrections = corrections_frame(result)
    fixed = corrections[corrections["field"] == "FOEDSELSDATO"].set_index("LOEBE_NR")
    assert fixed.loc[[1, 2, 3, 5], "new_value"].tolist() == ["19210312"] * 4 and 4 not in fixed.index


def test_every_correction_of_a_run_carries_the_run_s_time_however_long_it_runs(tmp_path):
    """The store passes its import's start: a correction made minutes later still carries
    it, so a reviewer finds every correction of one import under one time."""
    rows = [kbf_row(i, i) for i in range(1, 4)]
    rows[0].update(KOEN="pige")
    rows[2].update(FOEDSELSDATO="12031921")
    write_delivery(tmp_path, rows, entry="K2697", meta={"FRA_AAR": "1921", "TIL_AAR": "1921"})
    result = run_pipeline([tmp_path], keep_clean=True, options={"when": "2026-01-02T03:04:05+00:00"})
    corrections = corrections_frame(result)
    assert sorted(corrections["field"]) == ["FOEDSELSDATO", "KOEN"]
    assert corrections["when"].tolist() == ["2026-01-02T03:04:05+00:00"] * 2


@pytest.mark.parametrize("keyed, readings", [
    ("12031921", [(1921, 3, 12, "DDMMYYYY")]),
    ("31021921", []),  # no 31 February
    ("210312", [r for c in (1700, 1800, 1900) for r in ((c + 21, 3, 12, "YYMMDD"), (c + 12, 3, 21, "DDMMYY"))]),
    ("12-3-21", [(c + 21, 3, 12, "D-M-YY") for c in (1700, 1800, 1900)]),
    (" 1.3.21 ", [(c + 21, 3, 1, "D-M-YY") for c in (1700, 1800, 1900)]),
    ("3/2/99", [(c + 99, 2, 3, "D-M-YY") for c in (1700, 1800, 1900)]),
    ("1-13-21", []), ("2103121", []),
])
def test_the_readings_a_keyed_date_can_have(keyed, readings):
    assert _readings(keyed) == readings


def test_a_date_the_book_s_years_read_is_the_date_every_later_check_uses(tmp_path):
    """'12031921' in a book of 1921-1922 is 12 March 1921: the baptism the day before, the
    mother born in 1907 and the registration year 1923 are each measured against it."""
    rows = [kbf_row(i, i) for i in range(1, 5)]
    rows[0].update(FOEDSELSDATO="12031921", KIRKEDAABSDATO="19210311")
    rows[1].update(FOEDSELSDATO="12031921", MODERS_FOEDSELSDAG="19070313", MODERS_ALDER="")
    rows[2].update(FOEDSELSDATO="12031921", KALENDERAAR="1923")
    write_delivery(tmp_path, rows, entry="K2697", meta={"FRA_AAR": "1921", "TIL_AAR": "1922"})
    result = run_pipeline([tmp_path], keep_clean=True)
    found = [(f["loebe_nr"], f["code"], f["message"]) for f in result.findings_json()["findings"]
             if f["loebe_nr"] in (1, 2, 3)]
    read = "date '12031921' read as DDMMYYYY: 19210312, the only reading within the book's years 1921-1922"
    assert found == [
        (1, "DATE_MALFORMED", read), (1, "DATE_OUT_OF_RANGE", "KIRKEDAABSDATO is before the birth date"),
        (2, "DATE_MALFORMED", read),
        (2, "AGE_IMPLAUSIBLE", "mother's birth date gives age 13 at the birth (expected 14-50)"),
        (3, "DATE_MALFORMED", read), (3, "KALENDERAAR_INCONSISTENT", "registration year 1923 but born 1921")]
    clean = pd.concat(result.clean["KBF"], ignore_index=True).set_index("LOEBE_NR")
    assert clean.loc[[1, 2, 3], "FOEDSELSDATO_ISO"].tolist() == ["1921-03-12"] * 3
