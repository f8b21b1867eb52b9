"""The conftest code the mutation benchmark adds to its copy of the tree.

mutmut counts a pytest internal error (exit code 3) as a caught mutant, so a hook that raises
in a mutant's run would make every mutant look caught. These tests run the hook as the copy's
conftest would, after the modules a web test imports, and check it empties the project's
caches without touching anything else.
"""

import collections
import functools
import importlib.util
import sys
import time
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_mutation_under_test", ROOT / "benchmarks" / "bench_mutation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hooks() -> dict:
    namespace: dict = {}
    exec(compile(_bench().TIMING_HOOKS, "conftest-hooks", "exec"), namespace)
    return namespace


@pytest.fixture
def cached_module(monkeypatch):
    """A module of the project's with a functools cache filled, and a Flask proxy beside it."""
    import flask

    module = types.ModuleType("validators._bench_probe")
    calls = []

    @functools.cache
    def classify(value):
        calls.append(value)
        return value.upper()

    module.classify = classify
    module._DEFAULT = {"parishes.csv:1": object()}  # a read-once register, as places.py keeps it
    module.current_app = flask.current_app  # raises on any attribute outside an app context
    module.calls = calls
    monkeypatch.setitem(sys.modules, "validators._bench_probe", module)
    return module


def test_session_start_empties_project_caches_beside_flask_proxies(cached_module):
    import webentry.app  # noqa: F401  (its modules hold flask's current_app, g and request)

    cached_module.classify("far")
    cached_module.classify("far")
    assert cached_module.calls == ["far"]
    assert cached_module.classify.cache_info().currsize == 1

    _hooks()["pytest_sessionstart"](None)

    assert cached_module.classify.cache_info().currsize == 0
    assert cached_module._DEFAULT == {}
    cached_module.classify("far")
    assert cached_module.calls == ["far", "far"]  # answered by the code, not the cache


def test_internal_error_is_not_counted_as_caught(tmp_path):
    bench = _bench()
    meta = tmp_path / "mutants" / "validators" / "x.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text('{"exit_code_by_key": {"a__mutmut_1": 1, "a__mutmut_2": 3, "a__mutmut_3": 0, '
                    '"a__mutmut_4": 36}}', encoding="utf-8")
    results = bench._results(tmp_path, "validators")
    assert results == {"a__mutmut_1": "killed", "a__mutmut_2": bench.INTERNAL_ERROR,
                       "a__mutmut_3": "survived", "a__mutmut_4": "timeout"}
    assert bench.INTERNAL_ERROR not in bench.CAUGHT


class _FixtureDef:
    def __init__(self, scope):
        self.scope = scope


class _Item:
    def __init__(self, nodeid, *defs):
        self.nodeid = nodeid
        self._fixtureinfo = types.SimpleNamespace(name2fixturedefs={f"f{i}": [d] for i, d in enumerate(defs)})


def test_a_module_fixtures_work_is_credited_to_every_test_that_uses_it(monkeypatch):
    """mutmut credits a function to the test it first ran under; a pipeline run in a module
    fixture must count for each test reading its result, or a mutant in it is checked by one."""
    fake = types.SimpleNamespace(_stats=set(), tests_by_mangled_function_name=collections.defaultdict(set),
                                 duration_by_test={})
    monkeypatch.setitem(sys.modules, "mutmut", fake)
    monkeypatch.setenv("MUTANT_UNDER_TEST", "stats")
    hooks = _hooks()
    population, per_test = _FixtureDef("module"), _FixtureDef("function")
    first = _Item("mutants/tests/validators/test_x.py::test_first", population, per_test)
    second = _Item("mutants/tests/validators/test_x.py::test_second", population)
    apart = _Item("mutants/tests/validators/test_x.py::test_apart", per_test)
    for item in (first, second, apart):
        hooks["pytest_runtest_setup"](item)

    fake._stats.add("validators.engine.x_before")  # ran in the first test before the fixture
    wrapper = hooks["pytest_fixture_setup"](population, None)
    next(wrapper)
    fake._stats.add("validators.crosscheck.x_crosscheck")  # the fixture's own work
    with pytest.raises(StopIteration):
        wrapper.send(None)
    # the first test is still credited with both (mutmut reads _stats at its teardown)
    assert fake._stats == {"validators.engine.x_before", "validators.crosscheck.x_crosscheck"}

    hooks["pytest_sessionfinish"](None)
    credited = fake.tests_by_mangled_function_name
    assert credited["validators.crosscheck.x_crosscheck"] == {"tests/validators/test_x.py::test_first",
                                                               "tests/validators/test_x.py::test_second"}
    assert "validators.engine.x_before" not in credited  # not the fixture's: mutmut's own crediting


