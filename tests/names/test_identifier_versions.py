"""Versions of the identifiers, each its own column beside the keyed and cleaned values:
what the linkage's later stages compare when the first stages found nothing."""

from __future__ import annotations

import pandas as pd
from conftest import kbf_row, write_delivery

from ingest.pipeline import run_pipeline
from validators.match_keys import patronymic_stem


def test_patronymic_stems_are_the_fathers_name():
    assert [patronymic_stem(k) for k in ("JENSEN", "JENSDATTER", "HANSSØN", "PEDERSEN", "PEDERSSEN", "HOLM")] == [
        "JENS", "JENS", "HANS", "PEDERS", "PEDERS", "HOLM"]


def test_versions_of_names_and_birth_dates(tmp_path):
    rows = [kbf_row(i, i) for i in range(1, 5)]
    rows[0].update(FORNAVN="Hans Peter", MELLEMNAVNE="Holm", EFTERNAVN="Jensen", FOEDSELSDATO="19210503",
                   KALENDERAAR="1921")
    rows[1].update(FORNAVN="Karen", MELLEMNAVNE="", EFTERNAVN="Nielsdatter", FOEDSELSDATO="19221215",
                   KALENDERAAR="1922")  # a December birth keyed with the section's year
    rows[2].update(FORNAVN="Ane", EFTERNAVN="Holm", FOEDSELSDATO="19211020", KALENDERAAR="1922")
    rows[3].update(FORNAVN="Karl", MELLEMNAVNE="UOP", EFTERNAVN="Holm [Jensen]")
    write_delivery(tmp_path, rows, entry="K2697", meta={"FRA_AAR": "1921", "TIL_AAR": "1922"})
    result = run_pipeline([tmp_path], keep_clean=True)
    t = pd.concat(result.clean["KBF"], ignore_index=True).set_index("LOEBE_NR")
    assert t.loc[1, ["FORNAVN_FOERSTE_NOEGLE", "NAVN_UDEN_MELLEMNAVNE_NOEGLE", "EFTERNAVN_STAMME"]].tolist() == [
        "HANS", "HANSPETERJENSEN", "JENS"]
    assert t.at[1, "NAVN_NOEGLE"] == "HANSPETERHOLMJENSEN"  # the full key stays as it was
    assert (t.at[1, "FORNAVNE_NOEGLE"], t.at[1, "EFTERNAVN_NOEGLE"]) == ("HANS PETER HOLM", "JENSEN")
    assert (t.at[4, "FORNAVNE_NOEGLE"], t.at[4, "EFTERNAVN_NOEGLE"]) == ("KARL", "HOLM")  # no UOP, no struck part
    # the parents' names in the same versions
    assert t.loc[1, ["MODERS_FORNAVN_FOERSTE_NOEGLE", "MODERS_FORNAVNE_NOEGLE", "MODERS_EFTERNAVN_NOEGLE"]].tolist() == [
        "ANE", "ANE", "JENSEN"]
    assert "FADERS_FORNAVNE_NOEGLE" in t
    assert t.at[2, "EFTERNAVN_STAMME"] == "NIELS"
    # Alternatives of the birth date, never in place of it.
    assert t.at[1, "FOEDSELSDATO_BYTTET"] == "1921-03-05" and t.at[1, "FOEDSELSDATO_NOEGLE"] == "1921-05-03"
    assert pd.isna(t.at[2, "FOEDSELSDATO_BYTTET"])  # 15 is no month
    assert t.at[2, "FOEDSELSDATO_AFSNITSAAR"] == "1921-12-15"
    assert t.at[3, "FOEDSELSDATO_AFSNITSAAR"] == "1922-10-20"
    assert pd.isna(t.at[1, "FOEDSELSDATO_AFSNITSAAR"])  # May, the section's own year: no other reading


def test_short_given_names_get_an_expansion_beside_them(tmp_path):
    rows = [kbf_row(i, i) for i in range(1, 7)]
    rows[0].update(FORNAVN="Chr. Peter", KOEN="M")
    rows[1].update(FORNAVN="Christian", KOEN="M")
    rows[2].update(FORNAVN="Christian Emil", KOEN="M")
    rows[3].update(FORNAVN="H.C.", KOEN="M")
    rows[4].update(FORNAVN="Hans", KOEN="M")
    write_delivery(tmp_path, rows, entry="K2697")
    result = run_pipeline([tmp_path], keep_clean=True)
    t = pd.concat(result.clean["KBF"], ignore_index=True).set_index("LOEBE_NR")
    assert t.loc[[1, 2, 4], "FORNAVN_FORKORTET"].tolist() == ["J", "N", "J"]
    # The expansion most frequent in the same book, beside the keyed value, never in its place.
    assert (t.at[1, "FORNAVN_UDVIDET"], t.at[1, "FORNAVN"]) == ("Christian Peter", "Chr. Peter")
    assert t.at[4, "FORNAVN_UDVIDET"] == "Hans Christian"
    assert pd.isna(t.at[2, "FORNAVN_UDVIDET"])


