"""Details of findings a reviewer relies on, which mutation testing
(``benchmarks/bench_mutation.py``) showed no other test held: the field a running-number jump
is reported on and the number it expected, the message of an empty sex, of a gap in the entry
numbers, of a child keyed twice and of an overfull page."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import kbf_row, write_delivery

from ingest.pipeline import run_pipeline


def _findings(tmp_path, rows, code):
    write_delivery(tmp_path, rows, entry="K2697")
    result = run_pipeline([tmp_path], keep_clean=True)
    return [f for f in result.findings_json()["findings"] if f["code"] == code]


def test_a_jump_in_the_running_numbers_names_the_field_and_the_number_expected(tmp_path):
    rows = [kbf_row(n, n) for n in (1, 2, 3, 5, 6)]  # 4 is never used
    found = _findings(tmp_path, rows, "LOEBE_NR_SEQUENCE")
    assert [(f["line"], f["loebe_nr"], f["field"], f["suggestion"]) for f in found] == [(5, 5, "LOEBE_NR", "4")]
    assert found[0]["message"] == "running number 5 where 4 was expected"
    assert found[0]["severity"] == "error"


def test_a_repeated_running_number_is_reported_once_on_its_second_row(tmp_path):
    # the third row took the second's number; the fourth is where its position puts it
    rows = [kbf_row(n, k) for n, k in ((1, 1), (2, 2), (2, 3), (4, 4))]
    found = _findings(tmp_path, rows, "LOEBE_NR_SEQUENCE")
    assert [(f["line"], f["loebe_nr"], f["field"]) for f in found] == [(4, 2, "LOEBE_NR")]
    assert found[0]["message"] == "running number 2 is used twice"


def test_an_empty_sex_says_so(tmp_path):
    rows = [kbf_row(n, n) for n in (1, 2, 3)]
    rows[1]["KOEN"] = ""
    found = [f for f in _findings(tmp_path, rows, "REQUIRED_MISSING") if f["field"] == "KOEN"]
    assert [(f["line"], f["loebe_nr"], f["message"]) for f in found] == [(3, 2, "sex is empty")]


def test_only_children_of_the_parish_s_own_count_go_to_the_linkage(tmp_path):
    # 0 is a child born elsewhere, 2a one entered after no. 2: both kept, neither linked
    rows = [kbf_row(1, 1), kbf_row(2, 2), kbf_row(3, "2a"), kbf_row(4, 0), kbf_row(5, 3)]
    write_delivery(tmp_path, rows, entry="K2697")
    kbf = run_pipeline([tmp_path], keep_clean=True).clean["KBF"][0]
    assert kbf["KILDE_LOEBE_NR"].tolist() == ["1", "2", "2a", "0", "3"]
    assert kbf["TIL_LINKAGE"].tolist() == [True, True, False, False, True]


def test_a_child_whose_entry_number_could_not_be_read_is_kept_but_not_linked(tmp_path):
    # '?' is only a warning (the record stays in the table), but no number in the parish's count
    rows = [kbf_row(1, 1), kbf_row(2, "?"), kbf_row(3, 3)]
    write_delivery(tmp_path, rows, entry="K2697")
    result = run_pipeline([tmp_path], keep_clean=True)
    kbf = result.clean["KBF"][0]
    found = [(f["code"], f["severity"], f["line"]) for f in result.findings_json()["findings"] if f["line"] == 3]
    assert ("KILDE_LOEBE_NR_NONSTANDARD", "warning", 3) in found and not kbf["BLOKERENDE_FEJL"].any()
    assert kbf["TIL_LINKAGE"].tolist() == [True, False, True]


def test_an_empty_birth_date_says_so(tmp_path):
    rows = [kbf_row(n, n) for n in (1, 2, 3)]
    rows[2]["FOEDSELSDATO"] = ""
    found = [f for f in _findings(tmp_path, rows, "REQUIRED_MISSING") if f["field"] == "FOEDSELSDATO"]
    assert [(f["line"], f["loebe_nr"], f["message"]) for f in found] == [(4, 3, "birth date is empty")]


def test_a_missing_entry_number_says_which_between_which_and_in_which_section(tmp_path):
    rows = [kbf_row(n, e) for n, e in ((1, 1), (2, 2), (3, 3), (4, 5), (5, 6))]  # entry 4 was never keyed
    found = _findings(tmp_path, rows, "KILDE_LOEBE_NR_GAP")
    assert [(f["line"], f["field"], f["message"]) for f in found] == [
        (5, "KILDE_LOEBE_NR", "entry numbers 4 missing between 3 and 5 (1921, M)")]


def test_a_child_keyed_twice_names_the_first_keying_and_how_alike_they_are(tmp_path):
    rows = [kbf_row(n, n) for n in range(1, 6)]
    rows[4].update({k: rows[1][k] for k in ("FORNAVN", "EFTERNAVN", "FOEDSELSDATO")})  # the second child again
    found = _findings(tmp_path, rows, "DUPLICATE_RECORD")
    assert [(f["line"], f["message"]) for f in found] == [(6, "same child as line 3 (LOEBE_NR 2), similarity 1.00")]


def test_an_overfull_page_says_how_many_entries_and_how_many_the_form_holds(tmp_path):
    rows = [kbf_row(n, n) for n in range(1, 11)] + [kbf_row(n, n, KILDE_SIDE="3") for n in range(11, 19)]
    found = _findings(tmp_path, rows, "PAGE_OVERFULL")
    assert [(f["field"], f["message"]) for f in found] == [("KILDE_SIDE", "page 3 carries 8 entries; the form holds 5")]


def test_a_space_after_the_book_reference_does_not_start_a_new_section(tmp_path):
    rows = [kbf_row(n, n) for n in range(1, 7)]
    rows[5]["KILDEANGIVELSE"] += " "  # keyed with a trailing space: the same book
    assert _findings(tmp_path, rows, "KILDE_LOEBE_NR_GAP") == []


def test_a_dash_or_a_lone_letter_for_an_entry_number_gets_the_sub_entry_it_most_likely_is(tmp_path):
    entries = [1, 2, "-", 3, "3a", "-", 4, "b"]
    rows = [kbf_row(n, e) for n, e in enumerate(entries, start=1)]
    found = _findings(tmp_path, rows, "KILDE_LOEBE_NR_NONSTANDARD")
    assert [(f["line"], f["field"], f["severity"], f["suggestion"]) for f in found] == [
        (4, "KILDE_LOEBE_NR", "warning", "2a"),  # '-' after 2
        (7, "KILDE_LOEBE_NR", "warning", "3b"),  # '-' after 3a: the next letter
        (9, "KILDE_LOEBE_NR", "warning", "4b"),  # a lone 'b' after 4 keeps its letter
    ]
    assert found[0]["message"] == "entry number '-' is not a number"


def test_the_page_capacity_option_decides_when_a_page_is_overfull(tmp_path):
    rows = [kbf_row(n, n, KILDE_SIDE="1") for n in range(1, 6)]  # five entries: full on the default form
    write_delivery(tmp_path, rows, entry="K2697")
    assert not [f for f in run_pipeline([tmp_path]).findings_json()["findings"] if f["code"] == "PAGE_OVERFULL"]
    result = run_pipeline([tmp_path], options={"page_capacity": 3})
    found = [f for f in result.findings_json()["findings"] if f["code"] == "PAGE_OVERFULL"]
    assert [f["message"] for f in found] == ["page 1 carries 5 entries; the form holds 3"]


def test_a_page_number_keyed_with_its_digits_swapped_gets_the_page_between_its_neighbours(tmp_path):
    rows = [kbf_row(n, n, KILDE_SIDE=p) for n, p in enumerate(["12", "12", "31", "13", "13", "14"], start=1)]
    found = _findings(tmp_path, rows, "PAGE_SEQUENCE")
    assert [(f["line"], f["field"], f["suggestion"]) for f in found] == [(4, "KILDE_SIDE", "13")]
    assert found[0]["message"] == "page 31 between pages 12 and 13 while the entries go forward"


def test_a_missing_sub_entry_is_reported_on_the_entry_number(tmp_path):
    rows = [kbf_row(n, e) for n, e in enumerate([1, 2, "2a", "2c", 3], start=1)]
    found = _findings(tmp_path, rows, "KILDE_LOEBE_NR_GAP")
    assert [(f["line"], f["field"], f["message"]) for f in found] == [
        (5, "KILDE_LOEBE_NR", "entry 2b missing before 2c (1921, M)")]


def test_a_birth_date_out_of_order_names_its_neighbours(tmp_path):
    dates = ["19210105", "19210210", "19210105", "19210320", "19210401"]
    rows = [kbf_row(n, n, FOEDSELSDATO=d) for n, d in enumerate(dates, start=1)]
    found = _findings(tmp_path, rows, "DATE_ORDER")
    assert [(f["line"], f["field"], f["message"]) for f in found] == [
        (4, "FOEDSELSDATO", "date 1921-01-05 out of order between 1921-02-10 and 1921-03-20 (1921, M)")]


def test_a_child_keyed_twice_with_a_slip_after_the_first_letter_of_a_name_is_still_found(tmp_path):
    # each keying sits at its own entry number, so only the blocks on names and date can pair them
    for slip in ({"FORNAVN": "Kuroline"}, {"EFTERNAVN": "Jansen"}):
        rows = [kbf_row(n, n) for n in range(1, 6)]
        rows[1].update(FORNAVN="Karoline", EFTERNAVN="Jensen")
        rows[4].update({"FORNAVN": "Karoline", "EFTERNAVN": "Jensen", "FOEDSELSDATO": rows[1]["FOEDSELSDATO"]} | slip)
        found = _findings(tmp_path / next(iter(slip)), rows, "DUPLICATE_RECORD")
        assert [(f["line"], f["message"][:33]) for f in found] == [(6, "same child as line 3 (LOEBE_NR 2)")], slip


def test_a_birth_outside_the_books_years_says_when_and_which_years(tmp_path):
    rows = [kbf_row(n, n) for n in range(1, 5)]
    rows[2].update(FOEDSELSDATO="19300412", KALENDERAAR="1930")
    found = _findings(tmp_path, rows, "DATE_OUT_OF_RANGE")
    assert [(f["line"], f["field"], f["message"]) for f in found] == [
        (4, "FOEDSELSDATO", "born 1930, outside the book's years 1921-1925")]


def test_a_registration_year_keyed_as_its_last_digit_gets_the_birth_year_or_the_next(tmp_path):
    rows = [kbf_row(n, n) for n in range(1, 5)]
    rows[1].update(KALENDERAAR="1")  # born in 1921
    rows[2].update(KALENDERAAR="2", FOEDSELSDATO="19211230")  # registered in the new year
    found = _findings(tmp_path, rows, "KALENDERAAR_INCONSISTENT")
    assert [(f["line"], f["field"], f["suggestion"]) for f in found] == [
        (3, "KALENDERAAR", "1921"), (4, "KALENDERAAR", "1922")]


def test_unnamed_twins_in_a_book_of_births_are_not_one_child_keyed_twice(tmp_path):
    """Stillborn twins, neither named, born the same day to the same mother: a missing name
    blocks nothing, so they are never compared as one child keyed twice."""
    rows = [kbf_row(n, n) for n in range(1, 7)]
    for row in rows[2:4]:
        row.update(FORNAVN="", EFTERNAVN="", FOEDSELSDATO=rows[2]["FOEDSELSDATO"])
    assert _findings(tmp_path, rows, "DUPLICATE_RECORD") == []


def test_two_keyings_without_a_birth_date_are_not_taken_for_the_same_date(tmp_path):
    """A child keyed twice is one whose two keyings agree on the date: two records at the same
    place in the book, alike in every name but neither with a date, are left to the
    entry-number check, not called one child."""
    rows = [kbf_row(n, n) for n in range(1, 6)]
    rows[3].update(KILDE_LOEBE_NR="3", KILDE_SIDE=rows[2]["KILDE_SIDE"],
                   **{k: rows[2][k] for k in ("FORNAVN", "EFTERNAVN")})
    for row in rows[2:4]:
        row["FOEDSELSDATO"] = ""
    assert _findings(tmp_path, rows, "DUPLICATE_RECORD") == []
    rows[2]["FOEDSELSDATO"] = rows[3]["FOEDSELSDATO"] = "19210305"  # with the date they are one child
    assert [f["line"] for f in _findings(tmp_path / "dated", rows, "DUPLICATE_RECORD")] == [5]


def test_a_child_who_died_unnamed_is_marked_j_and_every_other_n_in_the_clean_table(tmp_path):
    rows = [kbf_row(n, n) for n in range(1, 5)]
    rows[2].update(FORNAVN="Dødfødt Dreng")
    write_delivery(tmp_path, rows, entry="K2697")
    table = run_pipeline([tmp_path], keep_clean=True).clean["KBF"][0]
    assert table["DOED_UDEN_NAVN"].tolist() == ["N", "N", "J", "N"]
    assert table["TIL_LINKAGE"].tolist() == [True, True, False, True]


def test_a_wrong_sex_year_or_empty_book_reference_keeps_its_entry_in_the_section_around_it(tmp_path):
    """A book is keyed in order: an entry whose sex is no sex, whose registration year is
    not the book's or whose book reference is empty belongs to the section of its
    neighbours, so it does not open a false gap in the entry numbers there."""
    rows = [kbf_row(n, n) for n in range(1, 9)]
    rows[0]["KOEN"] = "X"  # the first entry: filled from the entry after it
    rows[2]["KOEN"] = "?"
    rows[4]["KALENDERAAR"] = "1876"
    rows[6]["KILDEANGIVELSE"] = ""
    assert _findings(tmp_path, rows, "KILDE_LOEBE_NR_GAP") == []


def test_a_father_s_age_is_read_from_whichever_remark_holds_it_the_entry_s_own_first(tmp_path):
    """KIIP has no column for the father's age: it is in the entry's remark, the
    transcriber's or the source remark; where two give one, the entry's own remark counts."""
    rows = [kbf_row(n, n) for n in range(1, 5)]
    rows[0]["KILDEBEMAERKNINGER"] = "Faders alder 41"
    rows[1]["INDTASTERS_BEMAERKNINGER"] = "Faderen 38 aar"
    rows[2].update(ANMAERKNINGER="Faders alder 30", KILDEBEMAERKNINGER="Faderen 31 Aar")
    write_delivery(tmp_path, rows, entry="K2697")
    clean = run_pipeline([tmp_path], keep_clean=True).clean["KBF"][0].set_index("LOEBE_NR")
    assert clean["FADERS_ALDER_REN"].tolist()[:3] == [41, 38, 30]
    assert pd.isna(clean.at[4, "FADERS_ALDER_REN"])


def test_the_parents_ages_against_their_birth_dates_and_the_limits_at_their_edges(tmp_path):
    """A child born 10 May 1921. A stated age may be one year off what the parent's birth
    date gives (two readings where only the year is known); the limits are 14-50 for a
    mother and 15-80 for a father, from the stated age, else from the birth date. The
    father's age stands in a remark, so its findings are on that field."""
    cases = [  # (mother's birth date, mother's stated age, father's birth date, remark)
        ("19000510", "21", "", ""),  # 21 on the day
        ("19000511", "22", "", ""),  # 20 on the day: two off
        ("19000511", "21", "", ""),  # one off: tolerated
        ("1900????", "19", "", ""),  # the year only: 20 or 21, so 19 is one off
        ("1900????", "18", "", ""),
        ("", "13", "", ""), ("", "14", "", ""), ("", "50", "", ""), ("", "51", "", ""),
        ("19070511", "", "", ""),  # 13 by the date
        ("19070510", "", "", ""),  # 14 by the date, to the day
        ("", "", "", "Faders alder 81"), ("", "", "", "Faders alder 80"), ("", "", "", "Faders alder 15"),
        ("", "", "", "Faders alder 14"),
        ("", "", "19060511", ""),  # 14 by the date
        ("", "", "18800510", "Faders alder 30"),  # 41 by the date
    ]
    rows = [kbf_row(n, n, FOEDSELSDATO="19210510", MODERS_FOEDSELSDAG=m, MODERS_ALDER=a, FADERS_FOEDSELSDAG=f,
                    ANMAERKNINGER=r) for n, (m, a, f, r) in enumerate(cases, start=1)]
    write_delivery(tmp_path, rows, entry="K2697", meta={"FRA_AAR": "1921", "TIL_AAR": "1921"})
    found = [(f["loebe_nr"], f["code"], f["field"], f["message"]) for f in run_pipeline([tmp_path]).findings_json()["findings"]
             if f["code"] in ("AGE_DATE_MISMATCH", "AGE_IMPLAUSIBLE")]
    assert found == [
        (2, "AGE_DATE_MISMATCH", "MODERS_ALDER", "mother's age stated 22, birth date gives 20"),
        (5, "AGE_DATE_MISMATCH", "MODERS_ALDER", "mother's age stated 18, birth date gives 20-21"),
        (6, "AGE_IMPLAUSIBLE", "MODERS_ALDER", "mother's age 13 at the birth (expected 14-50)"),
        (9, "AGE_IMPLAUSIBLE", "MODERS_ALDER", "mother's age 51 at the birth (expected 14-50)"),
        (10, "AGE_IMPLAUSIBLE", "MODERS_FOEDSELSDAG", "mother's birth date gives age 13 at the birth (expected 14-50)"),
        (12, "AGE_IMPLAUSIBLE", "ANMAERKNINGER", "father's age 81 at the birth (expected 15-80)"),
        (15, "AGE_IMPLAUSIBLE", "ANMAERKNINGER", "father's age 14 at the birth (expected 15-80)"),
        (16, "AGE_IMPLAUSIBLE", "FADERS_FOEDSELSDAG", "father's birth date gives age 14 at the birth (expected 15-80)"),
        (17, "AGE_DATE_MISMATCH", "ANMAERKNINGER", "father's age stated 30, birth date gives 41"),
    ]


