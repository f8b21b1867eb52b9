"""Births and deaths checked against each other, measured on a synthetic population whose
truth was written when its cases were planted (fixtures/generator_population.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pandas as pd
import pytest
from conftest import SUMMARY_LINES
from rapidfuzz.distance import JaroWinkler

from fixtures.generator_population import write
from ingest.pipeline import run_crosscheck, run_pipeline
from validators import crosscheck as cc
from validators.catalogue import CATALOGUE
from validators.crosscheck import crosscheck, rules

MIN_RECALL = MIN_PRECISION = 0.95


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    folder = tmp_path_factory.mktemp("population")
    key = write(folder)
    result = run_pipeline([folder], keep_clean=True)
    run_crosscheck(result)
    return folder, key, result


def _rates(found: set, wanted: set) -> tuple[float, float]:
    hit = len(found & wanted)
    return hit / len(wanted), (hit / len(found) if found else 1.0)


def _measured(code: str, found: set, wanted: set, what: str) -> None:
    """Print recall and precision of one check (they end the test run's figures) and hold
    them to the targets."""
    recall, precision = _rates(found, wanted)
    line = f"crosscheck {code}: recall {recall:.1%}, precision {precision:.1%} on {len(wanted)} {what}"
    print("\n" + line)
    SUMMARY_LINES.append(line)
    assert recall >= MIN_RECALL and precision >= MIN_PRECISION, sorted(wanted - found)[:5]


def test_children_who_died_before_cpr_are_marked(population):
    _, key, result = population
    kbf = result.clean["KBF"][0]
    marked = kbf[kbf["DOED_FOER_CPR"].notna()]
    found = {(r.INDTASTNINGSNUMMER, int(r.LOEBE_NR), r.DOED_FOER_CPR_KILDE, r.DOED_FOER_CPR) for r in marked.itertuples()}
    wanted = {(e["kbf"]["entry_number"], e["kbf"]["loebe_nr"], f"{e['kbd']['entry_number']}:{e['kbd']['loebe_nr']}",
               f"{e['kbd']['died'][:4]}-{e['kbd']['died'][4:6]}-{e['kbd']['died'][6:]}") for e in key["died_before_cpr"]}
    recall, precision = _rates(found, wanted)
    cases = pd.Series([e["case"] for e in key["died_before_cpr"]]).value_counts().to_dict()
    line = (f"crosscheck DOED_FOER_CPR: recall {recall:.1%}, precision {precision:.1%} on {len(wanted)} planted "
            f"children ({cases})")
    print("\n" + line)
    SUMMARY_LINES.append(line)
    assert recall >= MIN_RECALL and precision >= MIN_PRECISION, sorted(wanted - found)[:5]
    assert {"twin", "cousin", "other_spelling"} <= set(cases)  # the look-alikes were planted


def test_births_never_keyed_are_found_on_their_book(population):
    _, key, result = population
    findings = [f for f in result.findings_json()["findings"] if f["code"] == "BIRTH_NOT_KEYED_KBD"]
    found = {(f["entry_number"], f["other"]["entry_number"], f["other"]["loebe_nr"]) for f in findings}
    wanted = {(e["kbf_book"], e["kbd"]["entry_number"], e["kbd"]["loebe_nr"]) for e in key["birth_not_keyed"]}
    _measured("BIRTH_NOT_KEYED_KBD", found, wanted, "planted")
    for f in findings:  # the fixed fields of a cross-source finding
        assert f["loebe_nr"] is None and f["other"]["source"] == "KBD" and f["rule_version"] == rules().version
        assert set(f["other"]) == {"source", "entry_number", "loebe_nr", "file", "line"}
    # Children born before the book's years or in a parish without a book raise nothing.
    quiet = {(e["entry_number"], e["loebe_nr"]) for e in key["no_finding"]}
    assert not {(f["other"]["entry_number"], f["other"]["loebe_nr"]) for f in findings} & quiet


def test_a_child_registered_twice_and_a_book_delivered_twice(population):
    _, key, result = population
    findings = result.findings_json()["findings"]
    dup = {(f["entry_number"], f["loebe_nr"], f["other"]["entry_number"], f["other"]["loebe_nr"])
           for f in findings if f["code"] == "DUPLICATE_ACROSS_DELIVERIES"}
    wanted = {(e["copy"]["entry_number"], e["copy"]["loebe_nr"], e["original"]["entry_number"],
               e["original"]["loebe_nr"]) for e in key["duplicate_across_deliveries"]}
    _measured("DUPLICATE_ACROSS_DELIVERIES", dup, wanted, "hospital births registered twice")
    twice = {(f["entry_number"], f["other"]["entry_number"]) for f in findings if f["code"] == "BOOK_DELIVERED_TWICE"}
    assert twice == {(copy, original) for original, copy in key["book_delivered_twice"]}
    kbf = result.clean["KBF"][0].set_index(["INDTASTNINGSNUMMER", "LOEBE_NR"])
    for e in key["duplicate_across_deliveries"]:  # the copy stays out of the linkage, the original in
        copy, original = e["copy"], e["original"]
        assert kbf.at[(copy["entry_number"], copy["loebe_nr"]), "KOPI_AF"] == \
            f"{original['entry_number']}:{original['loebe_nr']}"
        assert not kbf.at[(copy["entry_number"], copy["loebe_nr"]), "TIL_LINKAGE"]
        assert kbf.at[(original["entry_number"], original["loebe_nr"]), "TIL_LINKAGE"]
    assert not kbf.loc["K5009", "TIL_LINKAGE"].any() and kbf.loc["K5009", "KOPI_AF"].eq("K5003").all()


def test_a_death_registered_twice(population):
    _, key, result = population
    findings = [f for f in result.findings_json()["findings"] if f["code"] == "DUPLICATE_DEATH_ACROSS_DELIVERIES"]
    found = {(f["entry_number"], f["loebe_nr"], f["other"]["entry_number"], f["other"]["loebe_nr"]) for f in findings}
    wanted = {(e["copy"]["entry_number"], e["copy"]["loebe_nr"], e["original"]["entry_number"],
               e["original"]["loebe_nr"]) for e in key["duplicate_death_across_deliveries"]}
    _measured("DUPLICATE_DEATH_ACROSS_DELIVERIES", found, wanted,
              "deaths at a hospital registered where they died and where they were buried")
    assert all(f["source"] == "KBD" and f["other"]["source"] == "KBD" for f in findings)
    assert all(f["message"].startswith(f"the same death as {f['other']['entry_number']} running number ")
               for f in findings)
    kbd = result.clean["KBD"][0].set_index(["INDTASTNINGSNUMMER", "LOEBE_NR"])
    for e in key["duplicate_death_across_deliveries"]:
        copy = (e["copy"]["entry_number"], e["copy"]["loebe_nr"])
        assert kbd.at[copy, "KOPI_AF"] == f"{e['original']['entry_number']}:{e['original']['loebe_nr']}"
        assert not kbd.at[copy, "TIL_LINKAGE"]


def test_children_in_the_census_with_no_birth_are_found(population):
    _, key, result = population
    findings = [f for f in result.findings_json()["findings"] if f["code"] == "BIRTH_NOT_KEYED_FT"]
    found = {(f["entry_number"], f["other"]["entry_number"], f["other"]["loebe_nr"]) for f in findings}
    wanted = {(e["kbf_book"], e["ft"]["entry_number"], e["ft"]["loebe_nr"]) for e in key["birth_not_keyed_ft"]}
    _measured("BIRTH_NOT_KEYED_FT", found, wanted, "planted")
    assert all(f["other"]["source"] == "FT" and f["loebe_nr"] is None for f in findings)
    # the census child is named where it stands: its file and line
    assert all(f["other"]["file"] == f"{f['other']['entry_number']}ft.csv" and f["other"]["line"] > 1
               for f in findings)


def test_the_report_has_a_section_for_them(population):
    from ingest.report import render_report

    _, _, result = population
    page = render_report(result)
    section = page.split('<section id="cross">', 1)[1].split("</section>", 1)[0]
    assert "Births, deaths and censuses against each other" in section
    assert section.count("<tr>") - 1 == len(result.cross_findings)  # one row each, below the header
    assert "buried, no birth" in section and "registered twice" in section and "book delivered twice" in section


def _frames(first_kbd: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    common = {"KOEN_REN": "K", "FOEDSELSDATO_NOEGLE": "1925-05-04", "EFTERNAVN_GRUNDNAVN": "HANSEN",
              "FOEDESTED_SOGNEKODE": "S001", "KILDEFIL": "x.csv", "LINJE": 2, "LOEBE_NR": 1}
    kbf = pd.DataFrame([{**common, "INDTASTNINGSNUMMER": "K5001", "FORNAVN_GRUNDNAVN": "ELLEN",
                         "FADERS_FORNAVN_GRUNDNAVN": "JENS", "MODERS_FORNAVN_GRUNDNAVN": "ANE"}])
    kbd = pd.DataFrame([{**common, "INDTASTNINGSNUMMER": "K6001", "FORNAVN_GRUNDNAVN": first_kbd,
                         "FADERS_NAVN_GRUNDNAVN": "JENS HANSEN", "MODERS_NAVN_GRUNDNAVN": "ANE HANSEN",
                         "DOEDSDATO_ISO": "1926-01-02", "ALDER_VED_DOED": 0}])
    return kbf, kbd


def test_a_score_near_the_threshold_goes_to_review_not_to_a_decision():
    r = rules()
    # A first name that puts the score inside the band around the threshold.
    first = next(n for n in ("ELLA", "ELLIE", "ELNA", "EDEL", "ELLY", "ELSE")
                 if abs(r.weights["first"] * JaroWinkler.similarity("ELLEN", n) + 1 - r.weights["first"]
                        - r.threshold) < r.band)
    kbf, kbd = _frames(first)
    result = crosscheck(kbf, kbd)
    assert result.died_before_cpr.empty
    assert [f["code"] for f in result.findings] == ["CROSSCHECK_REVIEW"]
    (review,) = result.findings
    assert (review["source"], review["severity"], review["entry_number"], review["loebe_nr"], review["file"],
            review["line"]) == ("KBF", "warning", "K5001", 1, "x.csv", 2)  # on the birth
    assert review["other"] == {"source": "KBD", "entry_number": "K6001", "loebe_nr": 1, "file": "x.csv", "line": 2}
    # the reviewer sees the score the weights give, to four places
    expected = r.weights["first"] * JaroWinkler.similarity("ELLEN", first) + 1 - r.weights["first"]
    assert result.findings[0]["score"] == round(expected, 4)
    # The same names exactly: decided, and the child died before CPR.
    exact = crosscheck(*_frames("ELLEN"))
    assert exact.findings == [] and exact.died_before_cpr["DOED_FOER_CPR"].tolist() == ["1926-01-02"]


def test_a_death_two_births_fit_almost_equally_and_one_with_a_swapped_birthday_go_to_review():
    """Ellen's death fits Ellen (1.000) and her sister Ellena born the same day (within the
    margin): a reviewer decides. Elna's death, her birthday keyed 5 April for 4 May, fits
    Ellena less 0.02 for the swap: in the review band. Each message says why."""
    common = {"KOEN_REN": "K", "FOEDSELSDATO_NOEGLE": "1925-05-04", "EFTERNAVN_GRUNDNAVN": "HANSEN",
              "FOEDESTED_SOGNEKODE": "S001", "KILDEFIL": "x.csv", "INDTASTNINGSNUMMER": "K5001"}
    parents = {"FADERS_FORNAVN_GRUNDNAVN": "JENS", "MODERS_FORNAVN_GRUNDNAVN": "ANE"}
    kbf = pd.DataFrame([{**common, **parents, "LOEBE_NR": 1, "LINJE": 2, "FORNAVN_GRUNDNAVN": "ELLEN"},
                        {**common, **parents, "LOEBE_NR": 2, "LINJE": 3, "FORNAVN_GRUNDNAVN": "ELLENA"}])
    died = {**common, "INDTASTNINGSNUMMER": "K6001", "FADERS_NAVN_GRUNDNAVN": "JENS HANSEN",
            "MODERS_NAVN_GRUNDNAVN": "ANE HANSEN", "ALDER_VED_DOED": 0}
    kbd = pd.DataFrame([{**died, "LOEBE_NR": 1, "LINJE": 2, "FORNAVN_GRUNDNAVN": "ELLEN", "DOEDSDATO_ISO": "1926-01-02"},
                        {**died, "LOEBE_NR": 2, "LINJE": 3, "FORNAVN_GRUNDNAVN": "ELNA", "DOEDSDATO_ISO": "1926-01-03",
                         "FOEDSELSDATO_NOEGLE": "1925-04-05"}])
    result = crosscheck(kbf, kbd)
    assert [(f["code"], f["loebe_nr"], f["message"], f["score"]) for f in result.findings] == [
        ("CROSSCHECK_REVIEW", 1, "KBD K6001 running number 1 may be this child (two births fit it almost equally; "
         "score 1.000, threshold 0.94 ± 0.03)", 1.0),
        ("CROSSCHECK_REVIEW", 2, "KBD K6001 running number 2 may be this child (the score is in the review band "
         "around the threshold; score 0.944, threshold 0.94 ± 0.03)", 0.9444)]
    assert result.died_before_cpr.empty


def test_a_death_whose_birthday_was_keyed_with_day_and_month_swapped_still_finds_the_birth():
    kbf, kbd = _frames("ELLEN")
    kbd["FOEDSELSDATO_NOEGLE"] = "1925-04-05"  # 4 May keyed as 5 April
    result = crosscheck(kbf, kbd)
    assert result.died_before_cpr["DOED_FOER_CPR"].tolist() == ["1926-01-02"]
    assert result.findings == []


def test_a_birth_that_may_be_keyed_twice_names_both_records_where_they_are_in_their_files():
    """A reviewer opens both registrations: the finding names each one's delivery, running
    number, file and line."""
    common = {"KOEN_REN": "K", "FOEDSELSDATO_NOEGLE": "1925-05-04", "EFTERNAVN_GRUNDNAVN": "HANSEN",
              "FOEDESTED_SOGNEKODE": "S001", "FADERS_FORNAVN_GRUNDNAVN": "JENS", "MODERS_FORNAVN_GRUNDNAVN": "ANE"}
    kbf = pd.DataFrame([{**common, "INDTASTNINGSNUMMER": "K5001", "KILDEFIL": "K5001fd.csv", "LINJE": 3,
                         "LOEBE_NR": 2, "FORNAVN_GRUNDNAVN": "ELLEN"},
                        {**common, "INDTASTNINGSNUMMER": "K5002", "KILDEFIL": "K5002fd.csv", "LINJE": 8,
                         "LOEBE_NR": 7, "FORNAVN_GRUNDNAVN": "ELLA"}])  # a first name in the review band
    result = crosscheck(kbf, None)
    assert [(f["code"], f["source"], f["entry_number"], f["loebe_nr"], f["file"], f["line"], f["other"])
            for f in result.findings] == [
        ("CROSSCHECK_REVIEW", "KBF", "K5002", 7, "K5002fd.csv", 8,
         {"source": "KBF", "entry_number": "K5001", "loebe_nr": 2, "file": "K5001fd.csv", "line": 3})]
    assert result.copies.empty  # a possible copy is left to the reviewer, not marked


def test_a_child_registered_twice_is_paired_with_its_closest_registration_in_the_other_book():
    """K5002 holds Ellen and, above her, Ellena, born the same day to the same parents (a
    sister or a keying error, for a reviewer to tell): the copy of K5001's Ellen is Ellen."""
    common = {"KOEN_REN": "K", "EFTERNAVN_GRUNDNAVN": "HANSEN", "FOEDESTED_SOGNEKODE": "S001",
              "FADERS_FORNAVN_GRUNDNAVN": "JENS", "MODERS_FORNAVN_GRUNDNAVN": "ANE"}

    def birth(entry, line, first, date="1925-05-04"):
        return {**common, "INDTASTNINGSNUMMER": entry, "KILDEFIL": f"{entry}fd.csv", "LINJE": line,
                "LOEBE_NR": line - 1, "FORNAVN_GRUNDNAVN": first, "FOEDSELSDATO_NOEGLE": date}

    others = [("KAREN", "1925-01-1"), ("MARIE", "1925-02-1"), ("ANNA", "1925-03-1"), ("INGER", "1925-06-1")]
    rows = [birth("K5001", 2, "ELLEN"), *(birth("K5001", 3 + i, n, d + "1") for i, (n, d) in enumerate(others)),
            birth("K5002", 2, "ELLENA"), birth("K5002", 3, "ELLEN"),
            *(birth("K5002", 4 + i, n, d + "2") for i, (n, d) in enumerate(others))]
    result = crosscheck(pd.DataFrame(rows), None)
    assert [(f["code"], f["entry_number"], f["line"], f["score"], f["other"]["line"]) for f in result.findings] == [
        ("DUPLICATE_ACROSS_DELIVERIES", "K5002", 3, 1.0, 2)]
    assert result.copies["KOPI_AF"].tolist() == ["K5001:1"]


