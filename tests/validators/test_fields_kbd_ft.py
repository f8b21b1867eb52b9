"""Field checkers of deaths and censuses, and the death-book record rules."""

from __future__ import annotations

import re

import pytest
from conftest import kbd_row, write_delivery

from ingest.pipeline import run_pipeline
from validators import fields as f
from validators.schemas import FtRecord, KbdRecord, check_value, field_rules
from validators.sources import KBD


def issue(checked: f.Checked):
    return [(i.code, i.suggestion, i.auto_fix) for i in checked.issues]


@pytest.mark.parametrize("raw, value, issues", [
    ("74", 74, []),
    ("74 år", 74, [("AGE_MALFORMED", "74", True)]),
    ("3 mdr", 0, []),
    ("5 dage", 0, []),
    ("2 Uger.", 0, []),
    ("½ aar", 0, []),
    ("ukendt", None, [("AGE_MALFORMED", None, False)]),
])
def test_age_at_death(raw, value, issues):
    res = f.check_age_at_death(raw)
    assert (res.value, issue(res)) == (value, issues)


@pytest.mark.parametrize("raw, value", [("UOP", None), ("XXXXXXX", None), ("A", None), ("E", None), ("Ane", "Ane")])
def test_death_name_placeholders(raw, value):
    res = f.check_name_kbd(raw)
    assert res.value == value
    assert [i.code for i in res.issues] == ([] if value else ["NAME_PLACEHOLDER"])


@pytest.mark.parametrize("raw, suggestion", [("BOLV1G", "BOLVIG"), ("A&ELSEN", "AXELSEN"), ("J0HAN", "JOHAN")])
def test_digits_and_ampersand_in_names(raw, suggestion):
    assert issue(f.check_name_kbd(raw)) == [("NAME_INVALID_CHARS", suggestion, False)]


@pytest.mark.parametrize("raw, value, code", [
    ("18540209", "18540209", None),
    ("12-3-1901", "19010312", None),
    ("00-00-1890", "1890????", None),
    ("00-05-1890", "189005??", None),
    ("18560000", "1856????", None),
    ("1867", "1867????", None),
    ("00-00-0000", None, None),
    ("0 0000", None, None),
    ("20130000", None, "DATE_INVALID"),
    ("31-4-1894", None, "DATE_INVALID"),
    ("12. marts 1901", "19010312", "DATE_MALFORMED"),
])
def test_census_dates(raw, value, code):
    res = f.check_census_date(raw)
    assert res.value == value
    assert [i.code for i in res.issues] == ([code] if code else [])


@pytest.mark.parametrize("raw, value, code", [
    ("M", "M", None), ("Mand", "M", None), ("Kvinde", "K", None), ("??", "U", None), ("k", "K", "KOEN_INVALID"),
    ("X", None, "KOEN_INVALID"),
])
def test_census_sex(raw, value, code):
    res = f.check_sex_census(raw)
    assert res.value == value and [i.code for i in res.issues] == ([code] if code else [])


@pytest.mark.parametrize("raw, value", [("Gift", "G"), ("G", "G"), ("Ugift", "U"), ("Enkemand", "E"), ("Enke", "E"),
                                        ("F", "F"), ("Fraskilt", "F"), ("Separeret", "S"), ("??", None)])
def test_civil_status(raw, value):
    res = f.check_civil_status(raw)
    assert (res.value, res.issues) == (value, ())


def test_civil_status_unknown():
    assert [i.code for i in f.check_civil_status("Gfit").issues] == ["CIVILSTAND_INVALID"]


@pytest.mark.parametrize("raw, value, code", [
    ("32", 32, None), ("under et aar", 0, "AGE_MALFORMED"), ("under et aar 13 Apr.89", 0, "AGE_MALFORMED"),
    ("31?", None, "AGE_MALFORMED"), ("13/1-90", None, "AGE_MALFORMED"),
])
def test_census_ages(raw, value, code):
    res = f.check_age_census(raw)
    assert res.value == value and [i.code for i in res.issues] == ([code] if code else [])


def test_census_year_and_entry_number():
    assert f.check_census_year("FT-1890").value == 1890 and f.check_census_year("1921").value == 1921
    assert f.check_census_entry_number("D7013").issues == ()
    assert f.check_census_entry_number("K3801").issues == ()
    assert [i.code for i in f.check_census_entry_number("3801").issues] == ["ENTRY_NUMBER_FORMAT"]