def test_the_registration_year_the_book_s_years_and_the_baptism_against_the_birth_at_their_edges(tmp_path):
    """A book of 1921-1922: a child is registered in its birth year or the next; one born in
    December 1920 may stand in it, one born 1919 or 1923 may not; a baptism on the birth day
    is fine, one the day before is not. A one-digit year is read with the birth year's decade
    when that gives the birth year or the next."""
    cases = [  # (registration year, birth date, church baptism)
        ("1921", "19210510", "19210510"), ("1922", "19211230", "19211229"), ("1923", "19211230", ""),
        ("1920", "19210510", ""), ("1", "19210510", ""), ("2", "19211230", ""), ("5", "19210510", ""),
        ("1922", "19190510", ""), ("1922", "19220101", ""), ("1923", "19230101", ""), ("1921", "19201230", ""),
        ("21", "19210510", ""),
    ]
    rows = [kbf_row(n, n, KALENDERAAR=k, FOEDSELSDATO=b, KIRKEDAABSDATO=c) for n, (k, b, c) in enumerate(cases, start=1)]
    write_delivery(tmp_path, rows, entry="K2697", meta={"FRA_AAR": "1921", "TIL_AAR": "1922"})
    found = [(f["loebe_nr"], f["code"], f["field"], f["message"], f["suggestion"])
             for f in run_pipeline([tmp_path]).findings_json()["findings"]
             if f["code"] in ("KALENDERAAR_INCONSISTENT", "DATE_OUT_OF_RANGE")]
    assert found == [
        (2, "DATE_OUT_OF_RANGE", "KIRKEDAABSDATO", "KIRKEDAABSDATO is before the birth date", None),
        (3, "KALENDERAAR_INCONSISTENT", "KALENDERAAR", "registration year 1923 but born 1921", None),
        (4, "KALENDERAAR_INCONSISTENT", "KALENDERAAR", "registration year 1920 but born 1921", None),
        (5, "KALENDERAAR_INCONSISTENT", "KALENDERAAR", "registration year '1' is not a year", "1921"),
        (6, "KALENDERAAR_INCONSISTENT", "KALENDERAAR", "registration year '2' is not a year", "1922"),
        (7, "KALENDERAAR_INCONSISTENT", "KALENDERAAR", "registration year '5' is not a year", None),
        (8, "DATE_OUT_OF_RANGE", "FOEDSELSDATO", "born 1919, outside the book's years 1921-1922", None),
        (8, "KALENDERAAR_INCONSISTENT", "KALENDERAAR", "registration year 1922 but born 1919", None),
        (10, "DATE_OUT_OF_RANGE", "FOEDSELSDATO", "born 1923, outside the book's years 1921-1922", None),
        (12, "KALENDERAAR_INCONSISTENT", "KALENDERAAR", "registration year '21' is not a year", "1921"),
    ]


