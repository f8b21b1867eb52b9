"""Helpers of the hostile-input tests: the CLI in-process and in a child process (with its
peak memory), the state of a store, and the checks every hostile case must pass."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for extra in (REPO / "tests", REPO / "tests" / "store", REPO):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from fixtures import hostile  # noqa: E402

OLD = 1_000_000_000  # 2001: old enough that every pair has waited out --pair-wait


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``mgr-ingest ARGV`` in this process: (exit code, stdout, stderr)."""
    from ingest.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


# The child's own peak: VmHWM, the high-water mark of the memory its program mapped. Not
# getrusage's ru_maxrss, which on Linux keeps the peak of the process before exec: a copy of
# the test run itself (often over a gigabyte), so every command would seem to need that much.
_CHILD = """
import json, os, sys
from ingest.cli import main
code = main(sys.argv[1:])
sys.stdout.flush(); sys.stderr.flush()
with open("/proc/self/status", encoding="ascii") as st:
    hwm = [int(line.split()[1]) for line in st if line.startswith("VmHWM:")]
with open(os.environ["MGR_TEST_RSS_FILE"], "w") as fh:
    json.dump({"peak_mb": hwm[0] / 1024}, fh)
sys.exit(code)
"""


def child_cli(*argv: str, tmp: Path, timeout: float = 300) -> tuple[int, str, str, float]:
    """``mgr-ingest ARGV`` in a fresh process: (exit code, stdout, stderr, peak RSS in MB as
    the child measured it: its VmHWM)."""
    rss_file = tmp / f"rss-{os.getpid()}-{len(list(tmp.glob('rss-*')))}.json"
    env = dict(os.environ, PYTHONPATH=str(REPO), MGR_TEST_RSS_FILE=str(rss_file))
    env.pop("MGR_DB_URL", None)
    proc = subprocess.run([sys.executable, "-c", _CHILD, *[str(a) for a in argv]], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=tmp)
    peak = json.loads(rss_file.read_text())["peak_mb"] if rss_file.exists() else float("nan")
    return proc.returncode, proc.stdout, proc.stderr, peak


def check_stderr(code: int, stderr: str) -> None:
    """No traceback and no internal error, whatever the input; exit 2 comes with one line."""
    assert "Traceback" not in stderr, stderr
    assert "internal error" not in stderr, stderr
    assert "--- Logging error ---" not in stderr, stderr
    if code == 2:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1, stderr


def store_state(work: Path, db_url: str | None = None) -> dict:
    """Every stored delivery with its rows as counted, and the runs' statuses."""
    from ingest.store import open_store

    with open_store(work, db_url) as store, store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT d.id, d.entry_number, d.version, d.status, d.rows_stored, "
            "(SELECT count(*) FROM raw_rows r WHERE r.delivery_id = d.id), d.inbox_done "
            "FROM deliveries d ORDER BY d.id").all()
        files = conn.exec_driver_sql("SELECT f.delivery_id, f.name FROM delivery_files f").all()
        runs = [r[0] for r in conn.exec_driver_sql("SELECT status FROM runs ORDER BY id")]
        found = conn.exec_driver_sql("SELECT entry_number, code, file FROM findings").all()
        dup_details = [r[0] for r in conn.exec_driver_sql(
            "SELECT detail FROM audit_log WHERE action = 'duplicate_delivery'")]
    names: dict[int, list[str]] = {}
    for delivery_id, name in files:
        names.setdefault(delivery_id, []).append(name)
    import json

    duplicates = set()
    for detail in dup_details:  # the same bytes again: said in the audit log, no note on the delivery
        detail = json.loads(detail) if isinstance(detail, str) else (detail or {})
        duplicates.update(detail.get("files") or [])
    return {"deliveries": [dict(id=r[0], entry=r[1], version=r[2], status=r[3], rows=r[4], counted=r[5],
                                done=bool(r[6]), files=sorted(names.get(r[0], []))) for r in rows],
            "runs": runs, "findings": [tuple(f) for f in found], "duplicates": duplicates}


def check_store(state: dict, good_rows: int = hostile.GOOD_ROWS) -> None:
    """Nothing half-imported, no run left running, and the good delivery stored whole."""
    for d in state["deliveries"]:
        assert d["rows"] == d["counted"], d  # whole or nothing
        assert d["files"], d
        if d["status"] == "rejected":
            assert d["rows"] == 0
    assert "running" not in state["runs"], state["runs"]
    good = [d for d in state["deliveries"] if d["entry"] == hostile.GOOD_ENTRY]
    assert len(good) == 1 and good[0]["status"] == "current" and good[0]["rows"] == good_rows, good


def csv_names(folder: Path) -> set[str]:
    """The CSV files of a case as the tools name them (undecodable bytes shown as U+FFFD)."""
    from kiip_import.reader import display_name

    return {display_name(p) for p in folder.rglob("*")
            if p.suffix.lower() == ".csv" and (p.is_symlink() or p.is_file())}


def inbox_leftovers(inbox: Path) -> list[Path]:
    return sorted(p for p in inbox.rglob("*") if p.suffix.lower() == ".csv" and (p.is_symlink() or p.is_file()))


def make_old(folder: Path) -> None:
    """Date every file back (links themselves too), so that half pairs have waited long enough."""
    for p in [folder, *folder.rglob("*")]:
        os.utime(p, (OLD, OLD), follow_symlinks=False)


def copy_case(case_folder: Path, target: Path) -> Path:
    shutil.copytree(case_folder, target, symlinks=True)
    return target
