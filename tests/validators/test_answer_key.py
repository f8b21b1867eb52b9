"""The bundled fixture set against its answer key: every planted defect is reported where
it was planted, with the planted code, and nothing else is reported as a problem."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from answer_keys import delivery_level, false_alarms, matches, wrong_code_sets

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "kbf"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("validate") / "findings.json"
    proc = subprocess.run([sys.executable, "-m", "ingest.cli", "validate", str(FIXTURES), "--json", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr  # the set has error-severity defects
    assert "Traceback" not in proc.stderr
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def planted() -> list[dict]:
    return json.loads((FIXTURES / "answer_key.json").read_text(encoding="utf-8"))["planted"]


def _delivery_level(code: str) -> bool:
    return delivery_level(code)


def _matches(p: dict, f: dict) -> bool:
    return matches(p, f)


def test_json_shape(report):
    assert set(report) >= {"deliveries", "findings"}
    keys = {"code", "severity", "source", "entry_number", "file", "line", "loebe_nr", "field", "page", "message",
            "suggestion", "auto_fix"}
    assert all(set(f) == keys for f in report["findings"])
    for d in report["deliveries"]:
        assert {"entry_number", "source", "files", "rows", "findings"} <= set(d)
        assert all(len(f["sha256"]) == 64 for f in d["files"])


def test_every_planted_defect_is_reported(report, planted):
    missing = [p for p in planted if not any(_matches(p, f) for f in report["findings"])]
    assert missing == []


def test_suggestions_match_the_key(report, planted):
    wrong = []
    for p in planted:
        if p.get("suggestion") is None or p["line"] is None:
            continue
        offered = [f["suggestion"] for f in report["findings"] if _matches(p, f)]
        if p["suggestion"] not in offered:
            wrong.append((p["file"], p["line"], p["code"], p["suggestion"], offered))
    assert wrong == []


def test_no_problem_reported_where_nothing_was_planted(report, planted):
    """No finding of any severity (notes too) where nothing was planted."""
    assert false_alarms(planted, report["findings"]) == []


def test_each_planted_line_has_exactly_its_codes(report, planted):
    """On a planted line: its planted codes and only what the key allows beside them."""
    assert wrong_code_sets(planted, report["findings"]) == {}
    assert all(a["reason"] for p in planted for a in p.get("also_allowed", []))


def test_the_clean_delivery_is_clean(report):
    clean = [d for d in report["deliveries"] if d["entry_number"] == "K2700"]
    assert clean and clean[0]["findings"] == {"error": 0, "warning": 0, "info": 0}
