"""The QA report's census households section: its figures are the clean tables' counts,
the planted household defects are listed, and a run without censuses has no section."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ingest.pipeline import run_pipeline
from ingest.report import households, render_report

REPO = Path(__file__).resolve().parents[2]
FT_FIXTURES = REPO / "fixtures" / "ft"
REAL = REPO.parent / "shared" / "realdata" / "ddd-census-vejby"
# The delivery table's columns, in the order the template prints them.
COLUMNS = ("entry", "parish", "years", "persons", "households", "children", "both", "both_share", "one",
           "one_share", "none", "none_share", "not_placed", "to_check")
RULE_TITLES = {"ROLLE_REGEL": "persons", "HUSSTAND_REGEL": "households", "FORAELDRE_REGEL": "children"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest.cli", *args], capture_output=True, text=True, cwd=REPO)


def households_section(page: str) -> str:
    match = re.search(r'<section id="households">(.*?)</section>', page, flags=re.S)
    assert match, "households section missing"
    return match.group(1)


def texts(fragment: str, tag: str = "td|th") -> list[str]:
    """The text of each cell (``td`` or ``th``) in a piece of the page."""
    return [html.unescape(re.sub(r"<[^>]+>", "", m.group(2))).strip()
            for m in re.finditer(rf"<({tag})(?:\s[^>]*)?>(.*?)</\1>", fragment, flags=re.S)]


def tables(part: str) -> list[str]:
    return re.findall(r"<table[^>]*>(.*?)</table>", part, flags=re.S)


def body_rows(table: str) -> list[list[str]]:
    body = table.split("<tbody>", 1)[1]
    return [texts(r, "td") for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)]


def delivery_table(part: str) -> dict[str, dict[str, str]]:
    rows = body_rows(tables(part)[0])
    return {r[0]: dict(zip(COLUMNS, r)) for r in rows}


def number(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory):
    """``mgr-ingest clean`` on the census fixtures: the tables, the findings and the report."""
    out = tmp_path_factory.mktemp("ft-clean")
    proc = cli("clean", str(FT_FIXTURES), "--out", str(out))
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    page = (out / "report.html").read_text(encoding="utf-8")
    return (pd.read_parquet(out / "ft.parquet"), pd.read_parquet(out / "ft_children.parquet"),
            json.loads((out / "findings.json").read_text(encoding="utf-8")), page)


def test_household_figures_are_the_clean_tables_counts(cleaned):
    ft, children, _, page = cleaned
    part = households_section(page)
    shown = delivery_table(part)
    assert set(shown) == set(ft["INDTASTNINGSNUMMER"]) | {"All"}
    far, mor = children["FAR_LOEBE_NR"].notna(), children["MOR_LOEBE_NR"].notna()
    for entry, persons in ft.groupby("INDTASTNINGSNUMMER"):
        row = shown[entry]
        mine = children["INDTASTNINGSNUMMER"] == entry
        n = int(mine.sum())
        both, one, none = int((mine & far & mor).sum()), int((mine & (far ^ mor)).sum()), int((mine & ~far & ~mor).sum())
        assert number(row["persons"]) == len(persons)
        assert number(row["households"]) == persons["HUSSTAND_ID"].nunique()
        assert number(row["children"]) == n and both + one + none == n
        assert (number(row["both"]), number(row["one"]), number(row["none"])) == (both, one, none)
        assert (row["both_share"], row["one_share"], row["none_share"]) == (
            f"{both / n:.1%}", f"{one / n:.1%}", f"{none / n:.1%}")
        assert number(row["not_placed"]) == int(persons["STILLING_KODE"].isna().sum())
    assert number(shown["All"]["persons"]) == len(ft) and number(shown["All"]["children"]) == len(children)
    # The answer key's household counts, as a check that the fixtures are what we think.
    key = json.loads((FT_FIXTURES / "answer_key.json").read_text(encoding="utf-8"))
    assert {d["entry_number"]: number(shown[d["entry_number"]]["households"]) for d in key["deliveries"]} == {
        d["entry_number"]: d["households"] for d in key["deliveries"]}


def test_rule_counts_are_the_clean_tables_counts(cleaned):
    ft, children, _, page = cleaned
    part = households_section(page)
    first = ft.drop_duplicates(["INDTASTNINGSNUMMER", "HUSSTAND_ID"])
    counted = {"ROLLE_REGEL": ft, "HUSSTAND_REGEL": first, "FORAELDRE_REGEL": children}
    for column, frame in counted.items():
        heading = re.search(rf"\({RULE_TITLES[column]} by <code>{column}</code>\)", part)
        assert heading, column
        table = tables(part[heading.end():])[0]
        names = [n.replace(" + ", ",") for n in texts(table.split("</thead>")[0], "th")[1:]]
        expected = frame[column].fillna("").replace("", "none").groupby(frame["INDTASTNINGSNUMMER"]).value_counts()
        got = {}
        for row in body_rows(table):
            if row[0] != "All":
                got.update({(row[0], name): number(c) for name, c in zip(names, row[1:]) if number(c)})
        assert got == {k: int(v) for k, v in expected.items()}, column


def test_planted_household_defects_are_listed_by_their_keys(cleaned):
    ft, children, findings, page = cleaned
    part = households_section(page)
    key = json.loads((FT_FIXTURES / "answer_key.json").read_text(encoding="utf-8"))
    planted = [p for p in key["planted"] if p["code"] in ("HOUSEHOLD_UNRESOLVED", "HOUSEHOLD_MANUAL")]
    assert {p["code"] for p in planted} == {"HOUSEHOLD_UNRESOLVED", "HOUSEHOLD_MANUAL"}
    articles = re.findall(r'<article class="household">(.*?)</article>', part, flags=re.S)
    listed = {re.search(r"household (\S+) &middot;", a).group(1): a for a in articles}
    for p in planted:
        row = ft[(ft["INDTASTNINGSNUMMER"] == p["entry_number"]) & (ft["LOEBE_NR"] == p["loebe_nr"])].iloc[0]
        article = listed[row["HUSSTAND_ID"]]
        members = ft[ft["HUSSTAND_ID"] == row["HUSSTAND_ID"]]
        heading = html.unescape(re.search(r"<h4>(.*?)</h4>", article, flags=re.S).group(1))
        assert p["entry_number"] in heading and p["file"] in heading
        assert f"LOEBE_NR {members['LOEBE_NR'].min()}\u2013{members['LOEBE_NR'].max()}" in heading
        # Every child of the household without a resolved parent is marked at its running number.
        orphans = children[(children["HUSSTAND_ID"] == row["HUSSTAND_ID"]) & children["FAR_LOEBE_NR"].isna()
                           & children["MOR_LOEBE_NR"].isna()]
        assert len(orphans)
        marked = {int(r[0]) for r in body_rows(article) if r[-1] == "no parent resolved"}
        assert marked == set(orphans["BARN_LOEBE_NR"].astype(int))
    manual = next(p for p in planted if p["code"] == "HOUSEHOLD_MANUAL")
    manual_id = ft[(ft["INDTASTNINGSNUMMER"] == "K3801") & (ft["LOEBE_NR"] == manual["loebe_nr"])]["HUSSTAND_ID"].iloc[0]
    assert "household rule manuel" in listed[manual_id]
    # Every household the findings name as unresolved or manual is listed, and no household is listed twice.
    named = {f["message"].split()[1].rstrip(":") for f in findings["findings"]
             if f["code"] in ("HOUSEHOLD_UNRESOLVED", "HOUSEHOLD_MANUAL")}
    assert named <= set(listed) and len(listed) == len(articles)
    to_check = sum(number(r["to_check"]) for e, r in delivery_table(part).items() if e != "All")
    assert to_check == len(articles)


def test_validate_report_shows_the_same_households(cleaned, tmp_path):
    """``validate --html`` keeps no clean table; its section is the same as ``clean``'s."""
    *_, page = cleaned
    proc = cli("validate", str(FT_FIXTURES), "--json", str(tmp_path / "v.json"), "--html", str(tmp_path))
    assert "Traceback" not in proc.stderr, proc.stderr
    assert households_section((tmp_path / "report.html").read_text(encoding="utf-8")) == households_section(page)


