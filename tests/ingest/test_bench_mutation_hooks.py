"""The conftest code the mutation benchmark adds to its copy of the tree.

mutmut counts a pytest internal error (exit code 3) as a caught mutant, so a hook that raises
in a mutant's run would make every mutant look caught. These tests run the hook as the copy's
conftest would, after the modules a web test imports, and check it empties the project's
caches without touching anything else.
"""

import functools
import importlib.util
import sys
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
