"""What each field check gives a reviewer for one keyed value: the cleaned value, and per
finding its code, message, suggestion and whether it is fixed automatically. The pipeline
tests show the findings reach the report; these pin down their words and values, which
mutation testing (``benchmarks/bench_mutation.py``) showed nothing else held."""

from __future__ import annotations

import pytest

from validators import fields as F


def _seen(checked: F.Checked) -> tuple:
    return checked.value, [(i.code, i.message, i.suggestion, i.auto_fix) for i in checked.issues]


def kilde_is_kbf(raw):
    # the checker is made inside the test, not when the cases are collected, so that mutation
    # testing sees this test call check_kilde
    return F.check_kilde("KBF")(raw)


CASES = [
    # running numbers, pages, plain counts
    (F.check_running_number, "12", 12, []),
    (F.check_running_number, "0", None, [("LOEBE_NR_INVALID", "running number '0' is not a positive integer",
                                         None, False)]),
    (F.check_running_number, "", None, [("REQUIRED_MISSING", "running number is empty", None, False)]),
    (F.check_running_number, "7,00", 7, [("NUMBER_AS_DECIMAL", "running number '7,00' written with decimals; "
                                         "read as 7", "7", True)]),
    (F.check_page, "Hansen", None, [("KILDE_SIDE_INVALID", "page holds text, not a number", None, False)]),
    (F.check_page, "1234567890", None, [("KILDE_SIDE_INVALID", "page '1234567890' is not a positive integer",
                                         None, False)]),
    # the book's own entry number
    (F.check_book_entry_number, "24 A", "24a", []),
    (F.check_book_entry_number, "u.n.", None, [("KILDE_LOEBE_NR_NONSTANDARD", "entry number 'u.n.' is not a number",
                                              None, False)]),
    (F.check_book_entry_number, "", None, [("REQUIRED_MISSING", "entry number in the book is empty", None, False)]),
    # KILDE
    (kilde_is_kbf, "KBF", "KBF", []),
    (kilde_is_kbf, "kbf", "KBF", [("KILDE_INVALID", "KILDE 'kbf' should read 'KBF'", "KBF", True)]),
    (kilde_is_kbf, "KBD", None, [("KILDE_INVALID", "KILDE 'KBD' is not 'KBF'", None, False)]),
    (kilde_is_kbf, "", None, [("REQUIRED_MISSING", "KILDE is empty", "KBF", False)]),
    (F.check_required_text, "  Vejby ", "Vejby", []),
    (F.check_required_text, " ", None, [("REQUIRED_MISSING", "required field is empty", None, False)]),
    # dates
    (F.check_date, "19210709", "19210709", []),
    (F.check_date, "19211307", None, [("DATE_INVALID", "19211307 is not a date", "19210713", False)]),
    (F.check_date, "19210230", None, [("DATE_INVALID", "19210230 is not a date", None, False)]),
    (F.check_date, "19?1?3??", "19?1?3??", []),  # unknown digits where digits may be
    (F.check_date, "19?21399", None, [("DATE_INVALID", "19?21399 is not a date", None, False)]),
    (F.check_date, "12.3.", "????0312", [("DATE_MALFORMED", "date '12.3.' is not YYYYMMDD", "????0312", True)]),
    (F.check_date, "31.2.", None, [("DATE_MALFORMED", "date '31.2.' is not YYYYMMDD", None, False)]),
    (F.check_date, "????1924", "1924????", [("DATE_WILDCARD_MISPLACED", "unknown-digit marks in the wrong place "
                                            "in ????1924", "1924????", True)]),
    (F.check_date, "9. juli 1921", "19210709", [("DATE_MALFORMED", "date '9. juli 1921' is not YYYYMMDD",
                                               "19210709", True)]),
    (F.check_date, "ukendt", None, [("DATE_MALFORMED", "date 'ukendt' is not YYYYMMDD", None, False)]),
    # sex
    (F.check_sex, "K", "K", []),
    (F.check_sex, "m", "M", [("KOEN_INVALID", "sex 'm' in lower case", "M", True)]),
    (F.check_sex, "Pige", "K", [("KOEN_INVALID", "sex written as the word 'Pige'; read as K", "K", True)]),
    (F.check_sex, "pd", None, [("KOEN_INVALID", "sex 'pd' is not K, M or U", "M", False)]),
    (F.check_sex, "", None, [("REQUIRED_MISSING", "sex is empty", None, False)]),
    (F.check_sex, "U", "U", []), (F.check_sex, "u", "U", [("KOEN_INVALID", "sex 'u' in lower case", "U", True)]),
    (F.check_sex, "k", "K", [("KOEN_INVALID", "sex 'k' in lower case", "K", True)]),
    (F.check_sex, "Dreng.", "M", [("KOEN_INVALID", "sex written as the word 'Dreng.'; read as M", "M", True)]),
    (F.check_sex, "Søn", "M", [("KOEN_INVALID", "sex written as the word 'Søn'; read as M", "M", True)]),
    (F.check_sex, "DATTER", "K", [("KOEN_INVALID", "sex written as the word 'DATTER'; read as K", "K", True)]),
    (F.check_sex, "abcdefghijkl", None, [("KOEN_INVALID", "sex 'abcdefghijkl' is not K, M or U", None, False)]),
    (F.check_sex, "abcdefghijklm", None, [("KOEN_INVALID", "sex 'abcdefghijkl…' is not K, M or U", None, False)]),
    # ages and years
    (F.check_age, "34", 34, []),
    (F.check_age, "19 Aar", 19, [("AGE_MALFORMED", "age '19 Aar' is not a plain number", "19", True)]),
    (F.check_age, "ung", None, [("AGE_MALFORMED", "age 'ung' is not a number", None, False)]),
    (F.check_year, "1921", 1921, []),
    (F.check_year, "21", None, [("KALENDERAAR_INCONSISTENT", "registration year '21' is not a year", None, False)]),
    (F.check_year, "", None, [("REQUIRED_MISSING", "registration year is empty", None, False)]),
    (F.check_optional_year, "1890", 1890, []),
    (F.check_optional_year, "1890,0", 1890, [("NUMBER_AS_DECIMAL", "year '1890,0' written with decimals; read as "
                                             "1890", "1890", True)]),
    (F.check_optional_year, "90", None, [("DATE_MALFORMED", "year '90' is not a four-digit year", None, False)]),
    # the bounds of a plausible birth year, 1500 and 2100, written plainly and with decimals
    (F.check_optional_year, "1500", 1500, []), (F.check_optional_year, "2100", 2100, []),
    (F.check_optional_year, "1499", None, [("DATE_MALFORMED", "year '1499' is not a four-digit year", None, False)]),
    (F.check_optional_year, "1500,0", 1500, [("NUMBER_AS_DECIMAL", "year '1500,0' written with decimals; read as "
                                             "1500", "1500", True)]),
    (F.check_optional_year, "2100,0", 2100, [("NUMBER_AS_DECIMAL", "year '2100,0' written with decimals; read as "
                                             "2100", "2100", True)]),
    (F.check_optional_year, "2101,0", None, [("DATE_MALFORMED", "year '2101,0' is not a four-digit year", None,
                                              False)]),
    (F.check_age_at_death, "3 mdr", 0, []),
    (F.check_age_at_death, "74 år", 74, [("AGE_MALFORMED", "age '74 år' is not a plain number", "74", True)]),
    # names
    (F.check_name, "Ane Kirstine", "Ane Kirstine", []),
    (F.check_name, "UOP", None, [("NAME_PLACEHOLDER", "placeholder 'UOP' means empty", "", True)]),
    (F.check_name, "Ma1ie", "Ma1ie", [("NAME_INVALID_CHARS", "digits or symbols in a name", "Maiie", False)]),
    (F.check_name, "J0HAN", "J0HAN", [("NAME_INVALID_CHARS", "digits or symbols in a name", "JOHAN", False)]),
    # a digit read as a letter still leaves a symbol: no suggestion that is no name either
    (F.check_name, "J0han #", "J0han #", [("NAME_INVALID_CHARS", "digits or symbols in a name", None, False)]),
    (F.check_name, "Hans [Peter]", "Hans Peter", [("NAME_STRUCK_PART", "name holds a struck-out part in brackets",
                                                  None, False)]),
    # censuses
    (F.check_census_year, "FT-1890", 1890, []),
    (F.check_census_year, "1x90", None, [("DATE_MALFORMED", "census year '1x90' is not a year", None, False)]),
    (F.check_census_date, "00-00-1890", "1890????", []),
    (F.check_census_date, "18900500", "189005??", []),  # the day not known: 00 as the census forms have it
    (F.check_census_date, "18900005", None, [("DATE_INVALID", "18900005 is not a date", None, False)]),
    (F.check_census_date, "31-02-1890", None, [("DATE_INVALID", "31-02-1890 is not a date", None, False)]),
    (F.check_age_census, "under et aar", 0, [("AGE_MALFORMED", "age 'under et aar' read as 0 (under one year)",
                                              "0", True)]),
    (F.check_age_census, "31?", None, [("AGE_MALFORMED", "age '31?' is marked uncertain", "31", False)]),
    (F.check_age_census, "123456789", 123456789, []),  # a plain number, however large (too old: a record check)
    # ten digits, or two ages, are no age to choose from (they were read three digits at a time)
    (F.check_age_census, "1234567890", None, [("AGE_MALFORMED", "age '1234567890' is not a number", None, False)]),
    (F.check_age_at_death, "74 75", None, [("AGE_MALFORMED", "age '74 75' is not a number", None, False)]),
    (F.check_age_at_death, "1 aar 3 mdr", 1, [("AGE_MALFORMED", "age '1 aar 3 mdr' is not a plain number", "1", True)]),
    (F.check_age_at_death, "3 mdr 2 dage", 0, []), (F.check_age_at_death, "½ aar", 0, []),
    (F.check_age_census, "under 1 aar 12/3", 0, [("AGE_MALFORMED", "age 'under 1 aar 12/3' read as 0 (under one year)",
                                                  "0", True)]),
    (F.check_age_census, "199,5", 199, [("NUMBER_AS_DECIMAL", "age '199,5' written with decimals; read as 199 "
                                         "(199.5 years)", "199", True)]),
    (F.check_age_census, "200,5", None, [("AGE_MALFORMED", "age '200,5' is not a number", None, False)]),
    (F.check_age_census, "200,0", None, [("AGE_MALFORMED", "age '200,0' is not a number", None, False)]),
    (F.check_age_census, "x" * 21, None, [("AGE_MALFORMED", f"age '{'x' * 20}…' is not a number", None, False)]),
    (F.check_age_census, "12/3", None, [("AGE_MALFORMED", "a day and month ('12/3') were keyed for the age",
                                         None, False)]),
    (F.check_age_census, "31,500", 31, [("NUMBER_AS_DECIMAL", "age '31,500' written with decimals; read as 31 "
                                         "(31.5 years)", "31", True)]),
    (F.check_civil_status, "Gift", "G", []),
    (F.check_civil_status, "Præst", None, [("CIVILSTAND_INVALID", "civil status 'Præst' is not a known status",
                                           None, False)]),
]