def test_pages_out_of_order_name_their_neighbours_also_at_a_book_s_ends_and_capacity_per_delivery(tmp_path):
    """The page that stands out from both neighbours is blamed; the first and the last page
    of a book have one neighbour to name. A new book starts its pages again. The form's
    capacity may be given per delivery."""
    pages = {"K2697": ["1", "1", "5", "1", "2"], "K2698": ["3", "4", "2", "5", "5"], "K2699": ["7", "8", "9", "3"],
             "K2700": ["1", "2", "1", "1"], "K2701": ["9", "1", "2"], "K2702": ["3", "4", "2", "4"],
             "K2703": ["3", "4", "2", "6"]}
    for entry, keyed in pages.items():
        rows = [kbf_row(n, n, KILDE_SIDE=p, INDTASTNINGSNUMMER=entry) for n, p in enumerate(keyed, start=1)]
        if entry == "K2700":  # its last two entries are in the next book
            rows[2]["KILDEANGIVELSE"] = rows[3]["KILDEANGIVELSE"] = "Vejby KB 1926-1930"
        write_delivery(tmp_path / entry, rows, entry=entry)
    result = run_pipeline([tmp_path / e for e in pages], options={"page_capacity_by_entry": {"K2700": 1}})
    found = [(f["entry_number"], f["line"], f["code"], f["message"], f["suggestion"])
             for f in result.findings_json()["findings"] if f["code"].startswith("PAGE")]
    assert found == [
        ("K2697", 4, "PAGE_SEQUENCE", "page 5 between pages 1 and 1 while the entries go forward", "1"),
        ("K2698", 4, "PAGE_SEQUENCE", "page 2 between pages 4 and 5 while the entries go forward", "4"),
        ("K2699", 5, "PAGE_SEQUENCE", "page 3 after page 9 while the entries go forward", None),
        ("K2700", None, "PAGE_OVERFULL", "page 1 carries 2 entries; the form holds 1", None),
        ("K2701", 2, "PAGE_SEQUENCE", "page 9 before page 1 while the entries go forward", None),
        ("K2702", 4, "PAGE_SEQUENCE", "page 2 between pages 4 and 4 while the entries go forward", "4"),
        ("K2703", 4, "PAGE_SEQUENCE", "page 2 between pages 4 and 6 while the entries go forward", None),
    ]


