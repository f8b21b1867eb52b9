"""The ``mgr-ingest`` command.

Exit codes: 0 = ran, no error-severity finding; 1 = ran, some findings are errors;
2 = could not run (bad arguments, nothing to read, output not writable), with a
one-line reason on stderr and never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

EXIT_OK, EXIT_FINDINGS, EXIT_CANNOT_RUN = 0, 1, 2

log = logging.getLogger("mgr_ingest")


class CannotRun(Exception):
    """A problem that stops the command; the message is shown as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line + exit 2, as for every other failure
        self.exit(EXIT_CANNOT_RUN, f"mgr-ingest: {message} (see mgr-ingest --help)\n")


def _build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mgr-ingest", description="Import, validate and clean KIIP transcription deliveries.")
    p.add_argument("-v", "--verbose", action="count", default=0, help="log progress (-vv for debug)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    v = sub.add_parser("validate", help="check deliveries and write the findings")
    v.add_argument("paths", nargs="+", type=Path, help="delivery files or folders (searched recursively)")
    v.add_argument("--json", type=Path, required=True, dest="json_out", help="findings JSON file to write")
    v.add_argument("--html", type=Path, help="folder for the QA report (report.html)")
    v.add_argument("--page-capacity", type=int, default=5, help="entries a book page holds (default 5)")
    v.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")

    c = sub.add_parser("clean", help="write the clean tables, corrections and findings")
    c.add_argument("paths", nargs="+", type=Path, help="delivery files or folders (searched recursively)")
    c.add_argument("--out", type=Path, required=True, help="output folder")
    c.add_argument("--format", choices=("parquet", "csv"), default="parquet",
                   help="table format (default parquet)")
    c.add_argument("--html", type=Path, help="folder for the QA report (default: OUT)")
    c.add_argument("--page-capacity", type=int, default=5, help="entries a book page holds (default 5)")
    c.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")

    x = sub.add_parser("crosscheck", help="check births (KBF) against deaths (KBD) and censuses (FT): children who "
                                          "died before CPR, births never keyed, children registered twice")
    x.add_argument("paths", nargs="*", type=Path,
                   help="delivery files or folders (searched recursively); none: the store's current deliveries, "
                        "whose findings are kept in the store")
    x.add_argument("--json", type=Path, dest="json_out",
                   help="findings JSON file to write (needed with PATHS)")
    x.add_argument("--work", type=Path, default=None,
                   help="without PATHS: work folder of the store (default ./mgr-work, or $MGR_WORK)")
    x.add_argument("--db", help="without PATHS: database URL (default $MGR_DB_URL, else WORK/mgr.sqlite)")
    x.add_argument("--since", type=_moment, metavar="WHEN",
                   help="without PATHS: check only the deliveries stored since WHEN (2026-12-01 or "
                        "2026-12-01T14:00, local time) and the birth days they touch, as the check after an "
                        "import does (default: every current delivery)")
    x.add_argument("--page-capacity", type=int, default=5, help=argparse.SUPPRESS)
    x.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help=argparse.SUPPRESS)
    d = sub.add_parser("demo", help="run the whole job on the bundled fixtures (births, deaths, censuses)")
    d.add_argument("--out", type=Path, help="working folder (default: a new temporary folder)")

    from ingest import cli_store

    COMMANDS.update(cli_store.register(sub))
    from ingest import cli_safety

    COMMANDS.update(cli_safety.register(sub))
    from webentry import cli as web_cli

    COMMANDS.update(web_cli.register(sub))
    sub.add_parser("names", help="name database: count spellings, suggest groups, import accepted ones "
                                 "(mgr-ingest names --help)")
    sub.add_parser("places", help="parish register: unresolved birthplaces, import a register "
                                  "(mgr-ingest places --help)")
    sub.add_parser("ocr", help="read page numbers, entry numbers and dates off scanned pages "
                               "(mgr-ingest ocr --help)")
    return p


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _ensure_folder(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CannotRun(f"cannot create folder {path}: {exc.strerror or exc}") from None
    return path


def _use_jemalloc() -> None:
    """Let Arrow allocate through jemalloc where pyarrow has it (Linux): on a million-row
    delivery, mimalloc (pyarrow's default) hands freed pages back to the system at once
    and faults them in again on the next allocation, which costs seconds of system time
    and more peak memory. Which allocator is used changes no result."""
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except (NotImplementedError, pa.ArrowNotImplementedError):
        pass  # a pyarrow built without jemalloc keeps its default


def _run(paths: list[Path], page_capacity: int, progress, keep_clean: bool, spill_dir: Path | None = None):
    from ingest.pipeline import NothingToDo, run_pipeline

    _use_jemalloc()
    missing = [p for p in paths if not p.exists()]
    if missing and len(missing) == len(paths):
        raise CannotRun(f"{missing[0]}: no such file or folder")
    try:
        return run_pipeline(paths, progress=progress, keep_clean=keep_clean,
                            options={"page_capacity": page_capacity}, spill_dir=spill_dir)
    except NothingToDo as exc:
        raise CannotRun(str(exc)) from None


def _write_json(result, path: Path) -> None:
    if path.parent != Path(""):
        _ensure_folder(path.parent)
    try:
        with path.open("w", encoding="utf-8") as fh:
            json.dump(result.findings_json(), fh, ensure_ascii=False, indent=1)
    except OSError as exc:
        raise CannotRun(f"cannot write {path}: {exc.strerror or exc}") from None


def _summary_line(result) -> str:
    c = result.counts
    return (f"{len(result.deliveries)} deliveries, {sum(d.rows for d in result.deliveries)} records: "
            f"{c.get('error', 0)} errors, {c.get('warning', 0)} warnings, {c.get('info', 0)} notes")


def exit_code(result) -> int:
    """1 when the run found errors, or when it read nothing and a file was not recognised
    (a census in an unknown layout must never pass as an empty delivery); else 0."""
    if result.counts.get("error", 0):
        return EXIT_FINDINGS
    read_nothing = not any(d.rows for d in result.deliveries)
    codes = set(result.findings["code"]) if len(result.findings) else set()
    if read_nothing and "FILE_UNRECOGNISED" in codes:
        return EXIT_FINDINGS
    return EXIT_OK


def cmd_validate(args) -> int:
    result = _run(args.paths, args.page_capacity, args.progress, keep_clean=False)
    _write_json(result, args.json_out)
    if args.html:
        from ingest.report import write_report

        write_report(result, _ensure_folder(args.html))
    for problem in result.problems:
        print(f"mgr-ingest: {problem}", file=sys.stderr)
    print(_summary_line(result), file=sys.stderr)
    return exit_code(result)


def cmd_clean(args) -> int:
    from ingest.outputs import write_outputs

    out = _ensure_folder(args.out)
    result = _run(args.paths, args.page_capacity, args.progress, keep_clean=True, spill_dir=out / ".parts")
    from ingest.pipeline import run_crosscheck

    run_crosscheck(result)  # births against deaths: DOED_FOER_CPR, births never keyed
    written = write_outputs(result, out, args.format)
    from ingest.report import write_report

    written.append(write_report(result, _ensure_folder(args.html or out)))
    for problem in result.problems:
        print(f"mgr-ingest: {problem}", file=sys.stderr)
    print(_summary_line(result), file=sys.stderr)
    for path in written:
        print(path)
    return exit_code(result)


def cmd_demo(args) -> int:
    from ingest.outputs import write_outputs
    from ingest.report import write_report

    bundled = Path(__file__).resolve().parent.parent / "fixtures"
    fixtures = [bundled / name for name in ("kbf", "kbd", "ft") if (bundled / name).is_dir()]
    if not fixtures:
        raise CannotRun(f"the bundled fixtures are missing ({bundled})")
    work = _ensure_folder(args.out) if args.out else Path(tempfile.mkdtemp(prefix="mgr-ingest-demo-"))
    result = _run(fixtures, 5, None, keep_clean=True)
    from ingest.pipeline import run_crosscheck

    run_crosscheck(result)
    written = write_outputs(result, work / "tables", "parquet")
    report = write_report(result, _ensure_folder(work / "report"))
    print(_summary_line(result))
    print(f"QA report:        {report}")
    for path in written:
        print(f"table:            {path}")
    return EXIT_OK


def _moment(text: str):
    """``--since``: an ISO date or date and time; without a zone it is this machine's local time."""
    from datetime import UTC, datetime

    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is no date or time (write 2026-12-01 or 2026-12-01T14:00)") \
            from None
    return value.astimezone(UTC)


def _crosscheck_store(args) -> int:
    """``crosscheck`` without paths: the store's current deliveries, the findings kept there."""
    from sqlalchemy import select

    from ingest.cli_store import _default_work
    from ingest.store import StoreError, open_store
    from ingest.store.crosscheck import CROSS_CODES, crosscheck_store
    from ingest.store.database import DB_ENV
    from ingest.store.models import findings

    work = args.work or _default_work()
    if not args.db and not os.environ.get(DB_ENV) and not (work / "mgr.sqlite").exists():
        raise CannotRun(f"{work}: no store here (nothing imported yet); give --work or --db, or delivery PATHS")
    try:
        store = open_store(work, args.db)
    except StoreError as exc:
        raise CannotRun(str(exc)) from None
    try:
        run = crosscheck_store(store, options={"page_capacity": args.page_capacity}, since=args.since)
        with store.reading() as conn:
            kept = [dict(r._mapping) for r in conn.execute(select(findings).where(findings.c.code.in_(CROSS_CODES))
                                                           .order_by(findings.c.id))]
    except StoreError as exc:
        raise CannotRun(str(exc)) from None
    finally:
        store.close()
    if args.json_out is not None:
        keys = ("code", "severity", "source", "entry_number", "file", "line", "loebe_nr", "field", "page", "message",
                "suggestion", "auto_fix", "other", "score", "rule_version")
        doc = {"run": {"id": run.run_id, **run.summary()}, "findings": [{k: f[k] for k in keys} for f in kept]}
        if args.json_out.parent != Path(""):
            _ensure_folder(args.json_out.parent)
        try:
            args.json_out.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        except OSError as exc:
            raise CannotRun(f"cannot write {args.json_out}: {exc.strerror or exc}") from None
    if run.skipped:
        print(f"mgr-ingest crosscheck: nothing checked: {run.skipped}", file=sys.stderr)
    else:
        counts = ", ".join(f"{code} {n}" for code, n in sorted(run.counts.items())) or "no findings"
        read = (f"{run.read} deliveries in question, {run.days} birth days read" if run.mode == "incremental"
                else f"all {run.read} current deliveries read")
        print(f"mgr-ingest crosscheck: {counts} ({run.added} new, {run.kept} kept, {run.removed} removed; {read})",
              file=sys.stderr)
    return EXIT_OK


def cmd_crosscheck(args) -> int:
    from ingest.pipeline import run_crosscheck
    from validators.crosscheck import rules

    if not args.paths:
        return _crosscheck_store(args)
    if args.since is not None:
        raise CannotRun("--since checks the store's deliveries; it goes without PATHS")
    if args.json_out is None:
        raise CannotRun("crosscheck PATHS needs --json FILE (without PATHS it checks the store)")
    result = _run(args.paths, args.page_capacity, args.progress, keep_clean=True)
    if not result.clean.get("KBF") or not (result.clean.get("KBD") or result.tables.get("ft_children")):
        raise CannotRun("the crosscheck needs births (KBF) and deaths (KBD) or a census (FT); "
                        f"found {', '.join(sorted(result.clean)) or 'none of them'}")
    run_crosscheck(result)
    kbf = result.clean["KBF"][0]
    died = int(kbf["DOED_FOER_CPR"].notna().sum())
    counts = {code: sum(1 for f in result.cross_findings if f["code"] == code)
              for code in ("BIRTH_NOT_KEYED_KBD", "BIRTH_NOT_KEYED_FT", "DUPLICATE_ACROSS_DELIVERIES",
                           "DUPLICATE_DEATH_ACROSS_DELIVERIES", "BOOK_DELIVERED_TWICE", "CROSSCHECK_REVIEW")}
    doc = {"run": {"started": result.started, "rule_version": rules().version, "kbf_rows": len(kbf),
                   "kbd_rows": sum(len(p) for p in result.clean.get("KBD", [])), "died_before_cpr": died, "findings": counts},
           "findings": result.cross_findings}
    if args.json_out.parent != Path(""):
        _ensure_folder(args.json_out.parent)
    try:
        args.json_out.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    except OSError as exc:
        raise CannotRun(f"cannot write {args.json_out}: {exc.strerror or exc}") from None
    print(f"{len(kbf)} births, {doc['run']['kbd_rows']} deaths: {died} children died before CPR, "
          f"{counts['BIRTH_NOT_KEYED_KBD']} + {counts['BIRTH_NOT_KEYED_FT']} births not keyed (found by a death, "
          f"by the census), {counts['DUPLICATE_ACROSS_DELIVERIES']} births and "
          f"{counts['DUPLICATE_DEATH_ACROSS_DELIVERIES']} deaths registered twice, "
          f"{counts['BOOK_DELIVERED_TWICE']} books delivered twice, {counts['CROSSCHECK_REVIEW']} pairs to review",
          file=sys.stderr)
    return EXIT_OK


COMMANDS = {"validate": cmd_validate, "clean": cmd_clean, "demo": cmd_demo, "crosscheck": cmd_crosscheck}


# Files this program creates (the database, archive copies, scans, tables, reports) hold
# person data: readable by the owner and the owner's group only, never by every account.
UMASK = 0o027


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.umask(UMASK)
    if argv[:1] in (["names"], ["places"]):
        # Curation commands for the name database and the parish register parse their own arguments.
        from validators.curation_cli import names_main, places_main

        return (names_main if argv[0] == "names" else places_main)(argv[1:])
    if argv[:1] == ["ocr"]:
        # The OCR command parses its own arguments (including its own --help).
        if argv[1:2] in (["cells"], ["train"], ["export-training"]):
            # handwritten cells: reading batches, training a recogniser, exporting what staff keyed
            _setup_logging(sum(a.count("v") for a in argv if a in ("-v", "-vv")))
            rest = [a for a in argv[2:] if a not in ("-v", "-vv")]
            if argv[1] == "cells":
                from ingest.htr.cells import main as cells_main

                return cells_main(rest)
            if argv[1] == "train":
                from ingest.htr.train import main as train_main

                return train_main(rest)
            from webentry.training_export import main as export_main

            return export_main(rest)
        if any(a == "--book" or a.startswith("--book=") for a in argv[1:]):
            from webentry.book_ocr import main as book_ocr_main

            return book_ocr_main(argv[1:])
        from ingest.ocr.pipeline import main as ocr_main

        return ocr_main(argv[1:])
    # -v / -vv / --verbose count wherever they are given: before or after the subcommand
    verbosity = [a for a in argv if a in ("-v", "-vv", "--verbose")]
    argv = verbosity + [a for a in argv if a not in ("-v", "-vv", "--verbose")]
    args = _build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return COMMANDS[args.command](args)
    except CannotRun as exc:
        print(f"mgr-ingest: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        print("mgr-ingest: interrupted", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except MemoryError:
        print("mgr-ingest: out of memory; validate fewer deliveries at a time", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except Exception as exc:  # a bug of ours: one line for the user, the details in the debug log
        log.debug("internal error", exc_info=True)
        print(f"mgr-ingest: internal error ({type(exc).__name__}); run again with -vv for details "
              "and report it", file=sys.stderr)
        return EXIT_CANNOT_RUN


if __name__ == "__main__":
    sys.exit(main())
