"""Mutation testing of the checks: how many small faults planted in ``validators/`` and
``kiip_import/`` the test suite catches (mutmut; not part of CI: it takes hours for all).

    python benchmarks/bench_mutation.py [--package validators] [--sample 300] [--seed 7]
                                         [--work DIR] [--json FILE] [--jobs 2]
                                         [--recheck FILE | --import-time FILE]

mutmut changes one thing at a time in a package's code (``<`` for ``<=``, a constant, a
string, a dropped argument...), and for each such mutant runs the tests that call the
changed function; a mutant is *killed* when a test fails, and *caught* when it is killed or
runs past mutmut's time limit (reported apart: a slow equivalent mutant can land there too).
mutmut stops a mutant's tests after 15 times (their time unmutated + 1 s) of wall-clock time,
or 30 times that of CPU time; the wall clock binds first.
The run happens in a copy of the working tree (``--work``, default a temporary folder) with
``../shared`` linked beside it, so the answer-key and real-data tests run as in CI. Tests that start the command line in a
child process see the mutant too (the child imports the mutated copy first: ``PYTHONPATH``).

``--sample N`` draws N mutants of each package at random with ``--seed`` (the share caught
is then an estimate; its 95% interval is printed); without it every mutant runs. Printed:
per package, mutants, killed, survived, without a covering test, timed out, and the share
caught of those that ran (killed + timed out over all but the skipped), then the survivors'
names (``mutmut show NAME`` in the work folder shows each change).

A function that runs while a module is imported (``check_name = make_name_checker(...)``)
ran in mutmut's parent process before it forked a child for each mutant, so its mutants never
take effect there and survive whatever the tests check. The survivors of such functions (found
by importing the mutated copy once) are run again, each in a fresh Python that imports the copy
anew, against the package's whole test list; the printout names them with their new status.
``--import-time FILE`` does only that for the survivors of an earlier run (its ``--json``), with
the tests of that run, so its figure stays an unbiased estimate.

``--recheck FILE`` runs again, in the same ``--work`` folder, only the survivors that an
earlier run wrote to ``FILE`` (its ``--json``), after copying the project's tests into the
copy again: the check of tests written for those survivors. Tests new since the run are
credited to the functions they call (mutmut collects them); a test changed in place keeps the
functions it was credited with. The figure printed then is the earlier sample's with the
survivors' new results, which is no longer an unbiased estimate: tests were written for them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# The tests that exercise each package (the whole suite takes 20 minutes a run). These hold the
# tests written against the package and the pipeline's; the web, store and hostile-input suites
# call into ``validators`` too (the entry screen's checks, every import) but are left out for
# time, so a mutant only they would catch counts as a survivor: the share caught is a lower
# bound for the whole suite. mutmut runs, for each mutant, the listed tests that called its
# function in the same process.
_PIPELINE = ["tests/ingest/test_clean_table.py", "tests/ingest/test_report.py",
             "tests/ingest/test_report_households.py", "tests/ingest/test_mixed_sources.py"]
TESTS = {
    "validators": ["tests/validators", "tests/fixtures", "tests/kiip_import", "tests/names", *_PIPELINE,
                   "tests/store/test_crosscheck_store.py", "tests/store/test_crosscheck_incremental.py",
                   "tests/web/test_web_cross_decisions.py",
                   "tests/ingest/test_readme_commands.py"],  # the curation commands' help, read in-process
    "kiip_import": ["tests/kiip_import", "tests/validators", "tests/fixtures", *_PIPELINE],
}
CAUGHT = {"killed", "timeout"}  # a test failed, or the mutant ran past mutmut's time limit
INTERNAL_ERROR = "pytest internal error"  # not a failing test: a fault of the run, not caught
# What mutmut 3.3.1 records for a mutant (the exit code of its test run, or mutmut's own code),
# read here without importing mutmut.__main__ (whose import sets the multiprocessing start
# method). pytest's 3 (internal error) is the one departure: mutmut calls it a kill.
STATUS_BY_EXIT_CODE = {0: "survived", 1: "killed", 2: "check was interrupted by user", 3: INTERNAL_ERROR,
                       5: "no tests", 33: "no tests", 34: "skipped", 35: "suspicious", 36: "timeout",
                       -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", -11: "segfault",
                       None: "not checked"}


def _copy_files(repo: Path, *under: str) -> None:
    """The tracked and untracked (not ignored) files of the working tree (those ``under`` the
    folders given, if any), copied into ``repo``."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", *under],
                           cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            dst = repo / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def _copy_tree(repo: Path) -> None:
    _copy_files(repo)
    (repo / "shared").symlink_to(SHARED)  # the tests run in repo/mutants and look for ../shared