def test_entry_numbers_per_section_their_gaps_repeats_and_sub_entries_and_the_gaps_table(tmp_path):
    """Boys and girls of 1921 and boys of 1922 are numbered apart. Each finding names the
    section; the gaps table (for the report) has one row per gap with its bounds."""
    spec = [(3, "M", "1921"), (4, "M", "1921"), (4, "M", "1921"), (7, "M", "1921"),
            (1, "K", "1921"), (2, "K", "1921"), ("2a", "K", "1921"), ("2c", "K", "1921"), ("3c", "K", "1921"),
            (4, "K", "1921"), (1, "M", "1922"), (3, "M", "1922"), ("3a", "M", "1922"), ("3a", "M", "1922"),
            (0, "M", "1922"), (0, "M", "1922")]  # entry 0: children from elsewhere, outside the count
    rows = [kbf_row(n, e, KOEN=s, KALENDERAAR=y, FOEDSELSDATO=f"{y}0{1 + n % 9}01")
            for n, (e, s, y) in enumerate(spec, start=1)]
    write_delivery(tmp_path, rows, entry="K2697", meta={"FRA_AAR": "1921", "TIL_AAR": "1922"})
    result = run_pipeline([tmp_path])
    found = [(f["line"], f["code"], f["message"]) for f in result.findings_json()["findings"]
             if f["code"].startswith("KILDE_LOEBE_NR")]
    assert found == [
        (2, "KILDE_LOEBE_NR_GAP", "entry numbers 1-2 missing before 3 (the section should start at 1) (1921, M)"),
        (4, "KILDE_LOEBE_NR_REPEAT", "entry number 4 already used in section (1921, M)"),
        (5, "KILDE_LOEBE_NR_GAP", "entry numbers 5-6 missing between 4 and 7 (1921, M)"),
        (9, "KILDE_LOEBE_NR_GAP", "entry 2b missing before 2c (1921, K)"),
        (10, "KILDE_LOEBE_NR_GAP", "entry 3a-3b missing before 3c (1921, K)"),
        (11, "KILDE_LOEBE_NR_GAP", "entry numbers 3 missing between 2 and 4 (1921, K)"),
        (13, "KILDE_LOEBE_NR_GAP", "entry numbers 2 missing between 1 and 3 (1922, M)"),
        (15, "KILDE_LOEBE_NR_REPEAT", "entry number 3a already used in section (1922, M)"),  # a sub-entry twice
    ]
    gaps = pd.concat(result.gaps).sort_values("line")
    book = "Vejby KB 1921-1925"
    assert gaps.to_dict("records") == [
        {"entry_number": "K2697", "book": book, "year": 1921, "sex": "M", "missing": "1-2", "count": 2, "after": None,
         "before": 3, "line": 2, "page": "1"},
        {"entry_number": "K2697", "book": book, "year": 1921, "sex": "M", "missing": "5-6", "count": 2, "after": 4,
         "before": 7, "line": 5, "page": "2"},
        {"entry_number": "K2697", "book": book, "year": 1921, "sex": "K", "missing": "3", "count": 1, "after": 2,
         "before": 4, "line": 11, "page": "1"},
        {"entry_number": "K2697", "book": book, "year": 1922, "sex": "M", "missing": "2", "count": 1, "after": 1,
         "before": 3, "line": 13, "page": "1"}]


