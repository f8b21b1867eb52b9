"""``mgr-ingest names ...`` and ``mgr-ingest places ...``: curating the name database and
the parish register from what the deliveries hold.

    mgr-ingest names count   PATH... [--min-count 3] [--out FILE.csv]
    mgr-ingest names suggest PATH... [--db names.csv] [--min-count 3] [--family-min 1] [--out FILE.csv] [--top 30]
    mgr-ingest names import  CSV [--db names.csv] [--check]
    mgr-ingest places unresolved PATH... [--parish TEXT] [--register parishes.csv] [--min-count 3] [--out FILE.csv]
    mgr-ingest places import CSV [--replace | --to FILE]

PATH is a clean table written by ``mgr-ingest clean`` (``kbf.parquet``, ``kbd.csv`` ...; the
file name tells the source, or give ``--source``) or delivery files and folders, which are
then run through the pipeline first (their metadata then gives each record's own parish).

Exit codes as for the rest of ``mgr-ingest``: 0 done, 1 the file to import has problems
(nothing was changed), 2 could not run.  Counts below ``--min-count`` (default 3) are left
out so that a list can leave the secure environment (no cell under 3); curators inside
may lower it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

EXIT_OK, EXIT_PROBLEMS, EXIT_CANNOT_RUN = 0, 1, 2
TABLE_SOURCES = {"kbf": "KBF", "kbd": "KBD", "ft": "FT"}


class _CannotRun(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.exit(EXIT_CANNOT_RUN, f"mgr-ingest {self.prog.split()[-1]}: {message} (see --help)\n")


def _tables(paths: list[Path], source: str | None,
            extra: dict[str, list[pd.DataFrame]] | None = None) -> tuple[dict[str, pd.DataFrame], dict[str, pd.Series]]:
    """source -> clean table, and source -> each row's own parish (when deliveries were read).
    ``extra`` collects the census children's table (``FT_CHILDREN``), from a written
    ``ft_children`` file or from the deliveries read."""
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise _CannotRun(f"{missing[0]}: no such file or folder")
    tables: dict[str, list[pd.DataFrame]] = {}
    own: dict[str, list[pd.Series]] = {}
    deliveries = []
    for p in paths:
        stem = p.stem.lower()
        if p.is_file() and stem == "ft_children" and p.suffix.lower() in (".parquet", ".csv"):
            if extra is not None:
                extra.setdefault("FT_CHILDREN", []).append(pd.read_parquet(p) if p.suffix.lower() == ".parquet" else
                                                           pd.read_csv(p, sep=";", dtype="string",
                                                                       keep_default_na=False, na_values=[""]))
            continue
        if p.is_file() and (p.suffix.lower() == ".parquet" or (p.suffix.lower() == ".csv" and stem in TABLE_SOURCES)):
            code = (source or TABLE_SOURCES.get(stem) or "").upper()
            if not code:
                raise _CannotRun(f"{p}: cannot tell the source from the file name; give --source KBF|KBD|FT")
            frame = pd.read_parquet(p) if p.suffix.lower() == ".parquet" else pd.read_csv(
                p, sep=";", dtype="string", keep_default_na=False, na_values=[""])
            tables.setdefault(code, []).append(frame)
        else:
            deliveries.append(p)
    if deliveries:
        from ingest.pipeline import NothingToDo, run_pipeline
        from validators.places import parish_of_deliveries

        try:
            result = run_pipeline(deliveries, keep_clean=True, progress=False)
        except NothingToDo as exc:
            raise _CannotRun(str(exc)) from None
        parish_by_entry = parish_of_deliveries(result.deliveries)
        if extra is not None:
            for part in result.tables.get("ft_children", []):
                extra.setdefault("FT_CHILDREN", []).append(part if isinstance(part, pd.DataFrame) else
                                                           pd.read_parquet(part))
        for code, parts in result.clean.items():
            for part in parts:
                tables.setdefault(code, []).append(part)
                own.setdefault(code, []).append(part["INDTASTNINGSNUMMER"].map(parish_by_entry))
    out = {code: pd.concat(parts, ignore_index=True) for code, parts in tables.items()}
    own_out = {code: pd.concat(parts, ignore_index=True) for code, parts in own.items()
               if sum(len(p) for p in parts) == len(out[code])}
    return out, own_out


def _write_or_print(frame: pd.DataFrame, out: Path | None, top: int | None = None) -> None:
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out, sep=";", index=False, encoding="utf-8")
        print(out)
    else:
        shown = frame if top is None else frame.head(top)
        print(shown.to_string(index=False) if len(shown) else "(nothing)")


def _names_count(args) -> int:
    from validators.names import count_spellings, import_name_database, load_name_database

    db = import_name_database(args.db) if args.db else load_name_database()
    tables, _ = _tables(args.paths, args.source)
    parts = [count_spellings(t, code, db, min_count=args.min_count) for code, t in tables.items()]
    counts = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    _write_or_print(counts, args.out, args.top)
    return EXIT_OK


def _names_suggest(args) -> int:
    from validators.names import (
        count_spellings,
        import_name_database,
        load_name_database,
        suggest_name_groups,
    )
    from validators.names.families import family_pairs

    db = import_name_database(args.db) if args.db else load_name_database()
    extra: dict[str, list[pd.DataFrame]] = {}
    tables, _ = _tables(args.paths, args.source, extra)
    parts = [count_spellings(t, code, db) for code, t in tables.items()]
    if not parts:
        raise _CannotRun("no KBF, KBD or FT records found")
    counts = pd.concat(parts)
    # Spellings are pooled over the sources and grouped all together; only then are the
    # rows under --min-count left out (and each group's total counts the rows shown).
    pooled = counts.groupby(["kind", "spelling"], as_index=False)["occurrences"].sum()
    # Spellings written for one person (a child in the births and the census or the deaths,
    # the parents on siblings' entries) join a group however they sound.
    families = family_pairs({**tables, **{k: pd.concat(v, ignore_index=True) for k, v in extra.items()}}, db)
    groups = suggest_name_groups(pooled, db, families=families, family_min=args.family_min)
    if len(groups):
        groups = groups[groups["occurrences"] >= args.min_count].copy()
        groups["group_occurrences"] = groups.groupby("group")["occurrences"].transform("sum")
        new_spelling = groups["known_grundnavn"].isna().groupby(groups["group"]).transform("any")
        groups = groups[new_spelling]
        order = {g: i + 1 for i, g in enumerate(
            groups.groupby("group")["group_occurrences"].first().sort_values(ascending=False, kind="stable").index)}
        groups["group"] = groups["group"].map(order)
        groups = groups.sort_values(["group", "occurrences"], ascending=[True, False], ignore_index=True)
    if args.out is None:
        print(f"{groups['group'].nunique() if len(groups) else 0} proposed groups; largest first "
              f"(accept rows into a variant;grundnavn;kind;sex file and run: mgr-ingest names import FILE)",
              file=sys.stderr)
    _write_or_print(groups, args.out, args.top)
    return EXIT_OK


def _names_import(args) -> int:
    from validators.names.database import NAMES_FILE, NameDatabaseError, import_name_database, merge_into

    target = args.db or NAMES_FILE
    try:
        new = import_name_database(args.csv)
        for w in new.warnings:
            print(f"mgr-ingest names: {w}", file=sys.stderr)
        merged, stats = merge_into(target, new)
    except NameDatabaseError as exc:
        for problem in exc.problems:
            print(f"mgr-ingest names: {problem}", file=sys.stderr)
        print("mgr-ingest names: nothing was imported", file=sys.stderr)
        return EXIT_PROBLEMS
    if args.check:
        print(f"{args.csv}: {len(new.entries)} rows fit; {stats['added']} would be added to {target}")
        return EXIT_OK
    _append_rows(target, new)
    print(f"{stats['added']} spellings added to {target} ({stats['already_there']} were there already; "
          f"{stats['total']} rows now)")
    return EXIT_OK


def _append_rows(target: Path, new) -> None:
    """Append the new rows to the database file, keeping its comments and order."""
    from validators.names.database import import_name_database

    current = import_name_database(target)
    rules = current.rules
    have = {(r.kind.lower(), r.sex.upper(), rules.normalise(r.variant)) for r in current.entries.itertuples()}
    lines = []
    for r in new.entries.itertuples():
        key = (r.kind.lower(), r.sex.upper(), rules.normalise(r.variant))
        if key in have or key in current.lookup:
            continue
        have.add(key)
        lines.append(f"{r.variant};{r.grundnavn};{r.kind.lower()};{r.sex.upper()}")
    if lines:
        text = Path(target).read_text(encoding="utf-8")
        sep = "" if text.endswith("\n") else "\n"
        Path(target).write_text(text + sep + "\n".join(lines) + "\n", encoding="utf-8")


def _places_unresolved(args) -> int:
    from validators.places import PLACE_FIELDS, import_parishes, load_parish_register, unresolved_places

    register = import_parishes(args.register) if args.register else load_parish_register()
    tables, own = _tables(args.paths, args.source)
    parts = []
    for code, table in tables.items():
        parish = args.parish if args.parish else own.get(code)
        for column in PLACE_FIELDS.get(code, ()):
            if column in table:
                texts = table[f"{column}_REN"] if f"{column}_REN" in table else table[column]
                part = unresolved_places(texts, parish, register, min_count=1)
                part.insert(0, "field", column)
                part.insert(0, "source", code)
                parts.append(part)
    if not parts:
        raise _CannotRun("no birthplace columns found")
    found = pd.concat(parts, ignore_index=True)
    pooled = (found.groupby(["text", "method"], as_index=False)
              .agg(occurrences=("occurrences", "sum"), fields=("field", lambda s: "|".join(sorted(set(s)))),
                   suggested_code=("suggested_code", "first"), suggested_parish=("suggested_parish", "first"),
                   jw=("jw", "first")))
    pooled = pooled[pooled["occurrences"] >= args.min_count].sort_values(
        ["occurrences", "text"], ascending=[False, True], ignore_index=True)
    _write_or_print(pooled, args.out, args.top)
    return EXIT_OK


def _places_import(args) -> int:
    import hashlib
    from datetime import UTC, datetime

    from validators.places import (
        PARISHES_FILE,
        REGISTER_ENV,
        ParishRegisterError,
        import_parishes,
        register_file,
        skipped_digdag,
        write_register,
    )

    try:
        register = import_parishes(args.csv)
    except ParishRegisterError as exc:
        for problem in exc.problems:
            print(f"mgr-ingest places: {problem}", file=sys.stderr)
        print("mgr-ingest places: nothing was imported", file=sys.stderr)
        return EXIT_PROBLEMS
    shared = {k: v for k, v in register.index.items() if len(v) > 1}
    skipped = skipped_digdag(Path(args.csv).read_bytes().decode("utf-8-sig", errors="replace"))
    if skipped:
        print(f"mgr-ingest places: {len(skipped)} row(s) without a parish number left out: "
              f"{', '.join(skipped[:10])}", file=sys.stderr)
    print(f"{args.csv}: {len(register)} parishes, {len(register.index)} spellings; "
          f"{len(shared)} spellings shared by more than one parish (decided by herred/amt)")
    if args.replace or args.to:
        target = args.to or register_file()
        sha = hashlib.sha256(Path(args.csv).read_bytes()).hexdigest()
        when = datetime.now(UTC).strftime("%Y-%m-%d")
        write_register(register, target, [
            f"Parish register imported by 'mgr-ingest places import' on {when}",
            f"from {Path(args.csv).name} (sha256 {sha}), {len(register)} parishes.",
            "Columns: sognekode;sogn;herred;amt;varianter (variants separated by |). A DigDag table's",
            "ASCII-folded names were given their Danish letters; the folded spelling is a variant."])
        print(f"{target} written")
        if target != PARISHES_FILE and os.environ.get(REGISTER_ENV) != str(target):
            print(f"set {REGISTER_ENV}={target} to use it")
    return EXIT_OK


def _common(p: argparse.ArgumentParser, paths: bool = True) -> None:
    if paths:
        p.add_argument("paths", nargs="+", type=Path, help="clean tables (kbf.parquet ...) or delivery files/folders")
        p.add_argument("--source", choices=("KBF", "KBD", "FT"), help="the source of a table whose name does not say")
        p.add_argument("--min-count", type=int, default=3, help="leave out counts below this (default 3)")
        p.add_argument("--out", type=Path, help="write a ;-separated CSV instead of printing")
        p.add_argument("--top", type=int, default=40, help="rows to print (default 40)")


def names_main(argv: list[str] | None = None) -> int:
    """``mgr-ingest names count|suggest|import``."""
    p = _Parser(prog="mgr-ingest names", description="Curate the name database (spelling -> grundnavn).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    c = sub.add_parser("count", help="how often each single-name spelling occurs, per source")
    _common(c)
    c.add_argument("--db", type=Path, help="name database CSV (default: the project's)")
    s = sub.add_parser("suggest", help="propose groups of spellings that are probably one name")
    _common(s)
    s.add_argument("--db", type=Path, help="name database CSV (default: the project's)")
    s.add_argument("--family-min", type=int, default=1,
                   help="families a pair of spellings must be seen in (one person written both ways) to join "
                        "a group whatever its sound (default 1)")
    i = sub.add_parser("import", help="add accepted variant;grundnavn;kind;sex rows to the database")
    i.add_argument("csv", type=Path, help="the accepted rows (variant;grundnavn;kind;sex, as names suggest --out "
                                          "writes them)")
    i.add_argument("--db", type=Path, help="the database file to add to (default: the project's names.csv)")
    i.add_argument("--check", action="store_true", help="only check the file; change nothing")
    args = p.parse_args(argv)
    try:
        return {"count": _names_count, "suggest": _names_suggest, "import": _names_import}[args.command](args)
    except _CannotRun as exc:
        print(f"mgr-ingest names: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except (OSError, ValueError) as exc:
        print(f"mgr-ingest names: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN


def places_main(argv: list[str] | None = None) -> int:
    """``mgr-ingest places unresolved|import``."""
    p = _Parser(prog="mgr-ingest places", description="Curate the parish register (birthplace text -> parish).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    u = sub.add_parser("unresolved", help="birthplace texts the register cannot resolve, most frequent first")
    _common(u)
    u.add_argument("--parish", help="the records' own parish for 'her i sognet' (default: from the deliveries)")
    u.add_argument("--register", type=Path, help="parish register CSV (default: the project's)")
    i = sub.add_parser("import", help="check a sognekode;sogn;herred;amt;varianter file or a DigDag parish "
                                      "table (STEDNR,SOGN,HERRED,AMT,…) and install it")
    i.add_argument("csv", type=Path, help="the register file to check and install")
    i.add_argument("--replace", action="store_true",
                   help="make it the register in use ($MGR_PARISH_REGISTER, else the project's sample file)")
    i.add_argument("--to", type=Path, help="write the register to this file (then set $MGR_PARISH_REGISTER to it)")
    args = p.parse_args(argv)
    try:
        return {"unresolved": _places_unresolved, "import": _places_import}[args.command](args)
    except _CannotRun as exc:
        print(f"mgr-ingest places: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except (OSError, ValueError) as exc:
        print(f"mgr-ingest places: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN


if __name__ == "__main__":
    sys.exit(names_main())
