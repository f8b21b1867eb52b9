"""The death-book (KBD) and census (FT) fixture sets against their answer keys: every
planted defect is reported where it was planted, nothing else is reported as a problem,
and for the censuses every child gets the parents the key says the rules must find."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from answer_keys import delivery_level, false_alarms, matches, wrong_code_sets

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SETS = ("kbd", "ft")
CLEAN_DELIVERY = {"kbd": "K2752", "ft": "K3803"}
SOURCE = {"kbd": "KBD", "ft": "FT"}


@pytest.fixture(scope="module", params=SETS)
def fixture_set(request, tmp_path_factory) -> tuple[str, dict, dict]:
    name = request.param
    out = tmp_path_factory.mktemp(f"clean-{name}")
    proc = subprocess.run([sys.executable, "-m", "ingest.cli", "clean", str(FIXTURES / name), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr  # both sets hold error-severity defects
    assert "Traceback" not in proc.stderr
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    key = json.loads((FIXTURES / name / "answer_key.json").read_text(encoding="utf-8"))
    report["_out"] = str(out)
    return name, report, key


def _delivery_level(code: str) -> bool:
    return delivery_level(code)


def _matches(p: dict, f: dict) -> bool:
    return matches(p, f)


def test_every_delivery_is_read_as_its_source(fixture_set):
    name, report, key = fixture_set
    assert {d["entry_number"] for d in report["deliveries"]} == {d["entry_number"] for d in key["deliveries"]}
    assert {d["source"] for d in report["deliveries"]} == {SOURCE[name]}


def test_every_planted_defect_is_reported(fixture_set):
    _, report, key = fixture_set
    missing = [(p["file"], p["line"], p["code"]) for p in key["planted"]
               if not any(_matches(p, f) for f in report["findings"])]
    assert missing == []


def test_suggestions_match_the_key(fixture_set):
    _, report, key = fixture_set
    wrong = []
    for p in key["planted"]:
        if p.get("suggestion") is None or p["line"] is None:
            continue
        offered = [f["suggestion"] for f in report["findings"] if _matches(p, f)]
        if p["suggestion"] not in offered:
            wrong.append((p["file"], p["line"], p["code"], p["suggestion"], offered))
    assert wrong == []


def test_no_problem_reported_where_nothing_was_planted(fixture_set):
    """No finding of any severity (notes too) where nothing was planted."""
    _, report, key = fixture_set
    assert false_alarms(key["planted"], report["findings"]) == []


def test_each_planted_line_has_exactly_its_codes(fixture_set):
    _, report, key = fixture_set
    assert wrong_code_sets(key["planted"], report["findings"]) == {}


def test_traps_stay_silent(fixture_set):
    _, report, key = fixture_set
    at = {(f["file"], f["line"]) for f in report["findings"] if f["severity"] != "info"}
    planted = {(p["file"], p["line"]) for p in key["planted"]}
    noisy = [(t["file"], t["line"], t["kind"]) for t in key["clean_traps"]
             if (t["file"], t["line"]) in at and (t["file"], t["line"]) not in planted]
    assert noisy == []


def test_the_clean_delivery_is_clean(fixture_set):
    name, report, _ = fixture_set
    clean = [d for d in report["deliveries"] if d["entry_number"] == CLEAN_DELIVERY[name]]
    assert clean and clean[0]["findings"] == {"error": 0, "warning": 0, "info": 0}


def test_clean_table_holds_every_row(fixture_set):
    name, report, _ = fixture_set
    table = pd.read_parquet(Path(report["_out"]) / f"{name}.parquet")
    assert len(table) == sum(d["rows"] for d in report["deliveries"])
    assert table["INDTASTNINGSNUMMER"].notna().all() and table["LOEBE_NR"].notna().all()
    assert {"TIL_LINKAGE", "BLOKERENDE_FEJL", "KILDEFIL", "LINJE"} <= set(table)


@pytest.mark.parametrize("fixture_set", ["ft"], indirect=True)
def test_census_children_get_the_parents_of_the_key(fixture_set):
    _, report, key = fixture_set
    children = pd.read_parquet(Path(report["_out"]) / "ft_children.parquet")

    def number(value):
        return None if pd.isna(value) else int(value)

    got = {(r.KILDEFIL, int(r.BARN_LOEBE_NR)): (number(r.FAR_LOEBE_NR), number(r.MOR_LOEBE_NR))
           for r in children.itertuples()}
    expected = {(c["file"], c["barn_loebe_nr"]): (c["far_loebe_nr"], c["mor_loebe_nr"]) for c in key["children"]}
    assert set(got) == set(expected)
    wrong = {k: (expected[k], got[k]) for k in expected if got[k] != expected[k]}
    assert wrong == {}
    adopted = children[children["FAMILIEROLLE"] == "Adoptivbarn"]
    assert len(adopted) and adopted["ADOPTIVBARN"].all() and adopted["FAR_LOEBE_NR"].notna().all()
    # Every resolved child has its parents' data beside it.
    resolved = children[children["MOR_LOEBE_NR"].notna()]
    assert resolved["MOR_NAVN_SAMLET"].notna().all()
