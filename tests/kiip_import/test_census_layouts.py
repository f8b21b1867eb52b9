"""Census files in every layout, read by their header words.

The real files of ../shared/realdata/ddd-census-layouts (the DDD research extract, the
same rows once committed in UTF-7, Link-Lives' transcribed and standardised rows) are read
with all their persons and the findings their README predicts; generated files cover
every layout and every census year 1787-1940 with shuffled columns, other delimiters and
encodings and optional columns left out, against the answer key written with them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from census_rows import RESEARCH_HEADER, research_row

from fixtures.generator_layouts import LAYOUTS, YEARS, write_all, write_file
from ingest.pipeline import corrections_frame, run_pipeline
from kiip_import import layouts
from validators import ft_rules
from validators.catalogue import CATALOGUE, Scope

REAL = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "ddd-census-layouts"
RESEARCH = "C3349_FT1880_aars_research_layout.csv"
UTF7 = "C3349_FT1880_aars_same_rows_utf7.csv"
LL = {"linklives_transcribed_census_1845.csv": ("C2688", 1845, "linklives_transcribed"),
      "linklives_transcribed_census_1850.csv": ("C8953", 1850, "linklives_transcribed"),
      "linklives_standardised_census_1845.csv": ("LL1170", 1845, "linklives_standardised"),
      "linklives_standardised_census_1850.csv": ("LL1159", 1850, "linklives_standardised")}
DELIVERY_CODES = {c for c, code in CATALOGUE.items() if code.scope is Scope.DELIVERY}


def cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def real():
    assert REAL.is_dir(), f"the real census layouts are missing: {REAL}"
    result = run_pipeline([REAL], keep_clean=True)
    table = pd.concat(result.clean["FT"], ignore_index=True)
    findings = pd.DataFrame(result.findings_json()["findings"])
    return result, table, findings


def test_every_real_file_is_read_with_all_its_persons(real):
    result, table, findings = real
    got = {d.files[0]["name"]: (d.entry_number, d.source, d.rows) for d in result.deliveries}
    want = {RESEARCH: ("C3349", "FT", 49), UTF7: ("C3349", "FT", 49)}
    want.update({name: (entry, "FT", 1) for name, (entry, _, _) in LL.items()})
    assert got == want
    layouts_read = table.groupby("KILDEFIL")["LAYOUT"].first().to_dict()
    assert layouts_read == {RESEARCH: "ddd_research", UTF7: "ddd_research",
                            **{name: layout for name, (_, _, layout) in LL.items()}}
    years = table.groupby("KILDEFIL")["TAELLINGSAAR_REN"].first().to_dict()
    assert years == {RESEARCH: 1880, UTF7: 1880, **{name: year for name, (_, year, _) in LL.items()}}
    assert table["HUSSTAND_ID"].notna().all()  # every person in a household
    # No finding says the importer failed: no unknown layout, column or unreadable file.
    assert not set(findings["code"]) & {"LAYOUT_UNKNOWN", "FILE_UNRECOGNISED", "FILE_UNREADABLE",
                                        "HEADER_UNKNOWN_COLUMN", "HEADER_MISSING_COLUMN"}


def test_the_research_extract_says_its_parish_and_schema(real):
    result, table, _ = real
    meta = {d.files[0]["name"]: d.meta for d in result.deliveries}
    assert (meta[RESEARCH]["SOGN"], meta[RESEARCH]["HERRED"], meta[RESEARCH]["AMT"]) == ("Aars", "Aars", "Aalborg")
    assert meta["linklives_transcribed_census_1845.csv"]["SOGN"] == "Nordrupøster"
    versions = table.groupby("KILDEFIL")["SKEMA_VERSION"].first().to_dict()
    assert versions[RESEARCH] == "FT-1870" and versions["linklives_transcribed_census_1845.csv"] == "FT-1845"
    assert set(table.loc[table["KILDEFIL"] == RESEARCH, "TAELLINGSDATO"]) == {"1880-02-01"}


def test_numbers_written_with_decimals_are_read_as_numbers(real):
    result, table, findings = real
    rows = table[table["KILDEFIL"] == RESEARCH].set_index("LINJE")
    assert (rows.loc[2, "ALDER"], rows.loc[2, "ALDER_REN"]) == ("51,000", 51)
    infant = rows[rows["ALDER"] == ",500"]
    assert len(infant) == 1 and infant["ALDER_REN"].iloc[0] == 0 and infant["ALDER_I_AAR"].iloc[0] == 0.5
    # One finding says it for the delivery (with the count); every value has its correction row.
    decimals = findings[(findings["file"] == RESEARCH) & (findings["code"] == "NUMBER_AS_DECIMAL")]
    assert decimals[["line", "field"]].values.tolist() == [[2, "ALDER"]]
    assert "49 value(s) of ALDER" in decimals["message"].iloc[0]
    corrections = corrections_frame(result)
    ages = corrections[(corrections["file"] == RESEARCH) & (corrections["field"] == "ALDER")]
    assert len(ages) == 49 and set(ages.loc[ages["line"] == 2, "new_value"]) == {"51"}
    # Link-Lives: running number '33.0' and birth year '1837.0'.
    ll = table[table["KILDEFIL"] == "linklives_transcribed_census_1845.csv"].iloc[0]
    assert (ll["LOEBE_NR"], ll["FOEDEAAR_REN"]) == (33, 1837)


def test_civil_status_codes_and_texts_go_through_one_table(real):
    _, table, findings = real
    rows = table[table["KILDEFIL"] == RESEARCH].set_index("LINJE")
    assert rows.loc[2, ["AEGTESKABELIG_STILLING", "AEGTESKABELIG_STILLING_REN"]].tolist() == ["2", "G"]
    assert set(rows["AEGTESKABELIG_STILLING_REN"]) == {"U", "G", "E"}
    ll = table[table["KILDEFIL"] == "linklives_transcribed_census_1850.csv"].iloc[0]
    assert ll["AEGTESKABELIG_STILLING_REN"] == "U"  # 'Ugift'
    assert "CIVILSTAND_INVALID" not in set(findings["code"])


def test_the_birth_year_that_disagrees_with_the_census_is_reported(real):
    _, _, findings = real
    # The extract's fødeår is 1860 less the age: 20 years off FT-1880 on every row.
    mismatch = findings[(findings["file"] == RESEARCH) & (findings["code"] == "AGE_DATE_MISMATCH")]
    assert set(mismatch["line"]) == set(range(2, 51))
    assert "age stated 51" in mismatch.loc[mismatch["line"] == 2, "message"].iloc[0]


def test_the_utf7_file_gives_the_same_persons_never_garbled_names(real):
    _, table, findings = real
    plain = table[table["KILDEFIL"] == RESEARCH].sort_values("LINJE")
    utf7 = table[table["KILDEFIL"] == UTF7].sort_values("LINJE")
    assert utf7["FULDT_NAVN"].tolist() == plain["FULDT_NAVN"].tolist()
    assert utf7["KOEN_REN"].tolist() == plain["KOEN_REN"].tolist()
    assert any("ø" in name or "æ" in name for name in utf7["ERHVERV"].dropna())
    assert not utf7["FULDT_NAVN"].str.contains(r"\+A", regex=True).any()
    assert (findings.loc[findings["file"] == UTF7, "code"] == "ENCODING_UTF7").sum() == 1


def test_standardised_rows_keep_their_household_and_say_so(real):
    _, table, findings = real
    row = table[table["KILDEFIL"] == "linklives_standardised_census_1850.csv"].iloc[0]
    assert (row["FAMILIE_LOEBE_NR"], row["STILLING_I_HUSSTANDEN"], bool(row["STANDARDISERET"])) == \
        ("190353", "barn", True)
    assert (row["KOEN_REN"], row["LOEBE_NR"], row["ALDER_REN"]) == ("M", 94, 13)
    notes = findings[(findings["file"] == "linklives_standardised_census_1850.csv")
                     & (findings["code"] == "CENSUS_DOWNLOAD")]["message"]
    assert notes.str.contains("already standardised").any()
    assert not table.loc[table["KILDEFIL"] == RESEARCH, "STANDARDISERET"].any()


# --------------------------------------------------------------------- generated files

@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("layouts")
    files = write_all(folder)
    result = run_pipeline([folder], keep_clean=True)
    table = pd.concat(result.clean["FT"], ignore_index=True)
    return files, table, pd.DataFrame(result.findings_json()["findings"]), corrections_frame(result)


def test_every_planted_fix_has_its_correction_row(generated):
    files, _, _, corrections = generated
    planted = {(f.name, m["line"], m["field"]) for f in files for m in f.planted if m["code"] == "NUMBER_AS_DECIMAL"}
    fixed = corrections[corrections["rule"] == "NUMBER_AS_DECIMAL"]
    assert {(r.file, int(r.line), r.field) for r in fixed.itertuples()} == planted


def test_generated_files_cover_every_layout_and_year_with_variants(generated):
    files, _, _, _ = generated
    assert {(f.layout, f.year) for f in files} == {(layout, year) for layout in LAYOUTS for year in YEARS}
    assert {f.delimiter for f in files} >= {";", "|", ",", "\t"}
    assert {f.encoding for f in files} >= {"cp1252", "utf-8", "latin-1", "utf-8-sig"}
    research = [f for f in files if f.layout == "ddd_research"]
    assert any("stilling_i_husstanden" not in f.columns for f in research)  # optional column left out
    assert any("civilstkode" in f.columns for f in research) and any("civilstand" in f.columns for f in research)
    assert len({tuple(f.columns) for f in research}) > 1  # shuffled


def test_every_generated_person_is_read_as_the_key_says(generated):
    files, table, _, _ = generated
    wrong = []
    for f in files:
        rows = table[table["KILDEFIL"] == f.name].sort_values("LOEBE_NR")
        if len(rows) != len(f.persons):
            wrong.append((f.name, "persons", len(rows), len(f.persons)))
            continue
        for p, (_, row) in zip(f.persons, rows.iterrows()):
            got = (int(row["LOEBE_NR"]), row["FULDT_NAVN"], row["KOEN_REN"], int(row["ALDER_REN"]),
                   row["AEGTESKABELIG_STILLING_REN"], row["INDTASTNINGSNUMMER"], int(row["TAELLINGSAAR_REN"]))
            want = (p["loebe_nr"], p["name"], p["sex"], p["age"], p["civil"], f.entry_number, f.year)
            if got != want:
                wrong.append((f.name, got, want))
                break
        if rows["HUSSTAND_ID"].isna().any() or rows["HUSSTAND_NR"].max() != 3:
            wrong.append((f.name, "households", sorted(rows["HUSSTAND_NR"].dropna().unique())))
    assert wrong == []


def test_generated_files_raise_exactly_the_planted_findings(generated):
    files, _, findings, _ = generated
    planted = {(f.name, m["line"], m["code"], m["field"]) for f in files for m in f.planted}
    # A summarised code is one finding per file and field, at its first line.
    first: dict[tuple, int] = {}
    for name, line, code, fld in planted:
        if CATALOGUE[code].summarised:
            first[(name, code, fld)] = min(line, first.get((name, code, fld), line))
    expected = {p for p in planted if not CATALOGUE[p[2]].summarised} | {
        (name, line, code, fld) for (name, code, fld), line in first.items()}
    codes = {code for _, _, code, _ in planted}
    found = {(r.file, int(r.line), r.code, r.field) for r in findings.itertuples() if r.code in codes}
    assert found == expected
    others = findings[~findings["code"].isin(codes | {"CENSUS_DOWNLOAD"})]
    assert others[["file", "line", "code", "message"]].values.tolist() == []


def test_a_new_census_year_and_a_new_layout_are_added_as_data_only(tmp_path, monkeypatch):
    own = tmp_path / "own"
    own.mkdir()
    (own / "census_schemas.csv").write_text(
        "version;first_year;last_year;fields;households\n"
        "FT-1936-TEST;1936;1936;FULDT_NAVN ALDER STILLING_I_HUSSTANDEN;position\n", encoding="utf-8")
    (own / "census_dates.csv").write_text("year;date;note\n1936;19361105;a census year made up for the test\n",
                                          encoding="utf-8")
    (own / "census_layouts.csv").write_text("layout;years;standardised;title\n"
                                            "parish_club;1787-1940;0;a local society's census extract\n",
                                            encoding="utf-8")
    (own / "census_layout_words.csv").write_text(
        "layout;word;field;core;values\n"
        "parish_club;Arkivnummer;INDTASTNINGSNUMMER;x;\nparish_club;Taelling;TAELLINGSAAR;x;\n"
        "parish_club;Personnr;LOEBE_NR;x;\nparish_club;Hus;FAMILIE_LOEBE_NR;x;\n"
        "parish_club;Hele navnet;FULDT_NAVN;x;\nparish_club;Kvinde eller mand;KOEN;x;\n"
        "parish_club;Aar gammel;ALDER;x;\nparish_club;Stilling;STILLING_I_HUSSTANDEN;;\n"
        "parish_club;Gift;AEGTESKABELIG_STILLING;;\n", encoding="utf-8")
    data = tmp_path / "in"
    data.mkdir()
    (data / "club_extract.csv").write_text(
        "Arkivnummer;Taelling;Personnr;Hus;Hele navnet;Kvinde eller mand;Aar gammel;Stilling;Gift\n"
        "E1234;1936;1;1;Jens Hansen;M;40;Husfader;G\nE1234;1936;2;1;Ane Hansen;K;38;Husmoder;G\n"
        "E1234;1936;3;1;Peder Hansen;M;9;Barn;U\n", encoding="utf-8")
    before = run_pipeline([data], keep_clean=True)
    assert [f["code"] for f in before.findings_json()["findings"]] == ["LAYOUT_UNKNOWN"] or \
        "FILE_UNRECOGNISED" in [f["code"] for f in before.findings_json()["findings"]]
    monkeypatch.setenv(layouts.DATA_ENV, str(own))
    layouts.clear_cache()
    ft_rules.clear_caches()
    try:
        result = run_pipeline([data], keep_clean=True)
        table = pd.concat(result.clean["FT"], ignore_index=True)
    finally:
        monkeypatch.delenv(layouts.DATA_ENV)
        layouts.clear_cache()
        ft_rules.clear_caches()
    assert table[["LAYOUT", "SKEMA_VERSION", "TAELLINGSDATO"]].drop_duplicates().values.tolist() == [
        ["parish_club", "FT-1936-TEST", "1936-11-05"]]
    assert table["FAR_LOEBE_NR"].tolist()[2] == 1 and table["MOR_LOEBE_NR"].tolist()[2] == 2


# --------------------------------------------------------------------- the edges

def test_a_census_in_an_unknown_layout_is_an_error_naming_the_closest_layout(tmp_path):
    (tmp_path / "FT1880_aars.csv").write_text(
        "Indtastningsnr|kilde|sogn|lbnr|hele_navnet|koenet|alder\nC3349|FT-1880|Aars|1|Jens Hansen|M|40\n",
        encoding="utf-8")
    proc = cli("clean", tmp_path / "FT1880_aars.csv", "--out", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    findings = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))["findings"]
    assert [(f["code"], f["severity"], f["file"], f["line"]) for f in findings] == [
        ("LAYOUT_UNKNOWN", "error", "FT1880_aars.csv", 1)]
    message = findings[0]["message"]
    assert "ddd_research" in message and "navn" in message and "køn" in message and "husstnr" in message


def test_a_lone_file_that_is_no_census_exits_1_not_0(tmp_path):
    (tmp_path / "shopping.csv").write_text("item;price\nbread;12\n", encoding="utf-8")
    proc = cli("clean", tmp_path / "shopping.csv", "--out", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 1
    assert "0 records" in proc.stderr
    codes = [f["code"] for f in json.loads((tmp_path / "out" / "findings.json").read_text())["findings"]]
    assert codes == ["FILE_UNRECOGNISED"]


def test_letters_replaced_by_question_marks_are_recognised_and_reported(tmp_path):
    header = RESEARCH_HEADER.replace("køn", "k?n").replace("fødeår", "f?de?r")
    (tmp_path / "aars.csv").write_text(header + "\n" + research_row("C3349", 1880, 1, "S?ren Hansen", "M", 40)
                                       + "\n", encoding="utf-8")
    result = run_pipeline([tmp_path], keep_clean=True)
    table = pd.concat(result.clean["FT"], ignore_index=True)
    assert table[["KOEN_REN", "FOEDEAAR_REN"]].values.tolist() == [["M", 1840]]
    lost = [f for f in result.findings_json()["findings"] if f["code"] == "LETTERS_LOST"]
    assert len(lost) == 1 and "k?n" in lost[0]["message"]
    assert (lost[0]["file"], lost[0]["line"]) == ("aars.csv", 1)  # the header line


def test_a_file_with_several_entry_numbers_is_several_deliveries(tmp_path):
    rows = [research_row("C1111", 1880, 1, "Jens Hansen", "M", 40),
            research_row("C1111", 1880, 2, "Ane Hansen", "K", 38),
            research_row("C2222", 1880, 1, "Niels Larsen", "M", 50)]
    (tmp_path / "FT1860.csv").write_text("\n".join([RESEARCH_HEADER, *rows]) + "\n", encoding="latin-1")
    result = run_pipeline([tmp_path], keep_clean=True)
    assert [(d.entry_number, d.rows) for d in result.deliveries] == [("C1111", 2), ("C2222", 1)]
    findings = result.findings_json()["findings"]
    mismatch = [f for f in findings if f["code"] == "CENSUS_YEAR_MISMATCH"]
    assert {f["entry_number"] for f in mismatch} == {"C1111", "C2222"}
    assert "1860" in mismatch[0]["message"] and "1880" in mismatch[0]["message"]
    table = pd.concat(result.clean["FT"], ignore_index=True)
    assert set(table["TAELLINGSAAR_REN"]) == {1880}
    several = [f for f in findings if f["code"] == "CENSUS_SEVERAL_DELIVERIES"]
    assert sorted((f["entry_number"], f["file"]) for f in several) == [("C1111", "FT1860.csv"), ("C2222", "FT1860.csv")]
    assert "the 2 rows of C1111 are one delivery" in next(f["message"] for f in several if f["entry_number"] == "C1111")
    assert {(f["file"], f["field"]) for f in mismatch} == {("FT1860.csv", "TAELLINGSAAR")}
    # each delivery has the census year of its rows, and the parish, district and county of its columns
    for d in result.deliveries:
        assert [d.meta.get(k) for k in ("FRA_AAR", "TIL_AAR", "SOGN", "HERRED", "AMT", "LAYOUT")] == [
            "1880", "1880", "Aars", "Aars", "Aalborg", "ddd_research"], d.entry_number


def test_delimiter_and_encoding_come_from_the_content(tmp_path):
    # A tab-separated Windows-1252 download named like nothing in particular.
    made = write_file(tmp_path, "ddd_download", 1890, seed=5)
    raw = (tmp_path / made.name).read_bytes()
    text = raw.decode(made.encoding)
    (tmp_path / made.name).unlink()
    (tmp_path / "export (2).txt.csv").write_bytes(text.replace(made.delimiter, "\t").encode("cp1252"))
    result = run_pipeline([tmp_path], keep_clean=True)
    assert [(d.entry_number, d.rows) for d in result.deliveries] == [(made.entry_number, len(made.persons))]


def test_utf7_that_cannot_be_decoded_is_refused_with_a_clear_finding(tmp_path):
    (tmp_path / "broken.csv").write_bytes(b"kipnr+AHw-kilde+AHw-lbnr+AHw-navn\nC1+AHw-FT-1880+AHw-1+AHw-J+Ab!-\n")
    result = run_pipeline([tmp_path], keep_clean=True)
    findings = result.findings_json()["findings"]
    assert [f["code"] for f in findings] == ["FILE_UNREADABLE"]
    assert "UTF-7" in findings[0]["message"]
    assert sum(d.rows for d in result.deliveries) == 0


def _parish_row(entry: str, n: int, parish: str, place: str = "Vejby By") -> str:
    return f"{entry}|FT-1880|Aalborg|Aars|{parish}|{n}|Lb. 1|{place}|1|Huus|Jens Hansen|M|40|1|||1840"


def test_the_parish_column_wins_over_the_places_and_its_most_common_value_is_taken(tmp_path):
    # Two of three rows say Haubro; every place name is in Vejby. The file's own column decides.
    rows = [_parish_row("C1111", 1, "Haubro"), _parish_row("C1111", 2, "Aars"), _parish_row("C1111", 3, "Haubro")]
    (tmp_path / "haubro.csv").write_text("\n".join([RESEARCH_HEADER, *rows]) + "\n", encoding="utf-8")
    result = run_pipeline([tmp_path], keep_clean=True)
    assert [(d.entry_number, d.meta.get("SOGN")) for d in result.deliveries] == [("C1111", "Haubro")]
    # Without a parish column the places decide, and 'Vejby By' is in Vejby.
    header = RESEARCH_HEADER.replace("|sogn|", "|x_sogn|")
    (tmp_path / "haubro.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    result = run_pipeline([tmp_path], keep_clean=True)
    assert [(d.entry_number, d.meta.get("SOGN")) for d in result.deliveries] == [("C1111", "Vejby")]


def test_rows_without_an_entry_number_are_the_delivery_named_by_the_file(tmp_path):
    rows = [_parish_row("C1111", 1, "Aars"), _parish_row("", 2, "Aars"), _parish_row("C1111", 3, "Aars")]
    (tmp_path / "aars_extract.csv").write_text("\n".join([RESEARCH_HEADER, *rows]) + "\n", encoding="utf-8")
    result = run_pipeline([tmp_path], keep_clean=True)
    assert [(d.entry_number, d.rows) for d in result.deliveries] == [("C1111", 2), ("aars_extract", 1)]


def test_entry_numbers_written_without_their_letter_are_one_kip_number(tmp_path):
    # '2710' and 'K2710' are the same KIP number; 'k2710b' keeps its sub-letter.
    rows = [_parish_row("K2710", 1, "Aars"), _parish_row("2710", 2, "Aars"), _parish_row("k2710b", 3, "Aars")]
    (tmp_path / "aars.csv").write_text("\n".join([RESEARCH_HEADER, *rows]) + "\n", encoding="utf-8")
    result = run_pipeline([tmp_path], keep_clean=True)
    assert [(d.entry_number, d.rows) for d in result.deliveries] == [("K2710", 2), ("K2710b", 1)]


def test_every_delivery_of_a_split_file_keeps_the_files_extra_columns(tmp_path):
    from kiip_import.delivery import load_loose_file
    from kiip_import.discovery import LooseFile

    header = RESEARCH_HEADER + "|trossamfund"
    rows = [_parish_row("C1111", 1, "Aars") + "|folkekirken", _parish_row("C2222", 1, "Aars") + "|katolsk"]
    path = tmp_path / "aars.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    deliveries = load_loose_file(LooseFile(path))
    # amt, herred and sogn make the delivery's metadata and are kept as read too
    extra = ["amt", "herred", "sogn", "trossamfund"]
    assert [(d.entry_number, d.extra_columns) for d in deliveries] == [("C1111", extra), ("C2222", extra)]
    assert [d.table.column("trossamfund").to_pylist() for d in deliveries] == [["folkekirken"], ["katolsk"]]
