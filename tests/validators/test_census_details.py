"""Details of the census checks a reviewer or a linker relies on, which mutation testing
(``benchmarks/bench_mutation.py``) showed no other test held."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import ft_row, write_delivery

from ingest.pipeline import run_pipeline
from validators import ft_rules
from validators.sources import FT


def _run(tmp_path, rows):
    write_delivery(tmp_path, rows, entry="K3801", source=FT)
    return run_pipeline([tmp_path], keep_clean=True)


def test_a_person_born_after_the_census_is_reported_and_one_without_a_birth_date_is_not(tmp_path):
    rows = [ft_row(1, "Husfader", FOEDSELSDAG="18900101"), ft_row(2, "Husmoder", KOEN="K", FOEDSELSDAG=""),
            ft_row(3, "Barn", FOEDSELSDAG="19310506")]
    result = _run(tmp_path, rows)
    found = [f for f in result.findings_json()["findings"] if f["code"] == "DATE_OUT_OF_RANGE"]
    assert [(f["loebe_nr"], f["field"], f["message"]) for f in found] == [
        (3, "FOEDSELSDAG", "born 19310506, after the census of 1930")]


def test_the_whole_name_holds_the_middle_names(tmp_path):
    rows = [ft_row(1, "Husfader", FORNAVN="Hans", MELLEMNAVNE="Peter Holm", EFTERNAVN="Jensen"),
            ft_row(2, "Husmoder", KOEN="K", FORNAVN="Ane", EFTERNAVN="Jensen")]
    ft = pd.concat(_run(tmp_path, rows).clean["FT"], ignore_index=True).set_index("LOEBE_NR")
    assert ft.loc[[1, 2], "NAVN_SAMLET"].tolist() == ["Hans Peter Holm Jensen", "Ane Jensen"]


def test_young_people_without_a_surname_are_not_taken_for_the_couples_children_by_it(tmp_path):
    """Rule 3 places an unplaced young person with the married couple's surname as their
    child; no surname on either side is no shared surname."""
    rows = [ft_row(1, "", KOEN="M", AEGTESKABELIG_STILLING="Gift", FOEDSELSDAG="18900101", FORNAVN="", EFTERNAVN=""),
            ft_row(2, "", KOEN="K", AEGTESKABELIG_STILLING="Gift", FOEDSELSDAG="18920101", FORNAVN="", EFTERNAVN=""),
            ft_row(3, "", KOEN="M", FOEDSELSDAG="19200101", FORNAVN="", EFTERNAVN="")]
    ft = pd.concat(_run(tmp_path, rows).clean["FT"], ignore_index=True).set_index("LOEBE_NR")
    assert ft["FAMILIEROLLE"].tolist()[:2] == ["Far", "Mor"]
    assert pd.isna(ft.at[3, "FAMILIEROLLE"]) and pd.isna(ft.at[3, "ROLLE_REGEL"])


@pytest.mark.parametrize("full_name, surname", [
    ("Maren Peders Datter", "Pedersdatter"), ("Ane Marie Peders Datter", "Pedersdatter"),
    ("Niels Ols Søn", "Olssøn"), ("Karen Marie Pedersen F. Jensen", "Pedersen"), ("Karen Jensen født Holm", "Jensen"),
    ("Jens Hansen", "Hansen"), ("Hansen", "Hansen"), ("", "")])
def test_the_surname_of_a_name_keyed_in_one_field(full_name, surname):
    # a patronymic written as two words is one surname; a maiden name after 'f.' or 'født' is not the surname
    assert ft_rules.surname_of(full_name) == surname


def test_a_census_keyed_in_kiip_is_as_written_not_standardised(tmp_path):
    # STANDARDISERET is true only for rows a source standardised (Link-Lives); KIIP's are as keyed
    table = _run(tmp_path, [ft_row(1, "Husfader"), ft_row(2, "Husmoder", KOEN="K")]).clean["FT"][0]
    assert table["STANDARDISERET"].tolist() == [False, False] and table["STANDARDISERET"].dtype == bool


def test_each_row_gets_the_census_day_of_its_own_year_else_the_delivery_s(tmp_path):
    """A delivery of 1925 holding rows keyed as of 1921 and 1930: each row's census day
    is its own year's (1 February 1921, 5 November 1930), a row without a year takes the
    delivery's, a year without a census has no day. The age is the stated one, else what
    the birth date or year gives; '3 Mdr' is 0 whole years and 0.25 in years."""
    rows = [ft_row(1, "Husfader", TAELLINGSAAR="1921"), ft_row(2, "Husfader", TAELLINGSAAR="", SKEMA_NR="2"),
            ft_row(3, "Husfader", TAELLINGSAAR="1922", SKEMA_NR="3"),
            ft_row(4, "Husfader", TAELLINGSAAR="1930", SKEMA_NR="4", ALDER="3 Mdr", FOEDSELSDAG="19300801"),
            ft_row(5, "Husfader", TAELLINGSAAR="1930", SKEMA_NR="5", FOEDSELSDAG="19000101")]
    write_delivery(tmp_path, rows, entry="K3801", source=FT, meta={"FRA_AAR": "1925", "TIL_AAR": "1925"})
    table = run_pipeline([tmp_path], keep_clean=True).clean["FT"][0]
    assert [None if pd.isna(d) else d for d in table["TAELLINGSDATO"]] == [
        "1921-02-01", "1925-11-05", None, "1930-11-05", "1930-11-05"]
    assert table["ALDER_BEREGNET"].tolist() == [21, 25, 22, 0, 30]
    assert [None if pd.isna(a) else a for a in table["ALDER_I_AAR"]] == [None, None, None, 0.25, None]


def test_a_census_person_keyed_twice_in_one_household_by_birth_date_or_age_and_not_without(tmp_path):
    """The same name and sex with the same birth date, or without a date but with the same
    age, in one household: keyed twice. Without a date or an age there is nothing to tell
    two namesakes apart; the same person in another household is another household's."""
    rows = [ft_row(1, "Husfader", FORNAVN="Jens", EFTERNAVN="Holm", FOEDSELSDAG="18900101"),
            ft_row(2, "Søn", FORNAVN="Peter", EFTERNAVN="Holm", FOEDSELSDAG="19200101"),
            ft_row(3, "Søn", FORNAVN="Peter", EFTERNAVN="Holm", FOEDSELSDAG="19200101"),
            ft_row(4, "Tjenestekarl", FORNAVN="Ole", EFTERNAVN="Bech", FOEDSELSDAG="", ALDER="30"),
            ft_row(5, "Tjenestekarl", FORNAVN="Ole", EFTERNAVN="Bech", FOEDSELSDAG="", ALDER="30"),
            ft_row(6, "Tjenestekarl", FORNAVN="Niels", EFTERNAVN="Bech", FOEDSELSDAG=""),
            ft_row(7, "Tjenestekarl", FORNAVN="Niels", EFTERNAVN="Bech", FOEDSELSDAG=""),
            ft_row(8, "Husfader", FORNAVN="Peter", EFTERNAVN="Holm", FOEDSELSDAG="19200101", SKEMA_NR="2",
                   FAMILIE_LOEBE_NR="2")]
    write_delivery(tmp_path, rows, entry="K3801", source=FT, meta={"FRA_AAR": "1930", "TIL_AAR": "1930"})
    result = run_pipeline([tmp_path], keep_clean=True)
    assert [(f["line"], f["message"]) for f in result.findings_json()["findings"] if f["code"] == "DUPLICATE_RECORD"] == [
        (4, "same person as line 3 (LOEBE_NR 2), similarity 1.00"),
        (6, "same person as line 5 (LOEBE_NR 4), similarity 1.00")]
    table = pd.concat(result.duplicates)
    assert table[["entry_number", "line_a", "line_b", "similarity"]].to_numpy().tolist() == [
        ["K3801", 3, 4, 1.0], ["K3801", 5, 6, 1.0]]


