"""Shared helpers: write small KIIP deliveries by hand for tests that need one exact defect."""

from __future__ import annotations

from pathlib import Path

import pytest

from validators.schemas import META_COLUMNS
from validators.sources import FT, KBD, KBF, Source

# The web tests' helper module is imported by the tests and named as their plugin: have it
# rewritten (plain asserts with details) from its first import.
pytest.register_assert_rewrite("web_support")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def kbf_row(loebe_nr: int, entry: int | str, **fields) -> dict:
    """A plausible KBF record; keyword arguments override fields."""
    row = dict.fromkeys(KBF.columns, "")
    row.update(
        INDTASTNINGSNUMMER="K2697", KILDE="Fødte", LOEBE_NR=str(loebe_nr), KILDEANGIVELSE="Vejby KB 1921-1925",
        KILDE_SIDE=str(1 + (int(entry) - 1) // 5 if str(entry).isdigit() and int(entry) > 0 else 1),
        KILDE_LOEBE_NR=str(entry), KALENDERAAR="1921", FOEDSELSDATO=f"1921{1 + loebe_nr % 12:02d}{1 + loebe_nr % 27:02d}",
        FOEDESTED="Vejby", FORNAVN=["Hans", "Niels", "Jens", "Peter", "Anders", "Karl", "Poul", "Erik"][loebe_nr % 8],
        EFTERNAVN=["Jensen", "Hansen", "Larsen", "Madsen", "Olsen", "Berg", "Holm", "Krog", "Lund"][loebe_nr % 9],
        KOEN="M", MODERS_FORNAVN="Ane", MODERS_EFTERNAVN="Jensen", MODERS_ALDER="28",
    )
    row.update(fields)
    return row


def kbd_row(loebe_nr: int, entry: int | str, **fields) -> dict:
    """A plausible KBD record (a man of 70 who died in March 1921); keyword arguments override fields."""
    row = dict.fromkeys(KBD.columns, "")
    day = 1 + loebe_nr % 27
    row.update(
        INDTASTNINGSNUMMER="K2750", KILDE="Døde", LOEBE_NR=str(loebe_nr), KILDEANGIVELSE="Vejby KB 1921-1925 Døde",
        KILDE_SIDE=str(1 + (int(entry) - 1) // 5 if str(entry).isdigit() and int(entry) > 0 else 1),
        KILDE_LOEBE_NR=str(entry), KALENDERAAR="1921", DOEDSDATO=f"192103{day:02d}",
        BEGRAVELSESDAG=f"192104{day:02d}", FORNAVN=["Hans", "Niels", "Jens", "Peter", "Anders"][loebe_nr % 5],
        EFTERNAVN=["Jensen", "Hansen", "Larsen", "Madsen", "Olsen", "Berg", "Holm"][loebe_nr % 7], KOEN="M",
        CIVILSTAND="Gift", FOEDSELSDATO=f"185102{day:02d}", ALDER="70", STEDNAVN="Vejby",
    )
    row.update(fields)
    return row


def ft_row(loebe_nr: int, position: str, **fields) -> dict:
    """A census person of 1930 (KIIP layout); keyword arguments override fields."""
    row = dict.fromkeys(FT.columns, "")
    row.update(INDTASTNINGSNUMMER="K3801", KILDE="Folketælling", TAELLINGSAAR="1930", LOEBE_NR=str(loebe_nr),
               SKEMA_NR="1", EJENDOMMENS_MATR_NR="1a", FAMILIE_LOEBE_NR="1", STILLING_I_HUSSTANDEN=position,
               AEGTESKABELIG_STILLING="Ugift", KOEN="M", FOEDSELSDAG="19000101")
    row.update(fields)
    return row


SOURCE_META = {"KBF": ("fd", "KBF.def"), "KBD": ("dd", "KBD.def"), "FT": ("ft", "FT1930.def")}


def write_delivery(folder: Path, rows: list[dict], *, entry: str = "K2697", meta: dict | None = None,
                   encoding: str = "cp1252", newline: str = "\r\n", header: list[str] | None = None,
                   trailer: bool = True, data_suffix: str | None = None, separator: str = "",
                   source: Source = KBF) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    data_suffix = data_suffix or SOURCE_META[source.code][0]
    m = {"INDTASTNINGSNUMMER": entry, "KILDE": source.kilde, "SOGN": "Vejby", "HERRED": "Holbo",
         "AMT": "Frederiksborg", "FRA_AAR": "1921", "TIL_AAR": "1925", "INDTASTER": "tester",
         "INDTASTNINGSDATO": "20240105", "ANTAL_POSTER": str(len(rows)),
         "DEFINITIONSFIL": SOURCE_META[source.code][1]}
    m.update(meta or {})
    meta_header = ";".join(META_COLUMNS)
    meta_row = ";".join(m[c] for c in META_COLUMNS)
    cols = header or list(source.columns)
    lines = [";".join(cols)] + [";".join(r.get(c, "") for c in cols) for r in rows]
    if trailer:
        lines += [separator, meta_header, meta_row]
    dok = folder / f"{entry}dok.csv"
    data = folder / f"{entry}{data_suffix}.csv"
    dok.write_bytes((meta_header + newline + meta_row + newline).encode(encoding))
    data.write_bytes((newline.join(lines) + newline).encode(encoding))
    return dok, data


@pytest.fixture
def clean_rows() -> list[dict]:
    return [kbf_row(i, i) for i in range(1, 11)]


# Figures a test wants shown in every run (not only with -s): collected here, printed in
# pytest's terminal summary.
SUMMARY_LINES: list[str] = []
SEED_ENV = "MGR_TEST_SEED"


REPO_ROOT = Path(__file__).resolve().parent.parent


def commit_seed(repo: Path = REPO_ROOT) -> int | None:
    """The shuffle seed of the commit checked out (its hash's first 8 hex digits), so that CI
    and a developer testing the same commit run the same order, and each commit another."""
    import subprocess

    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return int(head[:8], 16) if len(head) >= 8 and all(c in "0123456789abcdef" for c in head[:8]) else None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """Before pytest-randomly picks a seed of its own: ``$MGR_TEST_SEED``, else the commit's."""
    import os

    if not config.pluginmanager.has_plugin("randomly") or config.getoption("randomly_seed", None) != "default":
        return
    given = os.environ.get(SEED_ENV, "").strip()
    seed = int(given) if given.isdigit() else commit_seed()
    if seed is not None:
        config.option.randomly_seed = seed


def pytest_terminal_summary(terminalreporter):
    if SUMMARY_LINES:
        terminalreporter.section("figures")
        for line in SUMMARY_LINES:
            terminalreporter.write_line(line)
    if in_ci():
        allowed = ", ".join(f"{k} ({v})" for k, v in SKIP_ALLOWED_IN_CI.items()) or "none"
        terminalreporter.write_line(f"skips allowed in CI: {allowed}; every other skip counts as a failure")
    seed = getattr(terminalreporter.config.option, "randomly_seed", None)
    if seed is not None and terminalreporter.config.pluginmanager.has_plugin("randomly"):
        # the order the tests ran in: `MGR_TEST_SEED=N python -m pytest` runs it again
        terminalreporter.write_line(f"test order: shuffled by pytest-randomly, seed {seed} "
                                    f"(again: {SEED_ENV}={seed} python -m pytest)")


# --------------------------------------------------------------------------- skips in CI
# One place decides what may skip. With CI set (``bash .ci/run`` sets CI=true, the README's
# test command), a skipped test is a failed test: a missing PostgreSQL, Chromium, Tesseract,
# ../shared or test package must make the run red, not quietly smaller. The only exceptions
# are listed here with their reason, and printed at the end of the run.
SKIP_ALLOWED_IN_CI: dict[str, str] = {
    # nodeid prefix: reason
}


def in_ci() -> bool:
    import os

    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _allowed(nodeid: str) -> str | None:
    for prefix, reason in SKIP_ALLOWED_IN_CI.items():
        if nodeid.startswith(prefix):
            return reason
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail") and _allowed(item.nodeid) is None:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI is set, so this test may not skip (it would have skipped: {reason})"


def pytest_collectreport(report):
    # a module skipped as a whole (importorskip, a module-level skip) is a failure in CI too
    if in_ci() and report.skipped and _allowed(report.nodeid) is None:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI is set, so this module may not skip (it would have skipped: {reason})"