def test_the_crosscheck_command_and_the_clean_table(population, tmp_path):
    folder, key, result = population
    died = int(result.clean["KBF"][0]["DOED_FOER_CPR"].notna().sum())
    assert died >= MIN_RECALL * len(key["died_before_cpr"])
    out = tmp_path / "cross.json"
    proc = subprocess.run([sys.executable, "-m", "ingest.cli", "crosscheck", str(folder), "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["run"]["died_before_cpr"] == died
    assert doc["run"]["findings"]["BIRTH_NOT_KEYED_KBD"] == len(key["birth_not_keyed"])
    proc = subprocess.run([sys.executable, "-m", "ingest.cli", "clean", str(folder), "--out", str(tmp_path / "t")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    kbf = pd.read_parquet(tmp_path / "t" / "kbf.parquet")
    assert kbf["DOED_FOER_CPR"].notna().sum() == died
    assert kbf["DOED_FOER_CPR"].dropna().str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    findings = json.loads((tmp_path / "t" / "findings.json").read_text(encoding="utf-8"))["findings"]
    assert sum(f["code"] == "BIRTH_NOT_KEYED_KBD" for f in findings) == len(key["birth_not_keyed"])


def _written(result, folder, parquet: bool):
    """The clean KBF and KBD tables as ``mgr-ingest tables`` writes them before the check
    adds its marks (the columns the check writes left out)."""
    folder.mkdir()
    paths = []
    for source in ("KBF", "KBD"):
        table = pd.concat(result.clean[source], ignore_index=True)
        table = table.drop(columns=[c for c in cc.CROSS_COLUMNS if c in table])
        path = folder / f"{source.lower()}.{'parquet' if parquet else 'csv'}"
        table.to_parquet(path, index=False) if parquet else table.to_csv(path, sep=";", index=False)
        paths.append(path)
    return paths


@pytest.mark.parametrize("parquet", [True, False], ids=["parquet", "csv"])
def test_a_table_rewritten_in_pieces_gets_each_rows_own_marks(population, tmp_path, monkeypatch, parquet):
    """A national table is rewritten 200,000 rows at a time; here 7 at a time, and every row
    must get the same marks as when the whole table is one piece."""
    _, _, result = population
    whole_kbf, whole_kbd = _written(result, tmp_path / "whole", parquet)
    cc.crosscheck_files(whole_kbf, whole_kbd)
    monkeypatch.setattr(cc, "ROWS_PER_PIECE", 7)
    kbf, kbd = _written(result, tmp_path / "pieces", parquet)
    cc.crosscheck_files(kbf, kbd)
    read = pd.read_parquet if parquet else (lambda p: pd.read_csv(p, sep=";", dtype=str, keep_default_na=False))
    whole, pieces = read(whole_kbf), read(kbf)
    assert len(pieces) == len(whole) > 7 * 3
    pd.testing.assert_frame_equal(pieces, whole)
    # the marks the check of the files wrote are those of the check in memory
    def values(column: pd.Series) -> list:
        return [None if pd.isna(v) or v == "" else str(v) for v in column]

    memory = pd.concat(result.clean["KBF"], ignore_index=True)
    assert any(values(memory["DOED_FOER_CPR"])) and not memory["TIL_LINKAGE"].all()
    for column in ("DOED_FOER_CPR", "DOED_FOER_CPR_KILDE", "KOPI_AF", "TIL_LINKAGE"):
        assert values(whole[column]) == values(memory[column]), column
    deaths, memory = read(whole_kbd), pd.concat(result.clean["KBD"], ignore_index=True)
    assert any(values(memory["KOPI_AF"]))
    for column in ("KOPI_AF", "TIL_LINKAGE"):
        assert values(deaths[column]) == values(memory[column]), column


def test_without_births_the_deaths_are_not_checked_and_the_tables_stay_as_written(population, tmp_path):
    from validators.crosscheck import crosscheck_files

    _, _, result = population
    kbf, kbd = _written(result, tmp_path / "t", parquet=True)
    pd.concat(result.clean["KBF"], ignore_index=True).head(0).to_parquet(kbf, index=False)
    before = kbf.read_bytes(), kbd.read_bytes()
    assert crosscheck_files(kbf, kbd) is None
    assert (kbf.read_bytes(), kbd.read_bytes()) == before


def test_the_findings_table_names_the_other_registration_of_each_cross_finding(population, tmp_path):
    """``mgr-ingest tables`` appends the cross findings to its findings table; a reviewer reading
    that table sees in each message which registration the finding is about."""
    from validators.crosscheck import crosscheck_files
    from validators.findings import FINDING_COLUMNS

    _, key, result = population
    kbf, kbd = _written(result, tmp_path / "t", parquet=True)
    findings = tmp_path / "t" / "findings.parquet"
    pd.DataFrame({c: pd.Series(dtype=object) for c in FINDING_COLUMNS}).to_parquet(findings, index=False)
    crosscheck_files(kbf, kbd, findings)
    rows = pd.read_parquet(findings)
    twice = rows[rows["code"] == "BOOK_DELIVERED_TWICE"]
    assert len(twice) == len(key["book_delivered_twice"]) > 0
    for (original, copy), message in zip(sorted(key["book_delivered_twice"]), twice["message"]):
        assert re.fullmatch(rf"{copy} holds the same children as {original} \(\d+ of \d+ records\): the same book "
                            rf"delivered twice; {original} is used \[other: KBF {original}; score [0-9.]+; rules \S+\]",
                            message), message
    dup = rows[rows["code"] == "DUPLICATE_ACROSS_DELIVERIES"]
    assert len(dup) > 0
    assert dup["message"].str.fullmatch(r"the same child as (K\d+) running number (\d+) .*\[other: KBF \1 \2; "
                                        r"score [0-9.]+; rules \S+\]").all()


def test_every_cross_finding_has_the_fields_of_a_finding(population):
    _, _, result = population
    keys = {"code", "severity", "source", "field", "page", "message", "suggestion", "auto_fix", "entry_number",
            "loebe_nr", "file", "line", "other", "score", "rule_version"}
    assert result.cross_findings and all(set(f) == keys for f in result.cross_findings)
    # a question for a reviewer about two records: nothing fixed, no field or page of its own
    assert {(f["auto_fix"], f["suggestion"], f["field"], f["page"]) for f in result.cross_findings} == {
        (False, None, None, None)}
    assert all(f["severity"] == CATALOGUE[f["code"]].severity.value for f in result.cross_findings)
    assert {f["source"] for f in result.cross_findings} == {"KBF", "KBD"}
    assert all(set(f["other"]) == {"source", "entry_number", "loebe_nr", "file", "line"} for f in result.cross_findings)


def _deaths(first_row_book: str) -> pd.DataFrame:
    """A man who died in hospital in parish S009, registered both in that parish's book of
    deaths (K6002) and in the book of the parish he was buried in (K6001); two more deaths in
    each book make each book's parish."""
    def death(book, n, first, died_in, born="1880-02-03", died="1926-01-02"):
        return {"INDTASTNINGSNUMMER": book, "LOEBE_NR": n, "KILDEFIL": f"{book}dd.csv", "LINJE": n + 1,
                "KOEN_REN": "M", "FOEDSELSDATO_NOEGLE": born, "FORNAVN_GRUNDNAVN": first,
                "EFTERNAVN_GRUNDNAVN": "HANSEN", "FADERS_NAVN_GRUNDNAVN": "", "MODERS_NAVN_GRUNDNAVN": "",
                "DOEDSDATO_ISO": died, "DOEDSSTED_SOGNEKODE": died_in, "FOEDESTED_SOGNEKODE": "S001",
                "ALDER_VED_DOED": 45}
    books = {"K6001": [death("K6001", 1, "NIELS", "S001", "1850-03-04", "1926-02-01"),
                       death("K6001", 2, "PETER", "S001", "1860-05-06", "1926-03-01")],
             "K6002": [death("K6002", 1, "JENS", "S009", "1870-07-08", "1926-04-01"),
                       death("K6002", 2, "ANDERS", "S009", "1855-09-10", "1926-05-01")]}
    books["K6001"].append(death("K6001", 3, "KARL", "S009"))
    books["K6002"].append(death("K6002", 3, "KARL", "S009"))
    other = "K6002" if first_row_book == "K6001" else "K6001"
    return pd.DataFrame(books[first_row_book] + books[other])


@pytest.mark.parametrize("first_row_book", ["K6001", "K6002"])
@pytest.mark.parametrize("with_context", [False, True], ids=["whole", "store_context"])
def test_a_death_registered_twice_is_linked_through_the_book_of_the_parish_of_death(first_row_book, with_context):
    from validators.crosscheck import Context, book_spans

    kbf, _ = _frames("ELLEN")
    kbd = _deaths(first_row_book)
    context = Context(spans=book_spans(kbf), death_parishes={"K6001": "S001", "K6002": "S009"},
                      sizes={("KBD", "K6001"): 3, ("KBD", "K6002"): 3, ("KBF", "K5001"): 1}) if with_context else None
    result = crosscheck(kbf, kbd, context=context)
    found = [f for f in result.findings if f["code"] == "DUPLICATE_DEATH_ACROSS_DELIVERIES"]
    assert [(f["entry_number"], f["loebe_nr"], f["other"]["entry_number"], f["other"]["loebe_nr"]) for f in found] \
        == [("K6001", 3, "K6002", 3)]
    copy_row = int(kbd.index[(kbd["INDTASTNINGSNUMMER"] == "K6001") & (kbd["LOEBE_NR"] == 3)][0])
    assert dict(zip(result.death_copies.iloc[:, 0], result.death_copies["KOPI_AF"])) == {copy_row: "K6002:3"}


def test_a_book_of_deaths_belongs_to_the_parish_most_of_its_deaths_were_in_the_first_by_code_on_a_tie():
    from validators.crosscheck import death_parishes

    d = pd.DataFrame({"entry": pd.Categorical(["K6001"] * 4 + ["K6002"] * 3),
                      "parish": pd.Categorical(["S002", "S001", "S002", "S001", "S009", "S003", "S009"])})
    assert death_parishes(d) == {"K6001": "S001", "K6002": "S009"}


def test_a_check_without_the_births_compared_with_each_other_still_gives_the_copies_table():
    kbf, kbd = _frames("ELLEN")
    result = crosscheck(kbf, kbd, duplicates=False)  # the incremental check of a delivery of deaths
    assert list(result.copies.columns) == ["b_row", "KOPI_AF"] and result.copies.empty
    assert result.died_before_cpr["DOED_FOER_CPR"].tolist() == ["1926-01-02"]


def _census_child(surname: str, first: str = "ELLEN") -> pd.DataFrame:
    """The ft_children table's columns for one census child of 1930, born 4 May 1925 in S001."""
    return pd.DataFrame([{"INDTASTNINGSNUMMER": "K3801", "BARN_LOEBE_NR": 3, "KILDEFIL": "K3801ft.csv", "LINJE": 4,
                          "BARN_FOEDSELSDATO_NOEGLE": "1925-05-04", "BARN_KOEN": "K", "BARN_FORNAVN_GRUNDNAVN": first,
                          "BARN_EFTERNAVN_UDLEDT_GRUNDNAVN": surname, "FAR_FORNAVN_GRUNDNAVN": "JENS",
                          "MOR_FORNAVN_GRUNDNAVN": "ANE", "BARN_FOEDESTED_SOGNEKODE": "S001",
                          "BARN_ALDER_BEREGNET": 5}])


def test_a_census_child_is_found_among_the_births_by_its_surname_too():
    kbf, _ = _frames("ELLEN")
    others = pd.DataFrame([{**kbf.iloc[0].to_dict(), "LOEBE_NR": n, "LINJE": n + 1, "FORNAVN_GRUNDNAVN": name,
                            "FOEDSELSDATO_NOEGLE": f"1925-0{n}-1{n}"} for n, name in ((2, "KAREN"), (3, "ANNA"))])
    kbf = pd.concat([kbf, others], ignore_index=True)  # three births of 1925: the book covers the year
    assert [f["code"] for f in crosscheck(kbf, None, ft_children=_census_child("HANSEN")).findings] == []
    found = crosscheck(kbf, None, ft_children=_census_child("PEDERSEN", first="ELLY")).findings
    assert [(f["code"], f["other"]["entry_number"], f["other"]["line"]) for f in found] == [
        ("BIRTH_NOT_KEYED_FT", "K3801", 4)]


def test_a_birth_two_deaths_fit_is_marked_once_with_the_death_that_fits_best():
    """A child buried twice over (two books of deaths, one with a slip in the first name): the
    birth gets one ``DOED_FOER_CPR``, from the registration that fits it best, whatever order
    the deaths come in."""
    from validators.crosscheck import add_died_before_cpr

    r = rules()
    hi = r.threshold + r.band
    slip = next(n for n in ("ELLENE", "ELLAN", "ELLIN", "ELLEM", "ELEN")
                if hi <= r.weights["first"] * JaroWinkler.similarity("ELLEN", n) + 1 - r.weights["first"] < 1)
    kbf, exact = _frames("ELLEN")
    _, slipped = _frames(slip)
    slipped = slipped.assign(INDTASTNINGSNUMMER="K6002", DOEDSDATO_ISO="1926-01-03", KILDEFIL="y.csv")
    for kbd in (pd.concat([exact, slipped], ignore_index=True), pd.concat([slipped, exact], ignore_index=True)):
        result = crosscheck(kbf, kbd)
        assert result.died_before_cpr["b_row"].tolist() == [0]
        table = add_died_before_cpr(kbf, result)
        assert (table["DOED_FOER_CPR"].tolist(), table["DOED_FOER_CPR_KILDE"].tolist()) == (["1926-01-02"], ["K6001:1"])


def test_a_child_death_without_a_sex_is_not_called_a_birth_never_keyed():
    """A child's death keyed without its sex cannot be matched to its birth (the blocks need
    the sex), so it must not be reported as a birth the book lacks either."""
    kbf, kbd = _frames("ELLEN")
    others = pd.DataFrame([{**kbf.iloc[0].to_dict(), "LOEBE_NR": n, "LINJE": n + 1, "FORNAVN_GRUNDNAVN": name,
                            "FOEDSELSDATO_NOEGLE": f"1925-0{n}-1{n}"} for n, name in ((2, "KAREN"), (3, "ANNA"))])
    kbf = pd.concat([kbf, others], ignore_index=True)  # three births of 1925: the book covers the year
    stranger = kbd.assign(FORNAVN_GRUNDNAVN="OLGA", EFTERNAVN_GRUNDNAVN="PEDERSEN", FOEDSELSDATO_NOEGLE="1925-06-20",
                          MODERS_NAVN_GRUNDNAVN="KAREN PEDERSEN", FADERS_NAVN_GRUNDNAVN="OLE PEDERSEN")
    # with a sex, the stranger is a birth the book lacks; without one, nothing is said
    (found,) = crosscheck(kbf, stranger).findings
    assert found["code"] == "BIRTH_NOT_KEYED_KBD"
    # on the book of births that lacks it; the other side is the death
    assert (found["source"], found["entry_number"], found["loebe_nr"], found["line"]) == ("KBF", "K5001", None, None)
    assert found["other"] == {"source": "KBD", "entry_number": "K6001", "loebe_nr": 1, "file": "x.csv", "line": 2}
    assert found["message"].startswith("a child born 1925-06-20 in the parish and buried (K6001 running number 1) "
                                       "has no birth in K5001 (births 1925-1925)"), found["message"]
    assert crosscheck(kbf, stranger.assign(KOEN_REN=None)).findings == []
    assert crosscheck(kbf, stranger.assign(KOEN_REN="")).findings == []


def test_a_boy_s_death_is_never_taken_for_a_girl_s_birth():
    kbf, kbd = _frames("ELLEN")  # a girl born and a girl buried, alike in every other way
    assert crosscheck(kbf, kbd).died_before_cpr["DOED_FOER_CPR"].tolist() == ["1926-01-02"]
    boy = crosscheck(kbf, kbd.assign(KOEN_REN="M"))
    assert boy.died_before_cpr.empty and boy.findings == []


@pytest.mark.parametrize("parquet", [True, False], ids=["parquet", "csv"])
def test_without_a_death_table_the_births_are_checked_against_the_census_children_alone(population, tmp_path,
                                                                                         parquet):
    _, key, result = population
    kbf, kbd = _written(result, tmp_path / "t", parquet)
    kbd.unlink()  # a run of births and censuses: no table of deaths was written
    table = pd.concat(result.tables["ft_children"], ignore_index=True)
    children = tmp_path / "t" / f"ft_children.{'parquet' if parquet else 'csv'}"
    table.to_parquet(children, index=False) if parquet else table.to_csv(children, sep=";", index=False)
    checked = cc.crosscheck_files(kbf, kbd, children_path=children)
    codes = {f["code"] for f in checked.findings}
    assert "BIRTH_NOT_KEYED_FT" in codes and not codes & {"BIRTH_NOT_KEYED_KBD", "DUPLICATE_DEATH_ACROSS_DELIVERIES"}
    assert sum(f["code"] == "BIRTH_NOT_KEYED_FT" for f in checked.findings) == len(key["birth_not_keyed_ft"])
    assert not kbd.exists() and checked.died_before_cpr.empty


def test_a_child_registered_in_three_deliveries_is_one_child_with_two_copies():
    """The same girl in K5001, K5002 and K5003 (the last with a slip in her name), each book
    with five other births: the first registration stays for linkage, the other two are
    marked as copies, each with a finding."""
    common = {"KOEN_REN": "K", "EFTERNAVN_GRUNDNAVN": "HANSEN", "FOEDESTED_SOGNEKODE": "S001",
              "FADERS_FORNAVN_GRUNDNAVN": "JENS", "MODERS_FORNAVN_GRUNDNAVN": "ANE"}
    others = iter(["KAREN", "ANNA", "MARIE", "INGER", "ELSE", "GRETHE", "BIRTHE", "KIRSTEN", "LIS", "RUTH", "EDEL",
                   "OLGA", "DAGMAR", "ASTA", "META"])
    rows = []
    for book, (entry, first) in enumerate((("K5001", "ELLEN"), ("K5002", "ELLEN"), ("K5003", "ELLENA"))):
        where = {"INDTASTNINGSNUMMER": entry, "KILDEFIL": f"{entry}fd.csv"}
        rows.append({**common, **where, "LINJE": 2, "LOEBE_NR": 1, "FORNAVN_GRUNDNAVN": first,
                     "FOEDSELSDATO_NOEGLE": "1925-05-04"})
        rows += [{**common, **where, "LINJE": 3 + k, "LOEBE_NR": 2 + k, "FORNAVN_GRUNDNAVN": next(others),
                  "FOEDSELSDATO_NOEGLE": f"1925-0{k + 1}-1{book}"} for k in range(5)]
    result = crosscheck(pd.DataFrame(rows), None)
    assert sorted((f["code"], f["entry_number"], f["loebe_nr"]) for f in result.findings) == [
        ("DUPLICATE_ACROSS_DELIVERIES", "K5002", 1), ("DUPLICATE_ACROSS_DELIVERIES", "K5003", 1)]
    assert sorted(result.copies["b_row"]) == [6, 12]  # the girl's rows in K5002 and K5003, not K5001's