@pytest.mark.parametrize("model, name, values", [
    (KbdRecord, "ALDER", ["0", "7", "96"]),
    (FtRecord, "TAELLINGSAAR", ["1921", "1930"]),
    (FtRecord, "FOEDEAAR", ["1850", "1929"]),
    (FtRecord, "ALDER", ["0", "45"]),
    (FtRecord, "KOEN", ["K", "M", "U"]),
    (FtRecord, "FORNAVN", ["Hans", "Anne Marie"]),
])
def test_fast_patterns_agree_with_the_checkers(model, name, values):
    rule = field_rules(model)[name]
    for raw in values:
        assert re.fullmatch(rule.fast, raw)
        res = check_value(model, name, raw)
        assert res.issues == () and res.value == (int(raw) if rule.kind == "int" else raw)


def test_death_names_are_always_checked():
    """A lone A or E is a placeholder in deaths; no fast pattern may let it through."""
    for name in ("FORNAVN", "MELLEMNAVNE", "EFTERNAVN"):
        assert field_rules(KbdRecord)[name].fast is None


@pytest.fixture
def death_rows() -> list[dict]:
    return [kbd_row(i, i) for i in range(1, 11)]


def run_deaths(tmp_path, rows):
    write_delivery(tmp_path, rows, entry="K2750", source=KBD)
    result = run_pipeline([tmp_path], keep_clean=True)
    return result, [(x["code"], x["loebe_nr"], x["field"]) for x in result.findings_json()["findings"]]


def test_clean_deaths_have_no_findings(tmp_path, death_rows):
    result, found = run_deaths(tmp_path, death_rows)
    assert found == []
    table = result.clean["KBD"][0]
    assert table["ALDER_VED_DOED"].tolist() == [70] * 10 and table["TIL_LINKAGE"].all()


def test_death_rules(tmp_path, death_rows):
    death_rows[1].update(FOEDSELSDATO="19510203")  # born after the death
    death_rows[2].update(ALDER="60")  # the dates give 70
    death_rows[3].update(BEGRAVELSESDAG="19210301")  # buried before 4 March
    death_rows[4].update(FORNAVN="UOP", EFTERNAVN="BOLV1G")
    death_rows[5].update(ALDER="3 mdr", FOEDSELSDATO="19201206")  # an infant: no finding
    death_rows[7].update(KILDE_LOEBE_NR="10")  # 8 and 9 missing
    death_rows[8].update(KILDE_LOEBE_NR="10")
    death_rows[9].update(KILDE_LOEBE_NR="11")
    _, found = run_deaths(tmp_path, death_rows)
    assert set(found) == {
        ("DEATH_BEFORE_BIRTH", 2, "DOEDSDATO"), ("AGE_DATE_MISMATCH", 3, "ALDER"),
        ("BURIAL_BEFORE_DEATH", 4, "BEGRAVELSESDAG"), ("NAME_PLACEHOLDER", 5, "FORNAVN"),
        ("NAME_INVALID_CHARS", 5, "EFTERNAVN"), ("KILDE_LOEBE_NR_GAP", 8, "KILDE_LOEBE_NR"),
        ("KILDE_LOEBE_NR_REPEAT", 9, "KILDE_LOEBE_NR"),
    }


def test_a_death_before_the_birth_in_the_same_year_is_found_by_the_dates(tmp_path, death_rows):
    died = death_rows[1]["DOEDSDATO"]
    death_rows[1].update(FOEDSELSDATO=died[:4] + "1231", ALDER="0")  # born later in the year of the death
    _, found = run_deaths(tmp_path, death_rows)
    assert ("DEATH_BEFORE_BIRTH", 2, "DOEDSDATO") in found