def test_a_date_out_of_order_at_a_section_s_ends_and_what_does_not_count(tmp_path):
    """The first or last entry of a section has one neighbour ('?' for the other); a date
    between two equal dates is blamed, not they; the same day twice is in order; entry 0 and
    a sub-entry may be registered late and count for nothing."""
    books = {"K2697": [(1, "19210301"), (2, "19210110"), (3, "19210120"), (4, "19210130")],
             "K2698": [(1, "19210110"), (2, "19210120"), (3, "19210105")],
             "K2699": [(1, "19210110"), (2, "19210120"), (3, "19210115"), (4, "19210120")],
             "K2700": [(1, "19210110"), (0, "19201230"), ("2a", "19210101"), (2, "19210120")],
             "K2701": [(1, "19210110"), (2, "19210110"), (3, "19210111")]}
    for entry, spec in books.items():
        rows = [kbf_row(n, k, FOEDSELSDATO=d, INDTASTNINGSNUMMER=entry) for n, (k, d) in enumerate(spec, start=1)]
        write_delivery(tmp_path / entry, rows, entry=entry)
    result = run_pipeline([tmp_path / e for e in books])
    assert [(f["entry_number"], f["line"], f["message"]) for f in result.findings_json()["findings"]
            if f["code"] == "DATE_ORDER"] == [
        ("K2697", 2, "date 1921-03-01 out of order between ? and 1921-01-10 (1921, M)"),
        ("K2698", 4, "date 1921-01-05 out of order between 1921-01-20 and ? (1921, M)"),
        ("K2699", 4, "date 1921-01-15 out of order between 1921-01-20 and 1921-01-20 (1921, M)")]


