"""The store's commands: ``import``, ``run``, ``schedule`` and ``status``.

``ingest.cli`` adds them with ``register(subparsers)``, which returns the command
functions by name. Exit codes as for every command: 0 = done, no error-severity finding;
1 = done, some findings are errors; 2 = could not run (database unreachable or full, lock
held, bad argument), with one line on stderr and never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

# The same numbers as ingest.cli's. This module does not import ingest.cli: under
# `python -m ingest.cli` that would load a second copy of it, whose exception classes the
# running copy would not catch.
EXIT_OK, EXIT_FINDINGS, EXIT_CANNOT_RUN = 0, 1, 2

log = logging.getLogger("mgr_ingest")


class CannotRun(Exception):
    """A problem that stops a store command; shown as one line, exit code 2."""


def _one_line_errors(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn every expected failure of a store command into one line on stderr and exit 2."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        from ingest.store import LockHeld, StoreError

        try:
            return command(args)
        except (CannotRun, StoreError, LockHeld) as exc:
            print(f"mgr-ingest: {exc}", file=sys.stderr)
            return EXIT_CANNOT_RUN

    return run

WORK_ENV = "MGR_WORK"


def _default_work() -> Path:
    return Path(os.environ.get(WORK_ENV) or "mgr-work")


def _seconds(text: str, *, allow_zero: bool = False) -> float:
    from ingest.inbox import parse_interval

    if allow_zero and text.strip() in ("0", "0s"):
        return 0.0
    try:
        return parse_interval(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _store_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--work", type=Path, default=None,
                   help="work folder: SQLite database, archive/, quarantine/, reports/ (default ./mgr-work, "
                        f"or ${WORK_ENV})")
    p.add_argument("--db", help="database URL, e.g. postgresql://user@host/dbname (default $MGR_DB_URL, "
                                "else WORK/mgr.sqlite)")
    p.add_argument("--page-capacity", type=int, default=5, help="entries a book page holds (default 5)")


def _inbox_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--inbox", type=Path, required=True, help="folder where deliveries are dropped")
    p.add_argument("--settle", type=lambda t: _seconds(t, allow_zero=True), default=5.0, metavar="TIME",
                   help="a file must keep its size and time this long to count as complete (default 5s)")
    p.add_argument("--pair-wait", type=_seconds, default=24 * 3600.0, metavar="TIME",
                   help="how long half a pair waits for its other file before it is handled alone "
                        "(default 24h)")


def _crosscheck_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--crosscheck", action=argparse.BooleanOptionalAction, default=True,
                   help="after storing births, deaths or censuses, check the store's sources against each other "
                        "(default; --no-crosscheck leaves it to `mgr-ingest crosscheck`)")


def register(subparsers) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add the store's commands to the ``mgr-ingest`` parser; return them by name."""
    imp = subparsers.add_parser("import", help="validate deliveries and store them in the database")
    imp.add_argument("paths", nargs="+", type=Path, help="delivery files or folders (searched recursively)")
    _store_options(imp)
    _crosscheck_option(imp)

    run = subparsers.add_parser("run", help="one pass over an inbox: import what is complete, move it out")
    _inbox_options(run)
    _store_options(run)
    _crosscheck_option(run)

    sch = subparsers.add_parser("schedule", help="run inbox passes at a fixed interval, in the foreground")
    _inbox_options(sch)
    sch.add_argument("--every", type=_seconds, default=900.0, metavar="TIME",
                     help="time between passes: 30s, 15m, 1h … (default 15m)")
    sch.add_argument("--passes", type=int, default=None, help=argparse.SUPPRESS)  # for tests: stop after N
    _store_options(sch)
    _crosscheck_option(sch)

    tb = subparsers.add_parser("tables", help="write the clean tables from the store: the current version of "
                                             "every delivery, today's rules and the manual corrections")
    tb.add_argument("--out", type=Path, required=True, help="folder for kbf/kbd/ft(.parquet|.csv), ft_children, "
                                                             "corrections and findings")
    tb.add_argument("--source", action="append", choices=("KBF", "KBD", "FT"),
                    help="only this source (repeat for several; default all)")
    tb.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="table format (default parquet)")
    _store_options(tb)

    wd = subparsers.add_parser("withdraw", help="take a delivery back: its current version leaves the tables, the QA "
                                                "queue and the cross-source check (nothing is deleted)")
    wd.add_argument("entry_number", metavar="ENTRY", help="entry number of the delivery (K2697)")
    wd.add_argument("--why", required=True, help="the reason, kept in the store (not in the logs)")
    _store_options(wd)

    st = subparsers.add_parser("status", help="imported deliveries by status, with counts of findings")
    st.add_argument("--json", action="store_true", help="one JSON document for programs")
    st.add_argument("--work", type=Path, default=None, help="work folder (default ./mgr-work)")
    st.add_argument("--db", help="database URL (default $MGR_DB_URL, else WORK/mgr.sqlite)")
    return {name: _one_line_errors(command) for name, command in
            (("import", cmd_import), ("run", cmd_run), ("schedule", cmd_schedule), ("status", cmd_status),
             ("tables", cmd_tables), ("withdraw", cmd_withdraw))}


