"""Field checkers: what a transcriber keyed, and what the system makes of it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from validators import fields as f
from validators.schemas import KbfRecord, check_record, check_value


def codes(checked: f.Checked) -> list[str]:
    return [i.code for i in checked.issues]


@pytest.mark.parametrize("raw, value, code, suggestion, auto", [
    ("19210312", "19210312", None, None, None),
    ("1924????", "1924????", None, None, None),
    ("192?0510", "192?0510", None, None, None),
    ("????1924", "1924????", "DATE_WILDCARD_MISPLACED", "1924????", True),
    ("??111897", "189711??", "DATE_WILDCARD_MISPLACED", "189711??", True),
    ("2311????", "????1123", "DATE_WILDCARD_MISPLACED", "????1123", True),
    ("19230229", None, "DATE_INVALID", None, False),
    ("19211301", None, "DATE_INVALID", "19210113", False),  # day and month swapped
    ("12-3-1921", "19210312", "DATE_MALFORMED", "19210312", True),
    ("1921-03-12", "19210312", "DATE_MALFORMED", "19210312", True),  # ISO, as a spreadsheet writes it
    ("1921-02-30", None, "DATE_MALFORMED", None, False),  # no such day: nothing to suggest
    ("12. marts 1921", "19210312", "DATE_MALFORMED", "19210312", True),
    ("11-jan", "????0111", "DATE_MALFORMED", "????0111", True),
    ("25 jan??", "????0125", "DATE_MALFORMED", "????0125", True),
    ("12.3.21", None, "DATE_MALFORMED", "19210312", False),
    ("ukendt", None, "DATE_MALFORMED", None, False),
])
def test_dates(raw, value, code, suggestion, auto):
    res = f.check_date(raw)
    assert res.value == value
    if code is None:
        assert res.issues == ()
    else:
        (issue,) = res.issues
        assert (issue.code, issue.suggestion, issue.auto_fix) == (code, suggestion, auto)


def test_iso_and_year_of_dates():
    assert f.check_date("19210312").extra == {"iso": "1921-03-12", "year": 1921}
    assert f.check_date("1924????").extra == {"iso": None, "year": 1924}


@pytest.mark.parametrize("raw, value, code", [
    ("K2697", "K2697", None), ("K2697a", "K2697a", None), ("2697", "K2697", "ENTRY_NUMBER_FORMAT"),
    ("KK2697", None, "ENTRY_NUMBER_FORMAT"), ("k2697", "K2697", "ENTRY_NUMBER_FORMAT"),
])
def test_entry_numbers(raw, value, code):
    res = f.check_entry_number(raw)
    assert res.value == value and codes(res) == ([code] if code else [])


@pytest.mark.parametrize("raw, value, number, letter, code", [
    ("24", "24", 24, "", None), ("0", "0", 0, "", None), ("24a", "24a", 24, "a", None),
    ("24 B", "24b", 24, "b", None), ("-", None, None, "", "KILDE_LOEBE_NR_NONSTANDARD"),
    ("--", None, None, "", "KILDE_LOEBE_NR_NONSTANDARD"), ("(a)", None, None, "a", "KILDE_LOEBE_NR_NONSTANDARD"),
    ("u.n.", None, None, "", "KILDE_LOEBE_NR_NONSTANDARD"), ("", None, None, "", "REQUIRED_MISSING"),
])
def test_book_entry_numbers(raw, value, number, letter, code):
    res = f.check_book_entry_number(raw)
    assert (res.value, res.extra["number"], res.extra["letter"]) == (value, number, letter)
    assert codes(res) == ([code] if code else [])


def test_names():
    res = f.check_name("Jensen [Nielsen]")
    assert res.value == "Jensen Nielsen"
    assert res.extra == {"without_struck": "Jensen", "struck": "Nielsen"}
    assert codes(res) == ["NAME_STRUCK_PART"]
    assert codes(f.check_name("--")) == ["NAME_PLACEHOLDER"] and f.check_name("--").value is None
    bad = f.check_name("BOLV1G")
    assert codes(bad) == ["NAME_INVALID_CHARS"] and bad.issues[0].suggestion == "BOLVIG"
    assert f.check_name("A&ELSEN").issues[0].suggestion == "AXELSEN"
    assert f.check_name("K1rsten").issues[0].suggestion == "Kirsten"
    assert f.check_name("Anne-Marie").issues == ()


def test_sex_age_and_places():
    assert f.check_sex("m").value == "M" and f.check_sex("m").issues[0].auto_fix
    assert codes(f.check_sex("X")) == ["KOEN_INVALID"] and f.check_sex("X").value is None
    assert f.check_age("19 Aar").value == 19 and f.check_age("34 år").value == 34
    assert codes(f.check_age("19 Aar")) == ["AGE_MALFORMED"]
    misplaced = f.make_place_checker("FADERS_FOEDSELSDAG")("18930412")
    assert codes(misplaced) == ["FIELD_MISPLACED"] and misplaced.issues[0].suggestion == "18930412"
    assert f.make_place_checker("FADERS_FOEDSELSDAG")("Vejby Sogn").value == "Vejby Sogn"


def test_schema_raises_finding_codes_and_collects_warnings():
    with pytest.raises(ValidationError) as err:
        KbfRecord.model_validate({"FOEDSELSDATO": "19230229", "KOEN": "X"})
    assert {e["type"] for e in err.value.errors()} == {"DATE_INVALID", "KOEN_INVALID"}
    # Warnings and auto-fixes do not make a record invalid…
    KbfRecord.model_validate({"MODERS_ALDER": "19 Aar", "KOEN": "k"})
    # …but the collecting mode reports them.
    checked = check_record(KbfRecord, {"MODERS_ALDER": "19 Aar", "KOEN": "k"})
    assert checked["MODERS_ALDER"].value == 19 and checked["KOEN"].value == "K"


@pytest.mark.parametrize("name, values", [
    ("LOEBE_NR", ["1", "17", "999999999"]),
    ("KILDE_SIDE", ["1", "200"]),
    ("KILDE_LOEBE_NR", ["1", "24", "99999"]),
    ("FORNAVN", ["Hans", "Anne Marie", "Søren", "Åge", "René"]),
    ("FOEDESTED", ["Vejby", "Ny-Holte", "Sankt Jørgens"]),
])
def test_fast_patterns_agree_with_the_checkers(name, values):
    """The engine skips the checker for values matching a rule's fast pattern; that is
    only right if the checker would pass them unchanged."""
    import re

    from validators.schemas import field_rules

    rule = field_rules(KbfRecord)[name]
    for raw in values:
        assert re.fullmatch(rule.fast, raw)
        res = check_value(KbfRecord, name, raw)
        assert res.issues == ()
        assert res.value == (int(raw) if rule.kind == "int" else raw)
        if rule.kind == "entry":
            assert res.extra == {"number": int(raw), "letter": ""}
        if rule.kind == "name":
            assert res.extra == {"without_struck": raw, "struck": None}


def test_date_out_of_order_blames_the_row_that_stands_out(tmp_path):
    from conftest import kbf_row, write_delivery

    from ingest.pipeline import run_pipeline

    rows = [kbf_row(i, i, FOEDSELSDATO=f"1921{i:02d}10") for i in range(1, 9)]
    rows[3]["FOEDSELSDATO"] = "19211210"  # December keyed between April and May: one row stands out
    write_delivery(tmp_path, rows)
    found = [f for f in run_pipeline([tmp_path]).findings_json()["findings"] if f["code"] == "DATE_ORDER"]
    assert [(f["line"], f["loebe_nr"], f["field"]) for f in found] == [(5, 4, "FOEDSELSDATO")]


@pytest.mark.parametrize("raw, value, issues, extra", [
    ("  19210312 ", "19210312", [], ("1921-03-12", 1921)),
    ("15000101", "15000101", [], ("1500-01-01", 1500)), ("21001231", "21001231", [], ("2100-12-31", 2100)),
    ("14991231", None, [("DATE_INVALID", "14991231 is not a date", None, False)], (None, None)),
    ("21010101", None, [("DATE_INVALID", "21010101 is not a date", None, False)], (None, None)),
    ("19211301", None, [("DATE_INVALID", "19211301 is not a date", "19210113", False)], (None, None)),
    ("00001301", None, [("DATE_INVALID", "00001301 is not a date", None, False)], (None, None)),  # no year 0
    ("1923????", "1923????", [], (None, 1923)), ("1921?2?3", "1921?2?3", [], (None, 1921)),
    ("??111897", "189711??", [("DATE_WILDCARD_MISPLACED", "unknown-digit marks in the wrong place in ??111897",
                               "189711??", True)], (None, 1897)),
    ("1921-03-12", "19210312", [("DATE_MALFORMED", "date '1921-03-12' is not YYYYMMDD", "19210312", True)],
     ("1921-03-12", 1921)),
    ("12. marts 1921", "19210312", [("DATE_MALFORMED", "date '12. marts 1921' is not YYYYMMDD", "19210312", True)],
     ("1921-03-12", 1921)),
    ("3-4", "????0403", [("DATE_MALFORMED", "date '3-4' is not YYYYMMDD", "????0403", True)], (None, None)),
    ("31-4", None, [("DATE_MALFORMED", "date '31-4' is not YYYYMMDD", None, False)], (None, None)),
    ("29-2", "????0229", [("DATE_MALFORMED", "date '29-2' is not YYYYMMDD", "????0229", True)], (None, None)),
    ("29 feb", "????0229", [("DATE_MALFORMED", "date '29 feb' is not YYYYMMDD", "????0229", True)], (None, None)),
    ("30.2.1921", None, [("DATE_MALFORMED", "date '30.2.1921' is not YYYYMMDD", None, False)], (None, None)),
    ("12.3.21", None, [("DATE_MALFORMED", "date '12.3.21' is not YYYYMMDD", "19210312", False)], (None, None)),
    # a date in another form is read only into a year a field may hold, as YYYYMMDD is
    ("1-1-2101", None, [("DATE_MALFORMED", "date '1-1-2101' is not YYYYMMDD", None, False)], (None, None)),
    ("2101-01-01", None, [("DATE_MALFORMED", "date '2101-01-01' is not YYYYMMDD", None, False)], (None, None)),
    ("1. jan 1499", None, [("DATE_MALFORMED", "date '1. jan 1499' is not YYYYMMDD", None, False)], (None, None)),
    ("1-1-2100", "21000101", [("DATE_MALFORMED", "date '1-1-2100' is not YYYYMMDD", "21000101", True)],
     ("2100-01-01", 2100)),
    ("²9210312", None, [("DATE_MALFORMED", "date '²9210312' is not YYYYMMDD", None, False)], (None, None)),
    ("x" * 24, None, [("DATE_MALFORMED", f"date '{'x' * 24}' is not YYYYMMDD", None, False)], (None, None)),
    ("x" * 25, None, [("DATE_MALFORMED", f"date '{'x' * 24}…' is not YYYYMMDD", None, False)], (None, None)),
])
def test_what_a_keyed_date_is_read_as_and_what_the_transcriber_is_told(raw, value, issues, extra):
    """The message, suggestion and whether it is applied, and the ISO date and year the
    later checks use: a year from 1500 to 2100, a long text cut at 24 characters."""
    res = f.check_date(raw)
    assert res.value == value
    assert [(i.code, i.message, i.suggestion, i.auto_fix) for i in res.issues] == issues
    assert (res.extra["iso"], res.extra["year"]) == extra


@pytest.mark.parametrize("raw, value, number, letter, message", [
    ("24 B", "24b", 24, "b", None), ("024", "24", 24, "", None), ("0a", "0a", 0, "a", None),
    ("", None, None, "", "entry number in the book is empty"),
    ("B", None, None, "b", "entry number 'B' is not a number"),  # a lone letter keeps its letter for the set check
    ("24ab", None, None, "", "entry number '24ab' is not a number"),
    ("24-25", None, None, "", "entry number '24-25' is not a number"),
    ("1" * 21, None, None, "", f"entry number '{'1' * 20}…' is not a number"),
])
def test_what_an_entry_number_in_the_book_is_read_as(raw, value, number, letter, message):
    res = f.check_book_entry_number(raw)
    assert (res.value, res.extra["number"], res.extra["letter"]) == (value, number, letter)
    assert [i.message for i in res.issues] == ([message] if message else [])