def test_the_whole_name_and_the_surname_of_census_persons_from_their_parts_or_the_whole(tmp_path):
    """The whole name is the name keyed whole, else the parts with single spaces; the
    surname is its own field (the struck-out part left out), else the whole name's."""
    rows = [ft_row(1, "Husfader", FORNAVN="Jens  Peter", MELLEMNAVNE="Holm", EFTERNAVN="Hansen [Jensen]"),
            ft_row(2, "Husmoder", FORNAVN="", EFTERNAVN="", FULDT_NAVN="Ane Marie Peders Datter", KOEN="K"),
            ft_row(3, "Søn", FORNAVN="Niels", EFTERNAVN="", MELLEMNAVNE=""),
            ft_row(4, "Datter", FORNAVN="", EFTERNAVN="", FULDT_NAVN="", KOEN="K"),
            ft_row(5, "Tjenestepige", FORNAVN="Karen", EFTERNAVN="Bech", FULDT_NAVN="Karen Holm", KOEN="K")]
    table = _run(tmp_path, rows).clean["FT"][0]
    assert [None if pd.isna(v) else v for v in table["NAVN_SAMLET"]] == [
        "Jens Peter Holm Hansen Jensen", "Ane Marie Peders Datter", "Niels", None, "Karen Holm"]
    assert [None if pd.isna(v) else v for v in table["EFTERNAVN_UDLEDT"]] == ["Hansen", "Pedersdatter", None, None,
                                                                              "Bech"]
