"""The HTML QA report: what archive staff must be able to read off the page."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest

from ingest.pipeline import DeliverySummary, RunResult, run_pipeline
from ingest.report import sections, write_report
from validators.findings import FINDING_COLUMNS

META_HEADER = ("INDTASTNINGSNUMMER;KILDE;SOGN;HERRED;AMT;FRA_AAR;TIL_AAR;INDTASTER;INDTASTNINGSDATO;"
               "ANTAL_POSTER;DEFINITIONSFIL")
KBF_HEADER = (
    "INDTASTNINGSNUMMER;KILDE;LOEBE_NR;KILDEANGIVELSE;KILDE_SIDE;KILDE_LOEBE_NR;KALENDERAAR;FOEDSELSDATO;"
    "FOEDESTED;FORNAVN;MELLEMNAVNE;EFTERNAVN;KOEN;HJEMMEDAABSDATO;KIRKEDAABSDATO;DAABSSTED;AEGTE_UAEGTE;"
    "FLERFOEDSEL_ANTAL;FADERS_STILLING;FADERS_FORNAVN;FADERS_MELLEMNAVNE;FADERS_EFTERNAVN;FADERS_STEDNAVN;"
    "FADERS_FOEDSELSDAG;FADERS_FOEDESTED;MODERS_STILLING;MODERS_FORNAVN;MODERS_MELLEMNAVNE;MODERS_EFTERNAVN;"
    "MODERS_PIGENAVN;MODERS_STEDNAVN;MODERS_FOEDSELSDAG;MODERS_FOEDESTED;MODERS_ALDER;VIELSE_DATO;"
    "VIELSE_STED;FOERSTE_FADDERS_LBNR;ANTAL_FADDERE;ANMAERKNINGER;KILDEBEMAERKNINGER;"
    "INDTASTERS_BEMAERKNINGER;LOEBENR_KONTROL"
).split(";")

BOYS = "Jens Hans Niels Carl Poul Erik Knud Svend Aage Arne Kaj Bent".split()
GIRLS = "Anna Karen Inger Else Grete Ellen Ruth Edith Gerda Ingrid Bodil Erna".split()
SURNAMES = ["Hansen", "Jensen", "Nielsen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
            "Rasmussen", "Jørgensen", "Petersen", "Madsen"]
FATHERS = ["Ole", "Lars", "Peder", "Anders", "Morten", "Søren", "Jakob", "Mads", "Thomas", "Rasmus", "Jørgen",
           "Frederik"]
MOTHERS = ["Maren", "Kirsten", "Ane", "Mette", "Johanne", "Dorthea", "Kirstine", "Sofie", "Marie", "Helene",
           "Laura", "Emma"]


def birth(year: int, sex: str, number: int, month: int, **changes) -> dict:
    """One clean KBF row: entry ``number`` of the (year, sex) section, born in ``month``."""
    i = number - 1
    shift = 0 if sex == "M" else 5  # girls get other families than the boys of the same number
    family = SURNAMES[(i + shift) % 12]
    row = dict.fromkeys(KBF_HEADER, "")
    row.update(
        KILDE="Fødte", KILDEANGIVELSE="Kirkebog 1920-1930", KILDE_LOEBE_NR=str(number),
        KALENDERAAR=str(year), FOEDSELSDATO=f"{year}{month:02d}{(i % 27) + 1:02d}", FOEDESTED="Vejby",
        FORNAVN=(BOYS if sex == "M" else GIRLS)[i % 12], EFTERNAVN=family, KOEN=sex,
        FADERS_FORNAVN=FATHERS[(i + shift) % 12], FADERS_EFTERNAVN=family,
        MODERS_FORNAVN=MOTHERS[(i + shift + 2) % 12], MODERS_EFTERNAVN=family,
    )
    row.update(changes)
    return row


def write_delivery(folder: Path, entry: str, rows: list[dict], *, parish: str = "Vejby", years=(1925, 1925),
                   per_page: int = 4) -> None:
    """``Knnnndok.csv`` + ``Knnnnfd.csv``: running numbers 1..N and pages of ``per_page`` entries
    are filled in unless a row sets them."""
    meta = ";".join([entry, "Fødte", parish, "Holbo", "Frederiksborg", str(years[0]), str(years[1]),
                     "tester", "20240115", str(len(rows)), "KBF.def"])
    lines = [";".join(KBF_HEADER)]
    for n, row in enumerate(rows, start=1):
        filled = {"INDTASTNINGSNUMMER": entry, "LOEBE_NR": str(n), "KILDE_SIDE": str((n - 1) // per_page + 1)}
        row = {**row, **{k: v for k, v in filled.items() if not row.get(k)}}
        lines.append(";".join(row[c] for c in KBF_HEADER))
    lines += ["", META_HEADER, meta]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{entry}fd.csv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    (folder / f"{entry}dok.csv").write_text(f"{META_HEADER}\r\n{meta}\r\n", encoding="utf-8")


def book_year(year: int, *, skip_numbers=(), skip_months=(), per_sex: int = 12) -> list[dict]:
    """Boys then girls of one registration year, spread over the months not skipped."""
    months = [m for m in range(1, 13) if m not in skip_months]
    rows = []
    for sex in ("M", "K"):
        for number in range(1, per_sex + 1):
            if (sex, number) not in skip_numbers:
                rows.append(birth(year, sex, number, months[(number - 1) % len(months)]))
    return rows


def render(result: RunResult, tmp_path: Path) -> str:
    path = write_report(result, tmp_path / "report")
    assert path == tmp_path / "report" / "report.html"
    return path.read_text(encoding="utf-8")


def section(page: str, anchor: str) -> str:
    """The HTML of one <section id=...>."""
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', page, flags=re.S)
    assert match, f"section {anchor} missing"
    return match.group(1)


def cell_texts(fragment: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", fragment, flags=re.S)]


@pytest.fixture()
def planted(tmp_path: Path) -> RunResult:
    """K0101: boy no. 7 of 1925 missing, one boy keyed twice, no births at all in June."""
    rows = book_year(1925, skip_numbers={("M", 7)}, skip_months={6})
    original = next(r for r in rows if r["KOEN"] == "M" and r["KILDE_LOEBE_NR"] == "3")
    twin = dict(original, FORNAVN=original["FORNAVN"] + "s", MODERS_FORNAVN="Maren <i>&</i>")
    rows.insert(rows.index(original) + 1, twin)
    write_delivery(tmp_path / "in", "K0101", rows)
    write_delivery(tmp_path / "in", "K0102", book_year(1925), parish="Tibirke")
    return run_pipeline([tmp_path / "in"], progress=False, keep_clean=False)


def test_report_shows_the_planted_gap(planted, tmp_path):
    gaps = section(render(planted, tmp_path), "gaps")
    cells = cell_texts(gaps)
    assert "7" in cells  # the missing entry number
    assert "6 and 8" in cells  # between which entries
    assert "boys (M)" in cells and "1925" in cells and "K0101" in cells


def test_report_shows_both_rows_of_a_duplicate_side_by_side(planted, tmp_path):
    dup = planted.duplicates[0].iloc[0]
    part = section(render(planted, tmp_path), "duplicates")
    assert f"lines {dup['line_a']} and {dup['line_b']}" in part
    cells = cell_texts(part)
    first_names = cells[cells.index("First name (FORNAVN)") + 1:][:2]
    assert first_names == [dup["FORNAVN_a"], dup["FORNAVN_b"]]
    # The differing cells are highlighted, the equal ones not.
    assert re.search(r'<td class="diff">' + re.escape(html.escape(dup["FORNAVN_b"])) + "</td>", part)
    same = re.escape(dup["EFTERNAVN_a"])
    assert dup["EFTERNAVN_a"] == dup["EFTERNAVN_b"] and re.search(f"<td>{same}</td><td>{same}</td>", part)


def test_code_table_counts_match_the_findings(planted, tmp_path):
    part = section(render(planted, tmp_path), "codes")
    expected = planted.findings["code"].value_counts()
    rows = re.findall(r"<tr class=\"row-\w+\">(.*?)</tr>", part, flags=re.S)
    shown = {cell_texts(r)[0]: int(cell_texts(r)[3].replace(",", "")) for r in rows}
    assert shown == expected.to_dict()
    assert shown["KILDE_LOEBE_NR_GAP"] == 1 and shown["DUPLICATE_RECORD"] == 1
    # Titles and actions come from the catalogue.
    assert "Same event keyed twice" in part and "delete one of them" in part


def test_month_chart_is_inline_svg_and_names_the_empty_month(planted, tmp_path):
    page = render(planted, tmp_path)
    months = section(page, "months")
    assert "<svg" in months and "</svg>" in months
    assert "<script" not in page.lower()
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", months, flags=re.S) if "K0101" in r)
    assert "1925-06" in row
    assert "Tibirke" not in months.split("</svg>", 1)[1]  # K0102 has every month


def test_keyed_text_is_escaped(planted, tmp_path):
    page = render(planted, tmp_path)
    assert "<i>" not in page and "</i>" not in page
    assert "Maren &lt;i&gt;&amp;&lt;/i&gt;" in page


def test_deliveries_with_errors_come_first(tmp_path):
    write_delivery(tmp_path / "in", "K0201", book_year(1925))
    bad = book_year(1925)
    bad[2]["FOEDSELSDATO"] = "19251399"
    write_delivery(tmp_path / "in", "K0202", bad)
    result = run_pipeline([tmp_path / "in"], progress=False, keep_clean=False)
    part = section(render(result, tmp_path), "deliveries")
    assert part.index("K0202") < part.index("K0201")
    assert "K0202fd.csv" in part and "(utf-8)" in part


def test_run_of_unreadable_files_only_still_renders(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "K0301dok.csv").write_bytes(b"\x00\x01\x02binary\x00")
    (folder / "K0301fd.csv").write_bytes(b"\xff\xfe\x00\x00\x00")
    result = run_pipeline([folder], progress=False, keep_clean=False)
    page = render(result, tmp_path)
    assert "FILE_UNREADABLE" in section(page, "codes")
    assert "No gaps" in section(page, "gaps")
    assert "No possible duplicates" in section(page, "duplicates")
    assert "No dated entries" in section(page, "months")
    assert "K0301" in section(page, "findings")
    assert "errors that need fixing" in page


def test_clean_run_says_so(tmp_path):
    write_delivery(tmp_path / "in", "K0401", book_year(1925))
    result = run_pipeline([tmp_path / "in"], progress=False, keep_clean=False)
    assert len(result.findings) == 0
    page = render(result, tmp_path)
    assert "No findings: every delivery passed every check." in page
    assert "No findings." in section(page, "findings")


def _synthetic(deliveries: int, findings_each: int, *, years_apart: int = 0) -> RunResult:
    """A run built directly (no files), for sizes the pipeline would take long to make.
    Delivery i lacks month 2 + i % 10 of its year."""
    summaries, months = [], []
    for i in range(deliveries):
        entry, year = f"K{i:04d}", 1925 + i * years_apart
        summary = DeliverySummary(entry, "KBF", [{"name": f"{entry}fd.csv", "encoding": "cp1252"}], 100, 100,
                                  {"SOGN": f"Sogn {i}", "FRA_AAR": str(year), "TIL_AAR": str(year + 1)})
        summary.counts["warning"] = findings_each
        summaries.append(summary)
        months.append(pd.DataFrame({"entry_number": entry, "month": [f"{year}-{m:02d}" for m in range(1, 13)
                                                                       if m != 2 + i % 10],
                                    "entries": 8}))
    n = deliveries * findings_each
    findings = pd.DataFrame({c: [None] * n for c in FINDING_COLUMNS})
    findings["code"] = "AGE_MALFORMED"
    findings["severity"] = "warning"
    findings["entry_number"] = [f"K{i // findings_each:04d}" for i in range(n)]
    findings["file"] = "x.csv"
    findings["line"] = [i % findings_each + 2 for i in range(n)]
    findings["message"] = "age is not a number"
    findings["auto_fix"] = False
    return RunResult("2024-01-01T10:00:00+00:00", summaries, findings, per_month=months)


def test_long_lists_are_cut_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(sections, "MAX_FINDINGS_PER_DELIVERY", 5)
    page = render(_synthetic(3, 8), tmp_path)
    part = section(page, "findings")
    assert part.count('<td class="code"') == 15
    assert "3 of 8 findings of this delivery are left out" in part
    assert "9 findings not shown here; findings.json holds all of them." in part


def test_many_deliveries_get_one_grid_chart(tmp_path):
    page = render(_synthetic(40, 2), tmp_path)
    months = section(page, "months")
    assert months.count("<svg") == 1 and "One row per delivery" in months
    assert "1925-02" in months  # K0000 lacks February


def test_deliveries_from_different_decades_share_one_grid(tmp_path):
    months = section(render(_synthetic(15, 1, years_apart=3), tmp_path), "months")
    assert months.count("<svg") == 1 and "own first month" in months
    assert "1967-06" in months  # K0014 (1967) lacks June