def test_what_the_death_rules_tell_the_reviewer(tmp_path, death_rows):
    death_rows[2].update(ALDER="60")  # born 4 February 1851, died 4 March 1921: 70
    death_rows[3].update(BEGRAVELSESDAG="19210301")  # died 5 March
    death_rows[6].update(ALDER="60", FOEDSELSDATO="1851????")  # the years alone give 69 or 70
    death_rows[8].update(ALDER="115", FOEDSELSDATO="")
    result, _ = run_deaths(tmp_path, death_rows)
    seen = [(f["loebe_nr"], f["code"], f["field"], f["message"], f["suggestion"])
            for f in result.findings_json()["findings"]]
    assert seen == [
        (3, "AGE_DATE_MISMATCH", "ALDER", "age stated 60, birth and death dates give 70", "70"),
        (4, "BURIAL_BEFORE_DEATH", "BEGRAVELSESDAG", "buried 19210301, died 19210305", None),
        (7, "AGE_DATE_MISMATCH", "ALDER", "age stated 60, birth and death dates give 69-70", None),
        (9, "AGE_IMPLAUSIBLE", "ALDER", "aged 115 at death (more than 110)", None),
    ]
    assert result.clean["KBD"][0]["ALDER_VED_DOED"].tolist()[8] == 115


def test_a_death_without_an_age_or_a_birth_date_has_no_age_at_death_and_no_finding_about_it(tmp_path, death_rows):
    # Neither field is required in a book of deaths: nothing to check, nothing to report.
    death_rows[4].update(ALDER="", FOEDSELSDATO="")
    result, found = run_deaths(tmp_path, death_rows)
    assert found == []
    ages = result.clean["KBD"][0]["ALDER_VED_DOED"]
    assert ages.isna().tolist() == [False] * 4 + [True] + [False] * 5 and set(ages.dropna()) == {70}


def test_the_age_at_death_at_the_edges_of_what_is_tolerated(tmp_path):
    """Each of these died in March 1921, born in February 1851 (70) unless told otherwise. A
    stated age one year off the dates is tolerated, two is not; with the birth year alone
    the dates give 69 or 70; 110 is a possible age, 111 is not; where the death comes
    before the birth, the stated age is all there is."""
    spec = [("71", None), ("72", None), ("69", None), ("68", None), ("70", "1851????"), ("68", "1851????"),
            ("71", "1851????"), ("110", "18110101"), ("111", ""), ("", "18100101"), ("5", "19210401")]
    rows = [kbd_row(n, n, ALDER=age, **({} if born is None else {"FOEDSELSDATO": born}))
            for n, (age, born) in enumerate(spec, start=1)]
    result, _ = run_deaths(tmp_path, rows)
    assert [(f["loebe_nr"], f["code"], f["message"], f["suggestion"]) for f in result.findings_json()["findings"]] == [
        (2, "AGE_DATE_MISMATCH", "age stated 72, birth and death dates give 70", "70"),
        (4, "AGE_DATE_MISMATCH", "age stated 68, birth and death dates give 70", "70"),
        (9, "AGE_IMPLAUSIBLE", "aged 111 at death (more than 110)", None),
        (10, "AGE_IMPLAUSIBLE", "aged 111 at death (more than 110)", None),
        (11, "DEATH_BEFORE_BIRTH", "died 19210312, born 19210401", None)]
    assert result.clean["KBD"][0]["ALDER_VED_DOED"].tolist() == [70, 70, 70, 70, 70, 68, 71, 110, 111, 111, 5]


def test_the_death_against_the_birth_and_the_burial_against_the_death_at_their_edges(tmp_path):
    """Born and dead the same day, buried the day of the death: possible. Died the day
    before the birth, or in an earlier year where the dates are known only to the year
    (????), or buried the day before the death: reported, naming both dates."""
    spec = [("19210305", "19210305", "19210305", "0"), ("19210306", "19210305", "19210310", "0"),
            ("1922????", "1921????", "19210401", ""), ("1921????", "1921????", "19210401", "0"),
            ("18510204", "19210305", "19210304", "70")]
    rows = [kbd_row(n, n, FOEDSELSDATO=born, DOEDSDATO=died, BEGRAVELSESDAG=buried, ALDER=age)
            for n, (born, died, buried, age) in enumerate(spec, start=1)]
    result, _ = run_deaths(tmp_path, rows)
    assert [(f["loebe_nr"], f["code"], f["field"], f["message"]) for f in result.findings_json()["findings"]] == [
        (2, "DEATH_BEFORE_BIRTH", "DOEDSDATO", "died 19210305, born 19210306"),
        (3, "DEATH_BEFORE_BIRTH", "DOEDSDATO", "died 1921????, born 1922????"),
        (5, "BURIAL_BEFORE_DEATH", "BEGRAVELSESDAG", "buried 19210304, died 19210305")]
