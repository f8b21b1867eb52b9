"""The web application's whole test suite run at DEBUG: no person value in its logs.

A child pytest runs ``tests/web`` (log-in, roles, keying, drafts, QA, export, uploads and the
browser flows) with every logger at DEBUG written to a file. The API fuzzing test is left
out: its random strings ("pages", "version") are not person data and are ordinary words of
any log. A probe
plugin (``web_values_probe.py``) notes every person value the requests of those tests
carried: the names, dates, places and notes keyed, corrections, autocomplete text and
passwords. The log file must hold none of them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from hostile_support import REPO


def test_the_web_test_suite_logs_no_person_value(tmp_path):
    if not (REPO / "tests" / "web").is_dir():
        pytest.skip("no web tests")
    log_file, values_file = tmp_path / "web-debug.log", tmp_path / "values.jsonl"
    values_file.touch()
    env = dict(os.environ, MGR_PROBE_VALUES=str(values_file),
               PYTHONPATH=os.pathsep.join([str(REPO / "tests" / "hostile"), str(REPO),
                                           os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "pytest", str(REPO / "tests" / "web"), "-q", "-p", "no:cacheprovider",
           "--ignore", str(REPO / "tests" / "web" / "test_web_api_fuzz.py"),
           "-p", "web_values_probe", "--log-level=DEBUG", f"--log-file={log_file}", "--log-file-level=DEBUG",
           "--log-file-format=%(asctime)s %(levelname)s %(name)s: %(message)s", "--basetemp", str(tmp_path / "t")]
    run = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    tail = (run.stdout + run.stderr)[-3000:]
    assert run.returncode == 0, tail
    summary = re.search(r"(\d+) passed", run.stdout)
    values = {json.loads(line) for line in values_file.read_text(encoding="utf-8").splitlines() if line}
    log_text = log_file.read_text(encoding="utf-8", errors="replace")
    lines = log_text.count("\n")
    assert len(values) >= 40, len(values)  # the probe saw the keying
    assert lines >= 20, lines  # and the log was written
    leaked = sorted(v for v in values if re.search(rf"(?<!\w){re.escape(v)}(?!\w)", log_text))
    assert leaked == [], leaked[:20]
    from conftest import SUMMARY_LINES

    SUMMARY_LINES.append(f"logs, web suite: {summary.group(1) if summary else '?'} web tests at DEBUG, {lines} log "
                         f"lines searched for {len(values)} person values the tests sent: none found")
