"""Births, deaths and censuses in one folder, through one run of each command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
from conftest import kbd_row, write_delivery

from ingest.pipeline import run_pipeline
from validators.sources import KBD

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PICK = {"kbf": ("K2700dok.csv", "K2700fd.csv"), "kbd": ("K2752dok.csv", "K2752dd.csv"),
        "ft": ("K3803dok.csv", "K3803ft.csv", "D9001.csv")}


def mixed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    for name, files in PICK.items():
        (folder / name).mkdir(parents=True)
        for f in files:
            shutil.copy(FIXTURES / name / f, folder / name / f)
    return folder


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest.cli", *args], capture_output=True, text=True)


def test_validate_and_clean_take_all_three_sources(tmp_path):
    folder = mixed_folder(tmp_path)
    proc = run("validate", str(folder), "--json", str(tmp_path / "v.json"))
    assert "Traceback" not in proc.stderr
    report = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
    assert {d["entry_number"]: d["source"] for d in report["deliveries"]} == {
        "K2700": "KBF", "K2752": "KBD", "K3803": "FT", "D9001": "FT"}
    proc = run("clean", str(folder), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr  # the picked deliveries hold no error
    out = tmp_path / "out"
    rows = {d["entry_number"]: d["rows"] for d in json.loads((out / "findings.json").read_text())["deliveries"]}
    assert len(pd.read_parquet(out / "kbf.parquet")) == rows["K2700"]
    assert len(pd.read_parquet(out / "kbd.parquet")) == rows["K2752"]
    ft = pd.read_parquet(out / "ft.parquet")
    assert len(ft) == rows["K3803"] + rows["D9001"]
    children = pd.read_parquet(out / "ft_children.parquet")
    assert set(children["INDTASTNINGSNUMMER"]) == {"K3803", "D9001"}
    assert {"BARN_LOEBE_NR", "FAR_LOEBE_NR", "MOR_LOEBE_NR", "FAR_NAVN_SAMLET", "MOR_FOEDSELSDAG"} <= set(children)
    assert (out / "report.html").is_file()


def test_source_is_told_by_the_header_when_kilde_is_missing(tmp_path):
    rows = [kbd_row(i, i) for i in range(1, 6)]
    # No KILDE in the metadata and a births file name: the header says deaths.
    write_delivery(tmp_path, rows, entry="K2750", source=KBD, meta={"KILDE": ""}, data_suffix="fd")
    result = run_pipeline([tmp_path])
    assert [(d.entry_number, d.source) for d in result.deliveries] == [("K2750", "KBD")]
    assert [f for f in result.findings_json()["findings"] if f["severity"] == "error"] == []
