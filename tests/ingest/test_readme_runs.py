"""The README's command table, run as written: each command line is taken from the table,
its placeholders filled with the bundled fixtures, and run in a fresh folder; the exit code
must be one the table's last column allows, and what the table says it writes must be
there. (`serve` is started as docs/web.md says in tests/web/test_web_serve_command.py.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
FIXTURES = REPO / "fixtures"


def _table() -> dict[str, tuple[str, str, str]]:
    """Invocation as written (`mgr-ingest validate PATH... --json FILE [--html DIR]`) ->
    (its row's first words, what it does, exit codes)."""
    text = README.read_text(encoding="utf-8")
    table = text.split("| command | what it does | exit code |", 1)[1].split("\n\n", 1)[0]
    out = {}
    above = ""
    for line in table.splitlines():
        if not line.startswith("| `mgr-ingest"):
            continue
        first, does, codes = [c.strip() for c in line.strip().strip("|").split(" | ")]
        codes = above if codes == "as above" else codes
        above = codes
        for code in re.findall(r"`(mgr-ingest [^`]*)`", first):
            out[code.replace("\\|", "|")] = (first, does, codes)
    return out


TABLE = _table()


def _written(sub: str) -> str:
    found = [k for k in TABLE if k.split()[1] == sub]
    assert found, f"the README's table has no `mgr-ingest {sub}`"
    return found[0]


def _line(sub: str, values: dict[str, str]) -> list[str]:
    """The README's invocation of ``sub`` with its placeholders filled; optional parts in
    brackets are kept when a value is given for them, else left out."""
    written = _written(sub)
    line = written
    for part in re.findall(r"\[[^\[\]]*\]", written):
        line = line.replace(part, values.get(part, ""))
    for placeholder, value in values.items():
        if not placeholder.startswith("["):
            line = re.sub(rf"(?<![\w-]){re.escape(placeholder)}(?![\w.])", value, line, count=1)
    words = line.split()
    leftover = [w for w in words[1:] if re.fullmatch(r"[A-Z]+(\.\.\.)?", w)]
    assert not leftover, f"placeholders left in {line!r}"
    return words[1:]


def _allowed(sub: str) -> set[int]:
    return {int(d) for d in re.findall(r"\b([0-2])\b", TABLE[_written(sub)][2])}


def _run(cwd: Path, sub: str, values: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("MGR_DB_URL", None)
    env.pop("MGR_WORK", None)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    args = _line(sub, values) + list(extra)
    proc = subprocess.run([sys.executable, "-m", "ingest.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode in _allowed(sub), (args, proc.returncode, proc.stderr[-1500:])
    return proc


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A fresh folder with copies of the bundled deliveries, as a user would have them."""
    root = tmp_path_factory.mktemp("readme")
    for name in ("kbf", "kbd", "ft"):
        shutil.copytree(FIXTURES / name, root / name, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return root


def test_every_command_of_the_table_is_run_here():
    ran = {"validate", "clean", "crosscheck", "demo", "import", "run", "status", "tables", "ocr", "stats", "backup",
           "restore", "withdraw"}
    # schedule (a foreground loop), names/places (docs/names_and_places.md), serve and user
    # (tests/web/test_web_serve_command.py) are run by the tests named beside them
    elsewhere = {"schedule", "names", "places", "serve", "user"}
    listed = {k.split()[1] for k in TABLE}
    assert listed <= ran | elsewhere, sorted(listed - ran - elsewhere)


def test_demo_writes_what_the_readme_says(folder):
    _run(folder, "demo", {"[--out DIR]": "--out demo"})
    text = README.read_text(encoding="utf-8")
    promised = re.search(r"`mgr-ingest demo` prints where the QA report \(`([^`]+)`\) and the tables\s*\(([^)]*)\)",
                         text, re.S)
    assert promised, "the README no longer says what demo writes"
    assert (folder / "demo" / promised.group(1)).is_file()
    names = re.findall(r"`([^`]+)`", promised.group(2))
    first = Path(names[0])
    for name in names:
        path = Path(name) if "/" in name else first.parent / name
        assert (folder / "demo" / path).is_file(), path


def test_validate_and_clean_as_written(folder):
    _run(folder, "validate", {"PATH...": "kbf", "FILE": "v.json", "[--html DIR]": "--html v-report"})
    doc = json.loads((folder / "v.json").read_text(encoding="utf-8"))
    assert doc["findings"] and (folder / "v-report" / "report.html").is_file()
    # clean on deaths alone: kbd and the run's files, and no table for a source not in the run
    _run(folder, "clean", {"PATH...": "kbd", "DIR": "c"})
    for name in ("kbd.parquet", "corrections.parquet", "findings.json", "report.html"):
        assert (folder / "c" / name).is_file(), name
    assert not (folder / "c" / "kbf.parquet").exists() and not (folder / "c" / "ft.parquet").exists()
    _run(folder, "clean", {"PATH...": "ft", "DIR": "c-csv", "[--format parquet|csv]": "--format csv"})
    assert (folder / "c-csv" / "ft.csv").is_file() and (folder / "c-csv" / "ft_children.csv").is_file()


def test_import_twice_run_status_tables_stats_backup_restore(folder):
    work = ["--work", "w"]
    first = _run(folder, "import", {"PATH...": "kbf"}, *work)
    status = json.loads(_run(folder, "status", {"[--json]": "--json"}, *work).stdout)
    # the same bytes twice are stored once: no new rows, no new notes, no new version
    again = _run(folder, "import", {"PATH...": "kbf"}, *work)
    m = re.search(r"(\d+) imported, 0 new versions, 0 duplicates, (\d+) rejected", first.stderr)
    n = int(m.group(1)) + int(m.group(2))  # every delivery of the first run, the rejected ones too
    assert f"0 imported, 0 new versions, {n} duplicates, 0 rejected" in again.stderr
    assert "0 rows stored" in again.stderr and "imported" in first.stderr
    assert json.loads(_run(folder, "status", {"[--json]": "--json"}, *work).stdout)["by_status"] == status["by_status"]
    # one inbox pass takes a delivery in and its files out of the inbox
    inbox = folder / "inbox"
    inbox.mkdir()
    for f in (folder / "kbd").glob("K*.csv"):
        shutil.copy(f, inbox / f.name)
    _run(folder, "run", {"DIR": "inbox"}, *work, "--settle", "0")
    assert not list(inbox.glob("K*.csv"))
    after = json.loads(_run(folder, "status", {"[--json]": "--json"}, *work).stdout)
    assert after["by_status"]["current"]["deliveries"] > status["by_status"]["current"]["deliveries"]
    # the store's tables, then births and deaths checked against each other in the store
    _run(folder, "tables", {"DIR": "t"}, *work)
    for name in ("kbf.parquet", "kbd.parquet", "corrections.parquet", "findings.parquet"):
        assert (folder / "t" / name).is_file(), name
    _run(folder, "crosscheck", {"PATH...": "kbf kbd", "FILE": "x.json"})
    assert "findings" in json.loads((folder / "x.json").read_text(encoding="utf-8"))
    _run(folder, "stats", {"[PATH...]": "kbf", "FILE": "s.csv"})
    assert (folder / "s.csv").read_text(encoding="utf-8").strip()
    # a delivery taken back: no longer current, counted as withdrawn
    entry = next(d["entry_number"] for d in after["deliveries"] if d["status"] == "current")
    said = _run(folder, "withdraw", {"ENTRY": entry, "TEXT": "wrong-book"}, *work)
    assert f"{entry} version 1 withdrawn" in said.stderr
    after = json.loads(_run(folder, "status", {"[--json]": "--json"}, *work).stdout)
    assert after["by_status"]["withdrawn"]["deliveries"] == 1
    _run(folder, "backup", {"FILE": "b.tar"}, *work)
    _run(folder, "restore", {"FILE": "b.tar", "DIR": "w2"})
    restored = json.loads(_run(folder, "status", {"[--json]": "--json"}, "--work", "w2").stdout)
    assert restored["by_status"] == after["by_status"]


def test_ocr_as_written(folder):
    scan = folder / "page.jpg"
    shutil.copy(FIXTURES / "scans" / "kbf_clean_p0037.jpg", scan)
    _run(folder, "ocr", {"PAGE...": "page.jpg", "FILE": "o.json"})
    doc = json.loads((folder / "o.json").read_text(encoding="utf-8"))
    assert json.dumps(doc).count('"37"') >= 1  # the printed page number read off the scan
