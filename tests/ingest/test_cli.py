"""The command line as a user meets it: exit codes, one-line errors, files under fixed names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import kbf_row, write_delivery

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "kbf"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_clean_delivery_exits_0(tmp_path, clean_rows):
    write_delivery(tmp_path / "in", clean_rows)
    proc = run("validate", str(tmp_path / "in"), "--json", str(tmp_path / "out.json"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "out.json").read_text())["deliveries"][0]["rows"] == 10


def test_errors_exit_1(tmp_path, clean_rows):
    clean_rows[3]["FOEDSELSDATO"] = "19210229"
    write_delivery(tmp_path / "in", clean_rows)
    proc = run("validate", str(tmp_path / "in"), "--json", str(tmp_path / "out.json"))
    assert proc.returncode == 1
    findings = json.loads((tmp_path / "out.json").read_text())["findings"]
    assert [(f["code"], f["line"], f["loebe_nr"]) for f in findings] == [("DATE_INVALID", 5, 4)]


@pytest.mark.parametrize("args, words", [
    (["validate", "/no/such/folder", "--json", "x.json"], "no such file or folder"),
    (["validate", "{empty}", "--json", "x.json"], "no CSV files found"),
    (["validate", "{empty}"], "--json"),
    (["frobnicate"], "invalid choice"),
    (["clean", "{fixtures}", "--out", "/proc/no-permission/here"], "cannot create folder"),
])
def test_cannot_run_exits_2_with_one_line(tmp_path, args, words):
    (tmp_path / "empty").mkdir()
    args = [a.format(empty=tmp_path / "empty", fixtures=FIXTURES) for a in args]
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], proc.stderr


def test_clean_writes_tables_under_fixed_names(tmp_path):
    proc = run("clean", str(FIXTURES), "--out", str(tmp_path / "out"))
    assert proc.returncode == 1  # the fixture set holds error-severity defects
    out = tmp_path / "out"
    for name in ("kbf.parquet", "corrections.parquet", "findings.json", "report.html"):
        assert (out / name).is_file(), name
    kbf = pd.read_parquet(out / "kbf.parquet")
    assert {"INDTASTNINGSNUMMER", "LOEBE_NR", "TIL_LINKAGE", "DOED_UDEN_NAVN", "FOEDSELSDATO",
            "FOEDSELSDATO_ISO", "EFTERNAVN_UDEN_KLAMMER", "EFTERNAVN_KLAMMER", "MODERS_ALDER_REN"} <= set(kbf)
    rows = sum(d["rows"] for d in json.loads((out / "findings.json").read_text())["deliveries"])
    assert len(kbf) == rows


def test_clean_as_csv(tmp_path, clean_rows):
    write_delivery(tmp_path / "in", clean_rows)
    proc = run("clean", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(tmp_path / "out" / "kbf.csv", sep=";", dtype=str)
    assert table["LOEBE_NR"].tolist() == [str(i) for i in range(1, 11)]
    assert (tmp_path / "out" / "corrections.csv").is_file()


def test_demo_runs_on_the_bundled_fixtures(tmp_path):
    proc = run("demo", "--out", str(tmp_path / "demo"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "demo" / "report" / "report.html").is_file()
    assert (tmp_path / "demo" / "tables" / "kbf.parquet").is_file()
    assert "report.html" in proc.stdout


def test_unreadable_folder_is_reported_not_crashed(tmp_path, clean_rows):
    write_delivery(tmp_path / "in", clean_rows)
    (tmp_path / "in" / "notes.csv").write_text("just;some\ntext;here\n")
    proc = run("validate", str(tmp_path / "in"), "--json", str(tmp_path / "o.json"))
    assert proc.returncode == 0, proc.stderr  # an unrecognised file is a warning, not an error
    findings = json.loads((tmp_path / "o.json").read_text())["findings"]
    assert [(f["code"], f["file"]) for f in findings] == [("FILE_UNRECOGNISED", "notes.csv")]


def test_kbf_row_helper_is_clean():
    assert kbf_row(1, 1)["KILDE"] == "Fødte"


def test_a_census_only_run_writes_no_table_for_absent_sources(tmp_path):
    from ingest.cli import main

    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "ft"
    rc = main(["clean", str(fixtures), "--out", str(tmp_path / "out"), "-v"])  # -v after the subcommand
    assert rc in (0, 1)
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert "ft.parquet" in names and "kbf.parquet" not in names and "kbd.parquet" not in names