def test_long_household_lists_are_cut_with_a_note(monkeypatch):
    monkeypatch.setattr(households, "MAX_HOUSEHOLDS_TOTAL", 1)
    part = households_section(render_report(run_pipeline([FT_FIXTURES], progress=False, keep_clean=False)))
    assert part.count('<article class="household">') == 1
    assert "Showing 1 of 3 households to check." in part


def test_run_without_census_has_no_household_section():
    page = render_report(run_pipeline([REPO / "fixtures" / "kbf"], progress=False, keep_clean=False))
    body = page.split("</style>", 1)[1]
    assert "households" not in body.lower() and "census" not in body.lower()


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real census files not found at {REAL}")
def test_real_census_shares_agree_with_the_children_table():
    """The share the report prints for the three real downloads is the one the census tests
    print (tests/kiip_import/test_census_download.py), from the same children table."""
    result = run_pipeline([REAL], progress=False, keep_clean=True)
    children = pd.concat(result.tables["ft_children"], ignore_index=True)
    shown = delivery_table(households_section(render_report(result)))
    for entry, group in children.groupby("INDTASTNINGSNUMMER"):
        both = int((group["FAR_LOEBE_NR"].notna() & group["MOR_LOEBE_NR"].notna()).sum())
        row = shown[entry]
        assert (number(row["both"]), number(row["children"]), row["both_share"]) == (
            both, len(group), f"{both / len(group):.1%}")
    assert set(shown) == {"C6987", "C5799", "D7013", "All"}
