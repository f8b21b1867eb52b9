"""Property-based hostile input: Hypothesis writes deliveries no one would think of.

Three kinds of files are generated: random bytes under KIIP file names, CSV-ish text (random
separators, quotes, line endings, encodings, header cells and values, with or without a
trailer), and valid deliveries cut short, with bytes flipped, inserted or lines repeated.
Whatever comes, ``run_pipeline`` (and, for a smaller sample, the store's importer) must
return normally, every problem must be a finding that names one of the files, and every
file must be accounted for. The number of examples is bounded so the suite stays fast.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hostile_support import hostile

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# Examples per test; MGR_TEST_HYPOTHESIS_SCALE=10 runs ten times as many (a longer hunt).
_SCALE = float(os.environ.get("MGR_TEST_HYPOTHESIS_SCALE", "1") or 1)
EXAMPLES = {k: max(1, int(v * _SCALE)) for k, v in {"bytes": 40, "csvish": 70, "mutated": 40, "store": 25}.items()}
TRIED = {"examples": 0}

COLUMNS = hostile.kbf_columns()
NAMES = ["K2901dok.csv", "K2901fd.csv", "K2901DOK.CSV", "K2902fd.csv", "2903dok.csv", "2903fd.csv",
         "K2904dd.csv", "K2905ft.csv", "notes.csv", "K2906a fd.csv", "Folketælling 1880.csv"]
ENCODINGS = ["utf-8", "cp1252", "latin-1", "utf-16", "utf-8-sig", "double", "mixed"]
SEPARATORS = [";", ",", "\t", "|", ";;", " "]
NEWLINES = ["\n", "\r\n", "\r", "\n\r"]

# Values that have tripped parsers before: Unicode digits, huge numbers, quotes, separators,
# control characters, surrogate-free oddities, dates in every shape.
_NASTY = ["", " ", "-", "--", "?", "????????", "19210229", "18000101", "99999999", "²³", "１９２１", "¹⁹²¹",
          "9" * 30, "-1", "0", "1e9", "NaN", "None", "null", "\"", "\"\"", "'", ";", "\\", "\x00", "\x1b[2J",
          "\x7f", "\u200b", "\ufeff", "Ø", "Søren", "Ærø", "BÃ¸rn", "K2697", "K" + "9" * 70, "x" * 5000,
          "[Hans]", "Niels [Peter]", "DØDFØDT", "UDØBT DRENG", "død", "M", "K", "U", "19 Aar", "½",
          "1921-02-30", "30.02.1921", "3 mdr", "Fødte", "Døde", "Folketælling"]


def _value():
    return st.one_of(st.sampled_from(_NASTY), st.text(max_size=20), st.from_regex(r"[0-9?]{1,10}", fullmatch=True))


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "double":
        return text.encode("utf-8").decode("latin-1").encode("utf-8")
    if encoding == "mixed":
        lines = text.split("\n")
        return b"\n".join(line.encode("utf-8" if i % 2 else "cp1252", errors="replace")
                          for i, line in enumerate(lines))
    return text.encode(encoding, errors="replace")


@st.composite
def csvish(draw) -> dict[str, bytes]:
    sep = draw(st.sampled_from(SEPARATORS))
    nl = draw(st.sampled_from(NEWLINES))
    quote = draw(st.sampled_from(['"', "'", ""]))
    header = draw(st.lists(st.one_of(st.sampled_from(COLUMNS), st.text(max_size=12)), min_size=0, max_size=50))
    if draw(st.booleans()):
        header = COLUMNS + header[:3]
    rows = draw(st.lists(st.lists(_value(), min_size=0, max_size=len(header) + 3), max_size=25))
    lines = [sep.join(header)]
    for row in rows:
        cells = [f"{quote}{c}{quote}" if quote and draw(st.booleans()) else c for c in row]
        lines.append(sep.join(cells))
    meta = hostile.meta_row("K2901", len(rows), **draw(st.dictionaries(
        st.sampled_from(hostile.META), _value(), max_size=4)))
    meta_line = ";".join(hostile.META) + nl + ";".join(meta[c] for c in hostile.META)
    if draw(st.booleans()):
        lines += ["", meta_line]
    text = nl.join(lines) + (nl if draw(st.booleans()) else "")
    encoding = draw(st.sampled_from(ENCODINGS))
    names = draw(st.sampled_from([("K2901dok.csv", "K2901fd.csv"), ("K2901dok.csv", "K2901dd.csv"),
                                  ("K2901DOK.CSV", "K2901FD.CSV"), (None, "K2901fd.csv"), (None, "notes.csv")]))
    files = {names[1]: _encode(text, encoding)}
    if names[0]:
        files[names[0]] = _encode(meta_line + nl, draw(st.sampled_from(ENCODINGS)))
    return files


@st.composite
def random_bytes(draw) -> dict[str, bytes]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    return {name: draw(st.binary(max_size=3000)) for name in names}


def _valid_files() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        paths = hostile.write_pair(Path(tmp), "K2901", [hostile.kbf_record(n, "K2901") for n in range(1, 9)])
        return {p.name: p.read_bytes() for p in paths}


VALID = _valid_files()


@st.composite
def mutated(draw) -> dict[str, bytes]:
    files = dict(VALID)
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(sorted(files)))
        data = files[name]
        op = draw(st.sampled_from(["cut", "flip", "insert", "delete", "repeat", "drop"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "cut":
            data = data[:at]
        elif op == "flip" and data:
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
        elif op == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=40)) + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 200)):]
        elif op == "repeat":
            lines = data.split(b"\r\n")
            i = draw(st.integers(0, len(lines) - 1))
            data = b"\r\n".join(lines[:i + 1] + lines[i:])
        elif op == "drop" and len(files) > 1:
            del files[name]
            continue
        files[name] = data
    return files


def _write(folder: Path, files: dict[str, bytes]) -> set[str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {p.name for p in folder.iterdir()}


def _check_pipeline(files: dict[str, bytes]) -> None:
    from ingest.pipeline import run_pipeline

    TRIED["examples"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        written = _write(Path(tmp) / "in", files)
        result = run_pipeline([Path(tmp) / "in"], progress=False, keep_clean=True)
        report = result.findings_json()
    named = {f["file"] for f in report["findings"]}
    read = {f["name"] for d in report["deliveries"] for f in d["files"]}
    assert written <= named | read, (written, named, read)
    for f in report["findings"]:
        assert f["file"] in written, f  # every finding names the file it is about
        assert f["code"] and f["severity"] in ("error", "warning", "info")
    for d in report["deliveries"]:
        if d["rows"] == 0 and any(f["entry_number"] == d["entry_number"] for f in report["findings"]):
            continue
        assert d["rows"] > 0, d  # a delivery that gave no rows is named by a finding (above)


COMMON = dict(deadline=None, database=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _figure() -> None:
    from conftest import SUMMARY_LINES

    line = f"hostile inputs, generated: {TRIED['examples']} Hypothesis examples through run_pipeline / import"
    SUMMARY_LINES[:] = [x for x in SUMMARY_LINES if not x.startswith("hostile inputs, generated:")] + [line]


@settings(max_examples=EXAMPLES["bytes"], **COMMON)
@given(random_bytes())
def test_random_bytes(files):
    _check_pipeline(files)
    _figure()


@settings(max_examples=EXAMPLES["csvish"], **COMMON)
@given(csvish())
def test_csvish_text(files):
    _check_pipeline(files)
    _figure()


@settings(max_examples=EXAMPLES["mutated"], **COMMON)
@given(mutated())
def test_mutated_valid_deliveries(files):
    _check_pipeline(files)
    _figure()


@settings(max_examples=EXAMPLES["store"], **COMMON)
@given(st.one_of(csvish(), mutated(), random_bytes()))
def test_the_importer_stores_whole_deliveries_or_none(files):
    """The same inputs through the store (SQLite): each delivery whole or not at all."""
    from hostile_support import store_state

    from ingest.store import import_paths, open_store

    TRIED["examples"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        written = _write(Path(tmp) / "in", files)
        hostile.good_delivery(Path(tmp) / "good")
        with open_store(Path(tmp) / "work") as store:
            run = import_paths(store, [Path(tmp) / "in", Path(tmp) / "good"])
        state = store_state(Path(tmp) / "work")
    assert state["runs"] == ["finished"]
    for d in state["deliveries"]:
        assert d["rows"] == d["counted"]
    good = [d for d in state["deliveries"] if d["entry"] == hostile.GOOD_ENTRY]
    assert [(d["status"], d["rows"]) for d in good] == [("current", hostile.GOOD_ROWS)]
    recorded = {n for d in state["deliveries"] for n in d["files"]} | {f[2] for f in state["findings"]}
    assert written <= recorded
    assert len(run.outcomes) >= 2
    _figure()
