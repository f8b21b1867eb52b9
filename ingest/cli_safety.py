"""The data-protection and safety commands: ``stats``, ``backup`` and ``restore``.

``ingest.cli`` adds them with ``register(subparsers)``, which returns the command functions
by name (as ``ingest.cli_store`` does). Each also runs on its own: ``stats_main(argv)``,
``backup_main(argv)``, ``restore_main(argv)``, or ``python -m ingest.cli_safety COMMAND …``.
Exit codes as for every command: 0 = done; 2 = could not run, with one line on stderr and
never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

EXIT_OK, EXIT_FINDINGS, EXIT_CANNOT_RUN = 0, 1, 2

log = logging.getLogger("mgr_ingest.safety")


class CannotRun(Exception):
    """A problem that stops the command; shown as one line, exit code 2."""


def _one_line_errors(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        from ingest.backup import BackupError
        from ingest.store import LockHeld, StoreError

        try:
            return command(args)
        except (CannotRun, StoreError, LockHeld, BackupError) as exc:
            print(f"mgr-ingest: {exc}", file=sys.stderr)
            return EXIT_CANNOT_RUN

    return run


def _work(args) -> Path:
    return args.work or Path(os.environ.get("MGR_WORK") or "mgr-work")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of years: {text!r}")
    return value


def register(subparsers) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``stats``, ``backup`` and ``restore`` to the ``mgr-ingest`` parser; return them by name."""
    st = subparsers.add_parser("stats", help="aggregate statistics with disclosure control, for release "
                                             "outside the secure environment")
    st.add_argument("paths", nargs="*", type=Path,
                    help="delivery files or folders; without them the statistics come from the store")
    st.add_argument("--out", type=Path, required=True, help="file to write (.csv, or .json)")
    st.add_argument("--format", choices=("csv", "json"), help="default: from the file's suffix, else csv")
    st.add_argument("--years", type=_positive, default=1, metavar="N",
                    help="group years N at a time (default 1: single years)")
    st.add_argument("--work", type=Path, default=None, help="work folder of the store (default ./mgr-work)")
    st.add_argument("--db", help="database URL (default $MGR_DB_URL, else WORK/mgr.sqlite)")

    bk = subparsers.add_parser("backup", help="copy the store and its archive into one checksummed tar file")
    bk.add_argument("--work", type=Path, default=None, help="work folder (default ./mgr-work)")
    bk.add_argument("--db", help="database URL (default $MGR_DB_URL, else WORK/mgr.sqlite)")
    bk.add_argument("--to", type=Path, required=True, dest="target", help="the tar file to write")

    rs = subparsers.add_parser("restore", help="restore a backup into an empty work folder (and database)")
    rs.add_argument("backup", type=Path, help="a tar file written by mgr-ingest backup")
    rs.add_argument("--work", type=Path, required=True, help="the new work folder (must be empty or absent)")
    rs.add_argument("--db", help="database URL to restore into (must hold no store tables with rows; "
                                 "default: WORK/mgr.sqlite)")
    return {name: _one_line_errors(command) for name, command in
            (("stats", cmd_stats), ("backup", cmd_backup), ("restore", cmd_restore))}


# --------------------------------------------------------------------------- commands

def cmd_stats(args) -> int:
    from ingest import stats

    out: Path = args.out
    if out.parent != Path("") and not out.parent.is_dir():
        raise CannotRun(f"cannot write {out}: folder {out.parent} does not exist")
    if args.paths:
        from ingest.pipeline import NothingToDo, run_pipeline

        missing = [p for p in args.paths if not p.exists()]
        if len(missing) == len(args.paths):
            raise CannotRun(f"{missing[0]}: no such file or folder")
        import tempfile

        with tempfile.TemporaryDirectory(prefix="mgr-stats-") as tmp:
            try:
                result = run_pipeline(args.paths, progress=False, keep_clean=True, spill_dir=Path(tmp))
            except NothingToDo as exc:
                raise CannotRun(str(exc)) from None
            records = stats.records_from_result(result)
    else:
        from ingest.store import StoreError, open_store
        from ingest.store.database import DB_ENV

        work = _work(args)
        if not args.db and not os.environ.get(DB_ENV) and not (work / "mgr.sqlite").exists():
            raise CannotRun(f"no store in {work} (give delivery paths, or --work/--db of a store)")
        try:
            with open_store(work, args.db) as store:
                records = stats.records_from_store(store)
        except StoreError as exc:
            raise CannotRun(str(exc)) from None
    if not records:
        raise CannotRun("no records to count")
    release = stats.make_release(records, args.years)
    try:
        written = stats.write_release(release, out, args.format)
    except OSError as exc:
        raise CannotRun(f"cannot write {out}: {exc.strerror or exc}") from None
    s = release.summary()
    print(f"{s['cells']:,} values for {s['sources']} source(s); {s['primary']:,} suppressed as primary, "
          f"{s['secondary']:,} as secondary", file=sys.stderr)
    print(written)
    return EXIT_OK


def cmd_backup(args) -> int:
    from ingest.backup import backup

    done = backup(_work(args), args.db, args.target)
    print(f"backup of {done.tables} tables ({done.rows:,} rows) and {done.files:,} archived files "
          f"({done.bytes:,} bytes) written", file=sys.stderr)
    print(done.path)
    return EXIT_OK


def cmd_restore(args) -> int:
    from ingest.backup import restore

    done = restore(args.backup, args.work, args.db)
    print(f"restored {done.tables} tables ({done.rows:,} rows) and {done.files:,} files into {done.work}; "
          "every checksum matched", file=sys.stderr)
    return EXIT_OK


# --------------------------------------------------------------------------- standalone use

class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.exit(EXIT_CANNOT_RUN, f"mgr-ingest: {message} (see mgr-ingest --help)\n")


def main(argv: list[str] | None = None) -> int:
    """``python -m ingest.cli_safety stats|backup|restore …``, with ``mgr-ingest``'s exit codes."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _Parser(prog="mgr-ingest")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    commands = register(parser.add_subparsers(dest="command", required=True, parser_class=_Parser))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_CANNOT_RUN
    if args.verbose:
        logging.basicConfig(level=logging.INFO if args.verbose == 1 else logging.DEBUG, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:
        print("mgr-ingest: interrupted", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except MemoryError:
        print("mgr-ingest: out of memory", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except Exception as exc:  # a bug of ours: one line for the user, the details in the debug log
        log.debug("internal error", exc_info=True)
        print(f"mgr-ingest: internal error ({type(exc).__name__}); run again with -vv for details and report it",
              file=sys.stderr)
        return EXIT_CANNOT_RUN


def stats_main(argv: list[str]) -> int:
    return main(["stats", *argv])


def backup_main(argv: list[str]) -> int:
    return main(["backup", *argv])


def restore_main(argv: list[str]) -> int:
    return main(["restore", *argv])


if __name__ == "__main__":
    sys.exit(main())