@pytest.mark.parametrize(("check", "raw", "value", "issues"), CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_a_keyed_value_gets_its_value_and_findings(check, raw, value, issues):
    assert _seen(check(raw)) == (value, issues)


def test_stated_ages_in_years():
    assert [F.age_in_years(s) for s in ("31", ",500", "2,25", "3 Mdr", "1 Aar 6 Mdr", "14 Dage", "ung", "")] == [
        31.0, 0.5, 2.25, 0.25, 1.5, 0.0383, None, None]


@pytest.mark.parametrize("source, field, value, date_field", [
    ("KBF", "FOEDESTED", "-2+3", "FOEDSELSDATO"), ("KBF", "FADERS_FOEDESTED", "=1+1", "FADERS_FOEDSELSDAG"),
    ("KBF", "MODERS_FOEDESTED", "@SUM(1)", "MODERS_FOEDSELSDAG"), ("KBD", "DOEDSSTED", "+A1", "DOEDSDATO"),
    ("FT", "FOEDESTED", "=HYPERLINK(\"x\")", "FOEDSELSDAG")])
def test_a_birth_or_death_place_is_free_text_so_a_formula_in_it_is_warned_at_entry(source, field, value, date_field):
    """A place is text the entry screen warns about when a spreadsheet would run it; the date
    beside it is checked as a date instead (a minus there makes a malformed date)."""
    from webentry.checks import check_field

    assert [(i["code"], i["severity"]) for i in check_field(source, field, value)] == [("FORMULA_PREFIX", "warning")]
    assert [i["code"] for i in check_field(source, date_field, "-1")] == ["DATE_MALFORMED"]