# --------------------------------------------------------------------------- commands

def _work(args) -> Path:
    return args.work or _default_work()


def _open(args, *, migrate: bool = True):
    from ingest.store import StoreError, open_store

    try:
        return open_store(_work(args), args.db, migrate=migrate)
    except StoreError as exc:
        raise CannotRun(str(exc)) from None


def quarantine_rejected(store, run) -> list[tuple[str, Path]]:
    """As an inbox pass does, but by copy: the files of each rejected delivery go to
    ``WORK/quarantine/`` with a reason file. The files given to ``import`` stay where they are
    (they are the user's), and nothing of a rejected delivery becomes current."""
    import shutil

    from ingest.inbox import _quarantine_folder, _write_reason
    from ingest.logsafe import os_reason
    from ingest.store.importer import REJECTED, display_name

    out = []
    for o in run.outcomes:
        if o.status != REJECTED or not o.paths:
            continue
        folder = store.work / _quarantine_folder(o.entry_number, o.delivery_id or 0)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for path in o.paths:
                shown = display_name(path)  # a name that is not UTF-8 is shown with replacement marks
                if path.is_file() and not path.is_symlink():
                    shutil.copy2(path, folder / path.name)
                _write_reason(folder, shown, o.message or "the delivery could not be used (see the run's report)")
        except OSError as exc:
            log.warning("delivery %s: its files could not be copied to quarantine: %s", o.entry_number, os_reason(exc))
            continue
        out.append((o.entry_number, folder))
    return out


def cmd_import(args) -> int:
    from ingest.inbox import write_run_report
    from ingest.store import LockHeld, StoreError, WorkLock, import_paths

    missing = [p for p in args.paths if not p.exists()]
    if missing and len(missing) == len(args.paths):
        raise CannotRun(f"{missing[0]}: no such file or folder")
    store = _open(args)
    try:
        with WorkLock(store.work, store):
            store.archive.clear_incoming()  # half-copies left by a killed run; the lock is ours
            run = import_paths(store, args.paths, options={"page_capacity": args.page_capacity,
                                                           "crosscheck": args.crosscheck})
            if not run.outcomes:
                raise CannotRun(run.result.problems[0] if run.result.problems else
                                f"no CSV files found in {', '.join(str(p) for p in args.paths)}")
            report = write_run_report(store, run.run_id, run)
            quarantined = quarantine_rejected(store, run)
    except (StoreError, LockHeld) as exc:
        raise CannotRun(str(exc)) from None
    finally:
        store.close()
    for problem in run.result.problems:
        print(f"mgr-ingest: {problem}", file=sys.stderr)
    for entry, folder in quarantined:
        print(f"mgr-ingest: {entry} could not be used: a copy of its files and the reason are in {folder}",
              file=sys.stderr)
    s = run.summary()
    print(f"run {run.run_id}: {s['imported']} imported, {s['new_version']} new versions, {s['duplicate']} duplicates, "
          f"{s['rejected']} rejected; {s['rows']:,} rows stored, {s['errors']} error findings", file=sys.stderr)
    if report is not None:
        print(report / "report.html")
    # A run that stored nothing because its files could not be used (an unrecognised CSV
    # alone) is never a silent 0.
    nothing_used = s["rejected"] and not (s["imported"] or s["new_version"] or s["duplicate"])
    return EXIT_FINDINGS if run.errors or nothing_used else EXIT_OK


def _settings(args):
    from ingest.inbox import PassSettings

    if not args.inbox.is_dir():
        raise CannotRun(f"the inbox {args.inbox} is not a folder")
    return PassSettings(inbox=args.inbox, work=_work(args), db=args.db, settle_s=args.settle,
                        pair_wait_s=args.pair_wait, options={"page_capacity": args.page_capacity,
                                                             "crosscheck": args.crosscheck})