def _configure(repo: Path, package: str) -> None:
    also = [p for p in ("ingest", "kiip_import", "validators", "webentry", "fixtures", "benchmarks", "docs",
                        "README.md") if p != package]
    lines = ["", "[tool.mutmut]", f'paths_to_mutate = ["{package}/"]',
             "also_copy = [" + ", ".join(f'"{p}"' for p in also) + "]",
             "tests_dir = [" + ", ".join(f'"{t}"' for t in TESTS[package]) + "]", ""]
    with open(repo / "pyproject.toml", "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    with open(repo / "tests" / "conftest.py", "a", encoding="utf-8") as fh:
        fh.write(TIMING_HOOKS)
    shutil.rmtree(repo / "mutants", ignore_errors=True)
    # mutants/ is on PYTHONPATH (_env): it must exist when mutmut starts, or Python notes the
    # path as empty and never looks there again, and the tests' own folders (tests/validators)
    # are then imported as the package
    (repo / "mutants").mkdir()


# Appended to the copy's tests/conftest.py. Before each test session every cache of the
# project's functions is emptied (see pytest_sessionstart below). And: mutmut stops a mutant's tests after 15 times
# their recorded time (plus 15 s), and it records each test's *last* phase, the teardown:
# tests whose time goes into a module fixture (a pipeline run, a database) were cut off and
# counted as timeouts though nothing hung. This records setup + call + teardown instead,
# and adds to each test of a module a share of the module's costliest test (the one that
# built its fixtures; shared over at most 15 tests), so that a mutant run with any single
# test of that module still has the time to build them.
# Last: mutmut credits a function to the test during which it first ran. The work of a
# module-scoped fixture (a pipeline run over a generated population) was credited to whichever
# test happened to build it, and a mutant in that work was then run against that one test only,
# though every test using the fixture reads its result. The functions a fixture's set-up calls
# are credited to every test that uses the fixture.
TIMING_HOOKS = """

# --- added by benchmarks/bench_mutation.py in its copy of the tree (not in the project) ---
import os as _os
from collections import defaultdict as _defaultdict

import pytest as _pytest

_PHASES = _defaultdict(float)
_FIXTURE_HITS = _defaultdict(set)  # id(fixturedef) -> functions its set-up ran
_TEST_FIXTURES = {}  # test id -> ids of the wider-scoped fixturedefs it uses


def _stats_run():
    return _os.environ.get("MUTANT_UNDER_TEST") == "stats"


@_pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    if not _stats_run() or fixturedef.scope == "function":
        yield
        return
    import mutmut

    before = set(mutmut._stats)
    mutmut._stats.clear()
    try:
        yield
    finally:
        _FIXTURE_HITS[id(fixturedef)] |= mutmut._stats
        mutmut._stats.update(before)


def pytest_runtest_setup(item):
    if _stats_run():
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs.values() if info is not None else ()
        _TEST_FIXTURES[item.nodeid] = [id(d[-1]) for d in defs if d and d[-1].scope != "function"]


def pytest_runtest_logreport(report):
    _PHASES[report.nodeid] += report.duration


def pytest_sessionstart(session):
    # mutmut runs each mutant's tests in a process forked from one that has already run them
    # unmutated: a function's cache (functools.cache) would answer from the original code.
    # Only functools' own wrappers are touched, and by their type: asking any other object for
    # an attribute can raise (flask's current_app outside an application context does), and an
    # error here is a pytest internal error, which mutmut would count as a caught mutant.
    import functools as _functools
    import sys as _sys

    for _name, _module in list(_sys.modules.items()):
        if _name.split(".")[0] in ("validators", "kiip_import", "ingest", "webentry"):
            for _attr, _value in list(vars(_module).items()):
                if type(_value) is _functools._lru_cache_wrapper:
                    _value.cache_clear()
                elif _attr == "_DEFAULT" and type(_value) is dict:
                    _value.clear()  # the parish register and the name database, read once per process


def pytest_sessionfinish(session):
    if not _stats_run():
        return
    import mutmut

    for nodeid, fixtures in _TEST_FIXTURES.items():
        name = nodeid[len("mutants/"):] if nodeid.startswith("mutants/") else nodeid
        for fixture in fixtures:
            for function in _FIXTURE_HITS.get(fixture, ()):
                mutmut.tests_by_mangled_function_name[function].add(name)

    by_module = _defaultdict(list)
    for nodeid, seconds in _PHASES.items():
        by_module[nodeid.split("::")[0]].append(seconds)
    for nodeid, seconds in _PHASES.items():
        module = by_module[nodeid.split("::")[0]]
        share = max(module) / min(len(module), 15)
        for key in (nodeid, "mutants/" + nodeid):
            if key in mutmut.duration_by_test:
                mutmut.duration_by_test[key] = seconds + share
"""


# Loaded by every child Python of a test run (it is on PYTHONPATH): while mutmut learns which
# tests call which function ("stats"), a child process's calls are not counted (mutmut's
# counter lives in the test process), but they must still run the code.
CHILD_HOOK = """import os
import sys

# An editable install of the project (pip install -e) would serve the original code to any
# import the copy did not answer first: only the copy may be imported here.
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
sys.path_hooks[:] = [h for h in sys.path_hooks if "__editable__" not in getattr(h, "__module__", "")]
sys.path_importer_cache.clear()
if os.environ.get("MUTANT_UNDER_TEST") == "stats":
    import types
    import mutmut
    if mutmut.config is None:
        mutmut.config = types.SimpleNamespace(max_stack_depth=-1)
"""


def _env(repo: Path) -> dict:
    hooks = repo.parent / f"{repo.name}-hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(CHILD_HOOK, encoding="utf-8")
    env = dict(os.environ)
    env.pop("CI", None)  # PostgreSQL, the browser and Tesseract tests may skip here: not the packages'
    env["PYTHONPATH"] = os.pathsep.join([str(repo / "mutants"), str(hooks), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["MGR_TEST_SEED"] = "20261206"
    return env


def _results(repo: Path, package: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for meta in (repo / "mutants" / package).rglob("*.py.meta"):
        data = json.loads(meta.read_text(encoding="utf-8"))
        for name, code in data["exit_code_by_key"].items():
            # mutmut counts pytest's exit code 3 (an internal error: a hook or plugin failed, no
            # test ran to its end) as a kill; here it is reported apart and not counted caught
            out[name] = STATUS_BY_EXIT_CODE.get(code, f"exit {code}")
    return out


def _mutmut(repo: Path, names: list[str], log, jobs: int = 1) -> int:
    cmd = [shutil.which("mutmut") or "mutmut", "run", "--max-children", str(jobs), *names]
    return subprocess.run(cmd, cwd=repo, env=_env(repo), stdout=log, stderr=subprocess.STDOUT).returncode


# A function called while a module is imported (``check_name = make_name_checker(...)`` at
# module level) ran in mutmut's parent process, before the fork of each mutant's child: the
# child finds the module imported, the mutant never takes effect, and it survives whatever the
# tests check. mutmut also credits such a function to whichever test ran first. So a survivor of
# a function that runs at import is run again in a fresh Python, which imports the mutated copy
# anew, against the package's whole test list.
IMPORT_PROBE = """
import importlib, json, pkgutil
import mutmut
for top in ("validators", "kiip_import", "ingest", "webentry"):
    for info in pkgutil.walk_packages(importlib.import_module(top).__path__, top + "."):
        try:
            importlib.import_module(info.name)
        except Exception:  # the Alembic env modules run only under Alembic
            pass
print(json.dumps(sorted(mutmut._stats)))
"""


def _import_time_functions(repo: Path) -> set[str]:
    """The mutated functions that run while the project's modules are imported."""
    proc = subprocess.run([sys.executable, "-c", IMPORT_PROBE], cwd=repo / "mutants",
                          env={**_env(repo), "MUTANT_UNDER_TEST": "stats"}, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"importing the mutated copy in {repo} failed:\n{proc.stderr[-2000:]}")
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def _function_of(mutant: str) -> str:
    return mutant.rsplit("__mutmut_", 1)[0]


def _fresh_run(repo: Path, package: str, mutant: str, limit: float | None) -> tuple[str, float]:
    """One mutant's (or, with ``none``, the unmutated copy's) run of the package's tests in a new
    Python: its status and seconds. The whole process group is stopped at ``limit``."""
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
           "--rootdir=.", *TESTS[package]]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=repo / "mutants", env={**_env(repo), "MUTANT_UNDER_TEST": mutant},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        code = proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return "timeout", time.monotonic() - started
    return STATUS_BY_EXIT_CODE.get(code, f"exit {code}"), time.monotonic() - started


def judge_import_time(repo: Path, package: str, survivors: list[str], jobs: int = 1) -> dict[str, str]:
    """The survivors whose function runs at import, each judged again in a fresh Python."""
    at_import = _import_time_functions(repo)
    names = [n for n in survivors if _function_of(n) in at_import]
    if not names:
        return {}
    status, seconds = _fresh_run(repo, package, "none", None)
    if status != "survived":
        raise SystemExit(f"the unmutated copy's tests fail in a fresh Python ({status}) in {repo}")
    limit = 2 * seconds + 60  # a caught mutant stops at its first failing test (-x)
    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        verdicts = pool.map(lambda n: _fresh_run(repo, package, n, limit)[0], names)
        return dict(zip(names, verdicts))


def _tally(results: dict[str, str], sampled: bool) -> dict:
    counts: dict[str, int] = {}
    for status in results.values():
        counts[status] = counts.get(status, 0) + 1
    ran = sum(v for k, v in counts.items() if k not in ("skipped", "not checked"))
    caught = sum(counts.get(k, 0) for k in CAUGHT)
    share = caught / ran if ran else float("nan")
    half = 1.96 * math.sqrt(share * (1 - share) / ran) if sampled and ran else 0.0
    return {"mutants": len(results), "counts": counts, "ran": ran, "caught": caught, "share_caught": share,
            "interval95": half,
            "survivors": sorted(n for n, s in results.items() if s == "survived"),
            "no_tests": sorted(n for n, s in results.items() if s == "no tests"),
            "internal_errors": sorted(n for n, s in results.items() if s == INTERNAL_ERROR)}


def run_package(work: Path, package: str, sample: int | None, seed: int, jobs: int = 1) -> dict:
    repo = work / package
    if not repo.exists():
        _copy_tree(repo)
        _configure(repo, package)
    started = time.monotonic()
    with open(work / f"{package}.log", "a", encoding="utf-8") as log:
        if sample:
            # a first run with a name nothing matches: mutmut makes the mutants and learns
            # which tests call which function, then stops; the sample is drawn from its list
            _mutmut(repo, ["no-such-mutant"], log)
            if not (repo / "mutants" / "mutmut-stats.json").is_file():
                raise SystemExit(f"mutmut could not run the tests unmutated: see {work / (package + '.log')}")
            everything = sorted(_results(repo, package))
            if not everything:
                raise SystemExit(f"mutmut made no mutants of {package}: see {work / (package + '.log')}")
            names = sorted(random.Random(seed).sample(everything, min(sample, len(everything))))
        else:
            names = []
        _mutmut(repo, names, log, jobs)
    results = _results(repo, package)
    if names:
        results = {n: results.get(n, "not checked") for n in names}
    fresh = judge_import_time(repo, package, [n for n, s in results.items() if s == "survived"], jobs)
    results.update(fresh)
    return {"package": package, **_tally(results, bool(sample)), "sampled": bool(sample), "seed": seed,
            "seconds": round(time.monotonic() - started), "import_time": fresh}


def _refresh_tests(repo: Path) -> None:
    """The project's tests copied into the work copy again, with the hooks appended."""
    shutil.rmtree(repo / "tests")
    _copy_files(repo, "tests")
    with open(repo / "tests" / "conftest.py", "a", encoding="utf-8") as fh:
        fh.write(TIMING_HOOKS)


def recheck(work: Path, earlier: dict, jobs: int, new_tests: bool = True) -> dict:
    """An earlier run's survivors judged again in its work folder: with ``new_tests``, by mutmut
    after the project's tests are copied in again (the figure is then no longer an unbiased
    estimate); in any case those of a function that runs at import, in a fresh Python."""
    package = earlier["package"]
    repo = work / package
    if not (repo / "mutants" / "mutmut-stats.json").is_file():
        raise SystemExit(f"{repo} holds no finished run of {package}: this needs the earlier --work folder")
    names = earlier["survivors"]
    started = time.monotonic()
    after = dict.fromkeys(names, "survived")
    if new_tests:
        _refresh_tests(repo)
        with open(work / f"{package}.log", "a", encoding="utf-8") as log:
            _mutmut(repo, names, log, jobs)
        now = _results(repo, package)
        after = {n: now.get(n, "not checked") for n in names}
    fresh = judge_import_time(repo, package, [n for n, s in after.items() if s == "survived"], jobs)
    after.update(fresh)
    caught_now = sorted(n for n, s in after.items() if s in CAUGHT)
    caught = earlier["caught"] + len(caught_now)
    share = caught / earlier["ran"]
    return {**earlier, "rechecked": names, "caught_on_recheck": caught_now, "new_tests": new_tests,
            "import_time": {**earlier.get("import_time", {}), **fresh},
            "survivors": sorted(n for n, s in after.items() if s == "survived"),
            "internal_errors": sorted(n for n, s in after.items() if s == INTERNAL_ERROR),
            "caught": caught, "share_caught": share, "recheck_seconds": round(time.monotonic() - started),
            "interval95": 1.96 * math.sqrt(share * (1 - share) / earlier["ran"])}


def _print_names(f: dict) -> None:
    for name, status in sorted(f.get("import_time", {}).items()):
        print(f"  runs at import, judged in a fresh Python: {name}: {status}")
    for name in f["survivors"]:
        print(f"  survived: {name}")
    for name in f.get("no_tests", ()):
        print(f"  no test calls it: {name}")
    for name in f["internal_errors"]:
        print(f"  pytest stopped with an internal error (counted as not caught): {name}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--package", action="append", choices=sorted(TESTS), help="(default: both)")
    p.add_argument("--sample", type=int, help="mutants drawn at random per package (default: all)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--work", type=Path, help="work folder (kept; default: a new temporary one)")
    p.add_argument("--json", type=Path, help="write the figures here too")
    p.add_argument("--jobs", type=int, default=1,
                   help="mutants checked at once (default 1; each gets the time limit on its own clock)")
    p.add_argument("--recheck", type=Path, metavar="FILE",
                   help="run again only the survivors listed in FILE (an earlier --json) in the same --work folder")
    p.add_argument("--import-time", type=Path, metavar="FILE",
                   help="judge again, in a fresh Python, the survivors in FILE (an earlier --json) whose function "
                        "runs at import; the tests stay those of the run")
    a = p.parse_args(argv)
    if shutil.which("mutmut") is None:
        print("mutmut is not installed: python -m pip install 'mutmut==3.3.1'", file=sys.stderr)
        return 2
    if not SHARED.is_dir():
        print(f"{SHARED} is missing: the answer-key tests need it", file=sys.stderr)
        return 2
    earlier_file = a.recheck or a.import_time
    if earlier_file:
        if a.work is None:
            print("--recheck and --import-time need the --work folder of the earlier run", file=sys.stderr)
            return 2
        figures = [recheck(a.work, f, a.jobs, new_tests=a.recheck is not None)
                   for f in json.loads(earlier_file.read_text(encoding="utf-8"))
                   if not a.package or f["package"] in a.package]
        for f in figures:
            how = ("after tests written for its survivors: no longer an unbiased estimate" if f["new_tests"]
                   else f"± {f['interval95']:.1%} (95%, the same tests)")
            print(f"{f['package']}: {len(f['rechecked'])} survivors checked again, {len(f['caught_on_recheck'])} "
                  f"now caught; the sample's share caught {f['caught']} of {f['ran']} = {f['share_caught']:.1%} "
                  f"({how}); {f['recheck_seconds']} s", flush=True)
            _print_names(f)
        if a.json:
            a.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
        return 0
    work = a.work or Path(tempfile.mkdtemp(prefix="mgr-mutation-"))
    work.mkdir(parents=True, exist_ok=True)
    figures = []
    for package in a.package or sorted(TESTS, reverse=True):
        f = run_package(work, package, a.sample, a.seed, a.jobs)
        figures.append(f)
        counts = ", ".join(f"{v} {k}" for k, v in sorted(f["counts"].items()))
        est = f" ± {f['interval95']:.1%} (95%, a sample of {f['mutants']})" if f["sampled"] else ""
        print(f"{package}: {f['mutants']} mutants ({counts}); caught {f['caught']} of {f['ran']} that ran "
              f"(killed or timeout) = {f['share_caught']:.1%}{est}; {f['seconds']} s", flush=True)
        _print_names(f)
    print(f"work folder: {work} (mutmut show NAME there shows a mutant)")
    if a.json:
        a.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