def test_outside_the_statistics_run_fixtures_are_left_alone(monkeypatch):
    fake = types.SimpleNamespace(_stats={"a"}, tests_by_mangled_function_name=collections.defaultdict(set),
                                 duration_by_test={})
    monkeypatch.setitem(sys.modules, "mutmut", fake)
    monkeypatch.setenv("MUTANT_UNDER_TEST", "validators.engine.x_f__mutmut_1")
    hooks = _hooks()
    wrapper = hooks["pytest_fixture_setup"](_FixtureDef("module"), None)
    next(wrapper)
    with pytest.raises(StopIteration):
        wrapper.send(None)
    hooks["pytest_sessionfinish"](None)
    assert fake._stats == {"a"} and not fake.tests_by_mangled_function_name


NAME_CHECKER = "validators.fields.x_make_name_checker"


def test_only_survivors_of_functions_run_at_import_are_judged_again_in_a_fresh_python(monkeypatch, tmp_path):
    """check_name = make_name_checker(...) runs at import, in mutmut's parent process: its
    mutants never take effect in the forked children and must be run in a new Python."""
    bench = _bench()
    runs = []

    def fresh_run(repo, package, mutant, limit):
        runs.append((mutant, limit))
        return {"none": ("survived", 100.0), NAME_CHECKER + "__mutmut_1": ("killed", 3.0)}.get(mutant, ("survived", 90.0))

    monkeypatch.setattr(bench, "_import_time_functions", lambda repo: {NAME_CHECKER})
    monkeypatch.setattr(bench, "_fresh_run", fresh_run)
    survivors = [NAME_CHECKER + "__mutmut_1", NAME_CHECKER + "__mutmut_2", "validators.set_rules.x_run__mutmut_3"]
    verdicts = bench.judge_import_time(tmp_path, "validators", survivors)
    assert verdicts == {NAME_CHECKER + "__mutmut_1": "killed", NAME_CHECKER + "__mutmut_2": "survived"}
    # the unmutated copy first, without a limit; then each mutant, limited by that run's time
    assert runs == [("none", None), (NAME_CHECKER + "__mutmut_1", 260.0), (NAME_CHECKER + "__mutmut_2", 260.0)]

    monkeypatch.setattr(bench, "_fresh_run", lambda *a: ("killed", 5.0))
    with pytest.raises(SystemExit, match="unmutated"):
        bench.judge_import_time(tmp_path, "validators", survivors)
    assert bench.judge_import_time(tmp_path, "validators", survivors[2:]) == {}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie is dead, only not yet reaped


def test_a_fresh_run_sees_its_mutant_and_is_stopped_whole_at_its_limit(monkeypatch, tmp_path):
    bench = _bench()
    mutants = tmp_path / "validators" / "mutants"
    mutants.mkdir(parents=True)
    pid_file = tmp_path / "grandchild.pid"
    (mutants / "test_probe.py").write_text(f"""
import os, pathlib, subprocess, sys, time

def test_mutant():
    mutant = os.environ["MUTANT_UNDER_TEST"]
    assert mutant != "bad"
    if mutant == "slow":
        # a grandchild that would outlive a kill of pytest alone
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        pathlib.Path({str(pid_file)!r}).write_text(str(child.pid))
        time.sleep(120)
""", encoding="utf-8")
    monkeypatch.setitem(bench.TESTS, "validators", ["test_probe.py"])
    repo = tmp_path / "validators"
    assert bench._fresh_run(repo, "validators", "none", None)[0] == "survived"
    assert bench._fresh_run(repo, "validators", "bad", None)[0] == "killed"
    # 15 s leaves room for pytest to start; "timeout" is only given by a run stopped at its limit
    assert bench._fresh_run(repo, "validators", "slow", 15)[0] == "timeout"
    grandchild = int(pid_file.read_text())
    for _ in range(100):  # SIGKILL is delivered at once; its exit is seen within moments
        if not _alive(grandchild):
            break
        time.sleep(0.05)
    assert not _alive(grandchild)  # it went with the process group