def cmd_run(args) -> int:
    from ingest.inbox import run_pass
    from ingest.store import LockHeld, StoreError

    settings = _settings(args)
    try:
        result = run_pass(settings)
    except (StoreError, LockHeld) as exc:
        raise CannotRun(str(exc)) from None
    print(f"run {result.run_id}: {result.line()}", file=sys.stderr)
    if result.report is not None:
        print(result.report / "report.html")
    nothing_used = result.quarantined and not (result.imported or result.new_versions or result.duplicates)
    return EXIT_FINDINGS if result.errors or nothing_used else EXIT_OK


def cmd_schedule(args) -> int:
    from ingest.inbox import schedule

    settings = _settings(args)
    _open(args).close()  # an unreachable database is reported now, not at the first pass

    def said(outcome) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        if isinstance(outcome, Exception):
            print(f"{stamp} pass not run: {outcome}", file=sys.stderr, flush=True)
        else:
            print(f"{stamp} run {outcome.run_id}: {outcome.line()}", file=sys.stderr, flush=True)

    print(f"mgr-ingest: a pass over {settings.inbox} every {args.every:g} s; stop with Ctrl-C or SIGTERM",
          file=sys.stderr, flush=True)
    schedule(settings, args.every, passes=args.passes, on_pass=said)
    return EXIT_OK


def cmd_tables(args) -> int:
    """``tables``: the clean tables rebuilt from the store, streamed batch by batch (peak
    memory is that of the largest batch, not of the table)."""
    from ingest.store import StoreError
    from ingest.store.clean import write_rebuilt

    work = _work(args)
    if not args.db and not os.environ.get("MGR_DB_URL") and not (work / "mgr.sqlite").exists():
        raise CannotRun(f"{work}: no store here (nothing imported yet); give --work or --db")
    store = _open(args)
    try:
        done = write_rebuilt(store, args.out, args.source, fmt=args.format,
                             options={"page_capacity": args.page_capacity})
    except StoreError as exc:
        raise CannotRun(str(exc)) from None
    except OSError as exc:
        raise CannotRun(f"cannot write {args.out}: {exc.strerror or exc}") from None
    finally:
        store.close()
    for code in sorted(done.rows):
        log.info("clean table %s: %d rows", code, done.rows[code])
    for name in sorted(done.paths):
        print(done.paths[name])
    counts = ", ".join(f"{code} {n:,} rows" for code, n in sorted(done.rows.items())) or "no rows"
    print(f"mgr-ingest tables: {counts} -> {args.out}", file=sys.stderr)
    return EXIT_OK


def cmd_withdraw(args) -> int:
    from ingest.store import LockHeld, StoreError, WorkLock
    from ingest.store.withdraw import NothingToWithdraw, withdraw

    work = _work(args)
    if not args.db and not os.environ.get("MGR_DB_URL") and not (work / "mgr.sqlite").exists():
        raise CannotRun(f"{work}: no store here (nothing imported yet); give --work or --db")
    store = _open(args)
    try:
        with WorkLock(store.work, store):
            done = withdraw(store, args.entry_number, why=args.why, actor=os.environ.get("USER") or "mgr-ingest")
    except (StoreError, LockHeld, NothingToWithdraw) as exc:
        raise CannotRun(str(exc)) from None
    finally:
        store.close()
    said = f"{done.entry_number} version {done.version} withdrawn"
    if done.cross is not None:
        said += f"; cross-source findings: {done.cross.removed} removed, {done.cross.added} new"
    print(f"mgr-ingest: {said}", file=sys.stderr)
    return EXIT_OK


def cmd_status(args) -> int:
    from ingest.store.database import DB_ENV
    from ingest.store.status import by_status, cross_source, format_overview, overview

    work = _work(args)
    cross = {"open": 0, "open_by_code": {}, "all_by_code": {}}
    if not args.db and not os.environ.get(DB_ENV) and not (work / "mgr.sqlite").exists():
        rows = []  # nothing imported yet, and no reason to create a database to say so
    else:
        store = _open(args)
        try:
            from ingest.store import StoreError

            rows = overview(store)
            cross = cross_source(store)
        except StoreError as exc:
            raise CannotRun(str(exc)) from None
        finally:
            store.close()
    try:
        if args.json:
            json.dump({"by_status": by_status(rows), "cross_source": cross, "deliveries": rows}, sys.stdout,
                      ensure_ascii=False, indent=1)
            print()
        else:
            print(format_overview(rows))
            if cross["all_by_code"]:
                codes = ", ".join(f"{c} {n}" for c, n in cross["open_by_code"].items())
                print(f"\ncross-source findings open: {cross['open']}" + (f" ({codes})" if codes else ""))
    except BrokenPipeError:  # `mgr-ingest status | head`
        sys.stderr.close()
    return EXIT_OK


__all__ = ["register"]