def test_a_child_keyed_twice_against_twins_another_day_and_other_parents(tmp_path):
    """Born the same day to the same parents with names a slip apart (Jenssen, Karin): the
    same child keyed twice. Another day, other parents or a twin sister's name: another
    child. Without parents on either record, the names and the day decide."""
    parents = dict(MODERS_FORNAVN="Ane", MODERS_EFTERNAVN="Jensen", FADERS_FORNAVN="Niels", FADERS_EFTERNAVN="Jensen")
    others = dict(MODERS_FORNAVN="Dorthea", MODERS_EFTERNAVN="Bech", FADERS_FORNAVN="Poul", FADERS_EFTERNAVN="Krog")
    nobody = dict(MODERS_FORNAVN="", MODERS_EFTERNAVN="")
    spec = [("Karen", "Jensen", "19210301", parents), ("Karen", "Jenssen", "19210301", parents),
            ("Karen", "Jensen", "19210302", parents), ("Karen", "Jensen", "19210301", others),
            ("Karin", "Jensen", "19210301", parents), ("Maren", "Jensen", "19210301", parents),
            ("Peter", "Holm", "19210401", nobody), ("Peter", "Holm", "19210401", nobody)]
    rows = [kbf_row(n, n, KOEN="K", FORNAVN=first, EFTERNAVN=last, FOEDSELSDATO=born, **people)
            for n, (first, last, born, people) in enumerate(spec, start=1)]
    write_delivery(tmp_path, rows, entry="K2697")
    result = run_pipeline([tmp_path])
    assert [(f["line"], f["message"]) for f in result.findings_json()["findings"] if f["code"] == "DUPLICATE_RECORD"] == [
        (3, "same child as line 2 (LOEBE_NR 1), similarity 0.99"),
        (6, "same child as line 2 (LOEBE_NR 1), similarity 0.95"),
        (9, "same child as line 8 (LOEBE_NR 7), similarity 1.00")]
    table = pd.concat(result.duplicates).sort_values("line_b")
    assert table[["line_a", "line_b"]].to_numpy().tolist() == [[2, 3], [2, 6], [8, 9]]
    assert table["similarity"].tolist() == pytest.approx([0.993, 0.953, 1.0], abs=1e-6)
    assert table[["FORNAVN_a", "FORNAVN_b"]].to_numpy().tolist() == [["Karen", "Karen"], ["Karen", "Karin"],
                                                                     ["Peter", "Peter"]]