def _two_books(tmp_path, own_names: list[str], other_names: list[str]) -> pd.DataFrame:
    """Boys' given names in two books of one run (K2697 and K2698): their clean table."""
    for folder, entry, names in (("a", "K2697", own_names), ("b", "K2698", other_names)):
        write_delivery(tmp_path / folder, [kbf_row(i, i, FORNAVN=name, KOEN="M") for i, name in enumerate(names, start=1)],
                       entry=entry)
    result = run_pipeline([tmp_path / "a", tmp_path / "b"], keep_clean=True)
    return pd.concat(result.clean["KBF"], ignore_index=True).set_index(["INDTASTNINGSNUMMER", "LOEBE_NR"])


def test_a_short_name_is_written_out_as_its_own_book_writes_it(tmp_path):
    """Two books of one run: 'Chr.' is Christen where the priest wrote Christen, though
    Christian is the more frequent name over both books."""
    t = _two_books(tmp_path, ["Christen", "Christen", "Chr. Emil", "Hans"], ["Christian"] * 5)
    assert t.at[("K2697", 3), "FORNAVN_UDVIDET"] == "Christen Emil"
    assert t.at[("K2697", 3), "FORNAVN"] == "Chr. Emil"


def test_a_short_name_is_written_out_as_a_name_of_the_childs_sex(tmp_path):
    """'Chr.' for a girl is Christine, though the book holds Christian more often."""
    names = [("Christian", "M"), ("Christian", "M"), ("Christian", "M"), ("Christine", "K"), ("Chr. Marie", "K")]
    rows = [kbf_row(i, i, FORNAVN=name, KOEN=sex) for i, (name, sex) in enumerate(names, start=1)]
    write_delivery(tmp_path, rows, entry="K2697")
    result = run_pipeline([tmp_path], keep_clean=True)
    t = pd.concat(result.clean["KBF"], ignore_index=True).set_index("LOEBE_NR")
    assert (t.at[5, "FORNAVN_UDVIDET"], t.at[5, "FORNAVN"]) == ("Christine Marie", "Chr. Marie")


def test_a_short_name_its_own_book_never_writes_out_is_written_as_the_other_books_write_it(tmp_path):
    """No name of K2697 starts with CHR: the run's other book decides, not the database's
    first match (the database holds Christen and Christoffer too, found in no book)."""
    t = _two_books(tmp_path, ["Hans", "Chr. Emil", "Peter"], ["Christian"] * 3)
    assert t.at[("K2697", 2), "FORNAVN_UDVIDET"] == "Christian Emil"


def test_the_versions_leave_out_what_the_priest_struck_out(tmp_path):
    """'Karl [Peter]': Peter was struck out, so it is none of the child's names; the full
    key keeps it, as keyed, and the versions for the linkage's later stages leave it out."""
    rows = [kbf_row(i, i) for i in range(1, 4)]
    rows[0].update(FORNAVN="Karl [Peter]", MELLEMNAVNE="Emil [Hans]", EFTERNAVN="Holm [Jensen]")
    write_delivery(tmp_path, rows, entry="K2697")
    t = pd.concat(run_pipeline([tmp_path], keep_clean=True).clean["KBF"], ignore_index=True).set_index("LOEBE_NR")
    versions = ["FORNAVN_FOERSTE_NOEGLE", "FORNAVNE_NOEGLE", "NAVN_UDEN_MELLEMNAVNE_NOEGLE", "EFTERNAVN_STAMME",
                "EFTERNAVN_NOEGLE"]
    assert t.loc[1, versions].tolist() == ["KARL", "KARL EMIL", "KARLHOLM", "HOLM", "HOLM"]
    assert t.at[1, "NAVN_NOEGLE"] == "KARLPETEREMILHANSHOLMJENSEN"


def test_a_short_name_is_written_out_as_the_most_frequent_name_over_the_run(tmp_path):
    """Over the other book, Christian stands in three records (each written differently) and
    Christen in two: 'Chr.' is Christian, counted over every record, not per spelling."""
    t = _two_books(tmp_path, ["Hans", "Chr. Emil"],
                   ["Christen", "Christian", "Christian Emil", "Christen", "Christian Peter"])
    assert t.at[("K2697", 2), "FORNAVN_UDVIDET"] == "Christian Emil"
