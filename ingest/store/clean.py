"""Rebuilding the clean table of a source from the store: raw rows + corrections.

Nothing clean is stored: the clean table is made again whenever it is wanted, from the
raw rows of the current version of every delivery, the validators as they are today and
the manual corrections in force. So a fixed rule, a new rule or a new correction reaches
every table built after it, and the raw layer is never touched.

How a manual correction is laid over the table: its new value takes the place of the raw
value *as input to the validators*, so that everything derived from the field follows it
(the ``_REN``/``_ISO`` columns, ``BLOKERENDE_FEJL``, ``TIL_LINKAGE``, gaps and duplicates);
the raw column of the table keeps the value as keyed, as it does for automatic fixes. With
no manual corrections the result is exactly the table ``mgr-ingest clean`` writes for the
same files.

The deliveries are rebuilt in batches of whole deliveries (``batch_rows``, about 100,000
rows), so that set rules always see a complete delivery. ``rebuild``/``rebuild_clean``
concatenate the batches into one frame (fine for a small store, and for tests);
``write_rebuilt`` writes each batch to a part file as soon as it is made and merges the
parts into ``kbf.parquet`` etc. (``ingest.outputs``), so that its memory is that of the
largest batch however large the table: the same rows, columns and types, in the same order.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Text, cast, select

from ingest.pipeline import _frame_for_engine, clean_columns
from ingest.store import rawrows
from ingest.store.corrections import manual_for
from ingest.store.crosscheck import confirmed_copies
from ingest.store.database import Store
from ingest.store.importer import BATCH_ROWS
from ingest.store.models import KIND_MANUAL, KIND_RULE, STATUS_CURRENT, deliveries, delivery_files, raw_rows
from kiip_import.delivery import Delivery
from validators.engine import CORRECTION_COLUMNS, validate_frame
from validators.findings import FINDING_COLUMNS
from validators.sources import SOURCES

KEY_RAW_NAMES = {"INDTASTNINGSNUMMER": "INDTASTNINGSNUMMER_RAA", "LOEBE_NR": "LOEBE_NR_RAA"}


@dataclass
class Rebuilt:
    clean: pd.DataFrame  # as ingest.pipeline.clean_columns makes it
    findings: pd.DataFrame  # what the validators say about the corrected rows today
    corrections: pd.DataFrame  # rule corrections of this build + manual corrections applied
    tables: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict)  # e.g. ft_children


def _with_rows(d: Delivery, table: pa.Table) -> Delivery:
    names = {f.name for f in dataclasses.fields(Delivery)}
    if "table" in names:
        d.table = table
    else:
        d.frame = table.to_pandas()
    return d


def _version_table(conn, version, source) -> pa.Table:
    """The rows of one stored version, as the importer's table was (provenance included)."""
    # As text: both databases would otherwise decode every row's JSON one by one.
    fields_sql = cast(raw_rows.c.fields, Text)
    rows = conn.execute(
        select(fields_sql, raw_rows.c.line, raw_rows.c.pos, delivery_files.c.name)
        .join(delivery_files, delivery_files.c.id == raw_rows.c.file_id)
        .where(raw_rows.c.delivery_id == version.id).order_by(raw_rows.c.row_no)
        .execution_options(yield_per=20_000)).all()
    texts = [r[0] for r in rows]
    extras = list(version.extra_columns)
    table = rawrows.decode_rows(texts, list(source.columns) + extras, list(version.columns) + extras)
    n = len(rows)
    table = table.append_column("_delivery", pa.array([version.entry_number] * n, pa.string()))
    table = table.append_column("_file", pa.array([r[3] for r in rows], pa.string()))
    table = table.append_column("_line", pa.array([r[1] for r in rows], pa.int64()))
    table = table.append_column("_pos", pa.array([r[2] for r in rows], pa.int64()))
    return table


@dataclass
class _Batch:
    """What one batch of deliveries gives, as the parts the one-frame rebuild concatenates."""
    clean: pd.DataFrame
    findings: pd.DataFrame
    corrections: list[pd.DataFrame]  # rule corrections of this build, then the manual ones applied
    tables: dict[str, pd.DataFrame]


def _batches(store: Store, source_code: str, options: dict | None, batch_rows: int,
             entry_numbers: list[str] | None) -> Iterator[_Batch]:
    """The current versions of ``source_code`` in batches of whole deliveries (about
    ``batch_rows`` rows each), each read, corrected, checked and cleaned on its own: the
    caller holds one batch at a time."""
    if source_code not in SOURCES or not SOURCES[source_code].supported:
        raise ValueError(f"no clean table for source {source_code!r}")
    options = dict(options or {})
    options.setdefault("page_capacity", 5)
    with store.reading() as conn:
        query = select(deliveries).where(deliveries.c.source == source_code,
                                         deliveries.c.status == STATUS_CURRENT)
        if entry_numbers is not None:
            query = query.where(deliveries.c.entry_number.in_(entry_numbers))
        versions = list(conn.execute(query.order_by(deliveries.c.entry_number, deliveries.c.id)))
        # records a reviewer confirmed as keyed twice: out of the linkage (KOPI_AF), in every
        # batch's table when any of this source's deliveries has one, so the parts agree
        copies = confirmed_copies(conn, [v.entry_number for v in versions]) if versions else {}
        batch: list = []
        rows = 0
        for version in versions:
            if not version.rows_stored:
                continue  # a delivery without rows adds nothing to the table
            batch.append(version)
            rows += version.rows_stored
            if rows >= batch_rows:
                yield _rebuild_batch(conn, batch, source_code, options, copies)
                batch, rows = [], 0
        if batch:
            yield _rebuild_batch(conn, batch, source_code, options, copies)


def _empty_clean() -> pd.DataFrame:
    return pd.DataFrame({"INDTASTNINGSNUMMER": pd.Series(dtype="string"), "LOEBE_NR": pd.Series(dtype="Int64")})


def rebuild(store: Store, source_code: str = "KBF", *, options: dict | None = None,
            batch_rows: int = BATCH_ROWS, entry_numbers: list[str] | None = None) -> Rebuilt:
    """The clean table of ``source_code`` from the current version of every stored delivery,
    as one frame in memory: for small stores and tests. A national table is written with
    ``write_rebuilt``, which holds one batch at a time."""
    clean_parts: list[pd.DataFrame] = []
    finding_parts: list[pd.DataFrame] = []
    correction_parts: list[pd.DataFrame] = []
    table_parts: dict[str, list[pd.DataFrame]] = {}
    for part in _batches(store, source_code, options, batch_rows, entry_numbers):
        clean_parts.append(part.clean)
        finding_parts.append(part.findings)
        correction_parts.extend(part.corrections)
        for name, table in part.tables.items():
            table_parts.setdefault(name, []).append(table)
    clean = pd.concat(clean_parts, ignore_index=True) if clean_parts else _empty_clean()
    found = pd.concat(finding_parts, ignore_index=True) if finding_parts else pd.DataFrame(columns=FINDING_COLUMNS)
    fixes = pd.concat(correction_parts, ignore_index=True) if correction_parts else pd.DataFrame()
    tables = {name: pd.concat(parts, ignore_index=True) for name, parts in table_parts.items()}
    return Rebuilt(clean, found, fixes, tables)


def rebuild_clean(store: Store, source_code: str = "KBF", **kwargs) -> pd.DataFrame:
    """The clean table of a source, in the shape of ``ingest.pipeline.clean_columns``, as
    one frame (see ``rebuild``)."""
    return rebuild(store, source_code, **kwargs).clean


# --------------------------------------------------------------------------- streamed to files

CORRECTIONS_OUT = [*CORRECTION_COLUMNS, "kind"]


def corrections_table(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Corrections in fixed columns and types (``kind`` is ``rule`` or ``manual``), so that
    every batch's part has the same schema."""
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    out = pd.DataFrame(index=frame.index)
    for col in CORRECTIONS_OUT:
        values = frame[col] if col in frame else pd.Series(None, index=frame.index, dtype="object")
        if col in ("LOEBE_NR", "line"):
            out[col] = pd.array(pd.to_numeric(values, errors="coerce"), dtype="Int64")
        else:
            out[col] = values.astype("object").where(values.notna(), None).map(
                lambda v: v if v is None else str(v)).astype("string")
    out["kind"] = out["kind"].fillna(KIND_RULE)
    return out


def findings_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Findings in fixed columns and types (line and running number whole numbers,
    ``auto_fix`` true/false, the rest text)."""
    out = pd.DataFrame(index=frame.index)
    for col in FINDING_COLUMNS:
        values = frame[col] if col in frame else pd.Series(None, index=frame.index, dtype="object")
        if col in ("line", "loebe_nr"):
            out[col] = pd.array(pd.to_numeric(values, errors="coerce"), dtype="Int64")
        elif col == "auto_fix":
            out[col] = pd.array([None if v is None or (not isinstance(v, str) and pd.isna(v)) else bool(v)
                                 for v in values], dtype="boolean")
        else:
            out[col] = values.astype("object").where(values.notna(), None).map(
                lambda v: v if v is None else str(v)).astype("string")
    return out.reset_index(drop=True)


@dataclass
class RebuiltFiles:
    """What ``write_rebuilt`` wrote: the path of each table by name (``kbf``, ``ft``,
    ``ft_children`` …, ``corrections``, ``findings``) and the rows of each source's table."""
    paths: dict[str, Path]
    rows: dict[str, int]
    cross: object | None = None  # validators.crosscheck.CrossResult, when births and deaths were both written


def write_rebuilt(store: Store, out: Path | str, sources: list[str] | None = None, *, fmt: str = "parquet",
                  options: dict | None = None, batch_rows: int = BATCH_ROWS,
                  entry_numbers: list[str] | None = None) -> RebuiltFiles:
    """Rebuild the clean tables of ``sources`` (default: every source this version
    validates) and write them into ``out`` under the names ``mgr-ingest clean`` uses
    (``kbf.parquet``, ``kbd``, ``ft``, ``ft_children``, ``corrections``) plus
    ``findings.parquet``, streamed: each batch of deliveries is read, corrected, checked,
    cleaned and spilled to a part file before the next is read, and the parts are then
    merged one at a time. Peak memory is that of the largest batch, not of the table.

    The tables hold the same rows in the same order, with the same columns and types, as
    ``rebuild`` returns (a KBF table is written even when there are no KBF rows, as
    ``mgr-ingest clean`` does); the corrections and findings are those of ``rebuild`` in
    fixed types (``corrections_table``, ``findings_table``)."""
    from ingest.outputs import TABLE_NAMES, _merge_parts, _write, spill

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    codes = [c for c in (sources or list(TABLE_NAMES)) if c in SOURCES and SOURCES[c].supported]
    spill_dir = Path(tempfile.mkdtemp(prefix=".rebuild-parts-", dir=out))
    cross = None
    parts: dict[str, list[Path]] = {}
    rows: dict[str, int] = {}
    try:
        for code in codes:
            for batch in _batches(store, code, options, batch_rows, entry_numbers):
                name = TABLE_NAMES[code]
                rows[code] = rows.get(code, 0) + len(batch.clean)
                parts.setdefault(name, []).append(spill(batch.clean, spill_dir, name))
                for table_name, table in batch.tables.items():
                    parts.setdefault(table_name, []).append(spill(table, spill_dir, table_name))
                if batch.corrections:
                    parts.setdefault("corrections", []).append(
                        spill(corrections_table(batch.corrections), spill_dir, "corrections"))
                if len(batch.findings):
                    parts.setdefault("findings", []).append(
                        spill(findings_table(batch.findings), spill_dir, "findings"))
                del batch
        written: dict[str, Path] = {}
        for name, paths in parts.items():
            written[name] = _merge_parts(paths, out / name, fmt)
        if "KBF" in codes and "kbf" not in written:
            written["kbf"] = _write(_empty_clean(), out / "kbf", fmt)
            rows.setdefault("KBF", 0)
        if "corrections" not in written:
            written["corrections"] = _write(corrections_table([]), out / "corrections", fmt)
        if "findings" not in written:
            written["findings"] = _write(findings_table(pd.DataFrame(columns=FINDING_COLUMNS)), out / "findings", fmt)
        if "kbf" in written and ("kbd" in written or "ft_children" in written):
            # Births against deaths and censuses: DOED_FOER_CPR in the KBF table, the findings
            # beside the rest.
            from ingest.store.crosscheck import reviewer_decisions
            from validators.crosscheck import crosscheck_files

            with store.reading() as conn:
                decisions = reviewer_decisions(conn)  # a reviewer's "one person or two" over the thresholds'
            cross = crosscheck_files(written["kbf"], written.get("kbd"), written["findings"], written.get("ft_children"),
                                     decisions)
    finally:
        shutil.rmtree(spill_dir, ignore_errors=True)
    return RebuiltFiles(written, rows, cross)


def _with_match_keys(table: pd.DataFrame, kind: str, versions) -> pd.DataFrame:
    """The linkage match keys, added as ``mgr-ingest clean`` adds them (standard names, birth
    date, birth parish, where 'her i sognet' is the delivery's own parish)."""
    try:
        from validators.match_keys import add_match_keys
        from validators.places import parish_of_deliveries
    except ImportError:  # a version without match keys
        return table
    own = parish_of_deliveries(versions)
    return add_match_keys(table, kind, table["INDTASTNINGSNUMMER"].map(own))


def _mark_copies(table: pd.DataFrame, copies: dict[tuple[str, int], int]) -> pd.DataFrame:
    """``KOPI_AF`` (``K2697:11``: the record it copies) and ``TIL_LINKAGE`` false on the
    records confirmed as keyed twice, where the record they copy is still there."""
    entries = table["INDTASTNINGSNUMMER"].astype("string").fillna("")
    loebe = pd.to_numeric(table["LOEBE_NR"], errors="coerce")
    present = set(zip(entries, loebe))
    values = np.full(len(table), None, dtype=object)
    marked = np.zeros(len(table), dtype=bool)
    for i, key in enumerate(zip(entries, loebe)):
        original = copies.get((key[0], int(key[1]))) if pd.notna(key[1]) else None
        if original is not None and (key[0], original) in present:
            values[i], marked[i] = f"{key[0]}:{original}", True
    table["KOPI_AF"] = pd.array(values, dtype="string")
    if "TIL_LINKAGE" in table and marked.any():
        table["TIL_LINKAGE"] = table["TIL_LINKAGE"].to_numpy(dtype=bool) & ~marked
    return table


def _rebuild_batch(conn, versions, source_code, options, copies: dict | None = None) -> _Batch:
    source = SOURCES[source_code]
    tables, kept = [], []
    for version in versions:
        table = _version_table(conn, version, source)
        d = _with_rows(Delivery(entry_number=version.entry_number, source=source_code, meta=dict(version.meta or {}),
                                extra_columns=list(version.extra_columns)), table)
        tables.append(_frame_for_engine(d))
        kept.append(version)
    frame = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0].reset_index(drop=True)
    del tables
    extras = sorted({c for v in kept for c in v.extra_columns})
    manual = manual_for(conn, [v.id for v in kept])
    keyed_before: list[tuple[int, str, object]] = []
    applied = []
    if manual:
        keys = pd.Series([rawrows.record_key(v) if isinstance(v, str) else None for v in frame["LOEBE_NR"]],
                         index=frame.index, dtype="object")
        entry_of = {v.id: v.entry_number for v in kept}
        for c in manual:
            hit = frame.index[(frame["_delivery"] == entry_of[c.delivery_id]) & (keys == c.loebe_nr)]
            if len(hit) != 1 or c.field not in frame:
                continue  # the importer reported it (CORRECTION_CONFLICT); never guess
            row = hit[0]
            keyed_before.append((row, c.field, frame.at[row, c.field]))
            frame.at[row, c.field] = c.new_value if c.new_value is not None else ""
            applied.append(c)
    result = validate_frame(frame, source, options)
    del frame
    table = clean_columns(source_code, result.clean, extras)
    table = _with_match_keys(table, source_code, kept)
    for row, name, value in keyed_before:
        table.at[row, KEY_RAW_NAMES.get(name, name)] = value  # the raw column shows what was keyed
    if copies:
        table = _mark_copies(table, copies)
    extra_tables: dict[str, pd.DataFrame] = {}
    for name, extra_table in (getattr(result, "tables", None) or {}).items():
        if name == "ft_children":
            extra_table = _with_match_keys(extra_table, "FT_CHILDREN", kept)
        extra_tables[name] = extra_table
    corrections: list[pd.DataFrame] = []
    if len(result.corrections):
        corrections.append(result.corrections)
    if applied:
        corrections.append(pd.DataFrame({
            "INDTASTNINGSNUMMER": [c.entry_number for c in applied],
            "LOEBE_NR": pd.array([c.loebe_nr for c in applied], dtype="Int64"),
            "file": [c.file for c in applied], "line": [c.line for c in applied], "field": [c.field for c in applied],
            "old_value": [c.old_value for c in applied], "new_value": [c.new_value for c in applied],
            "rule": [None] * len(applied), "who": [c.who for c in applied],
            "when": [c.made_at.isoformat() if c.made_at else None for c in applied],
            "why": [c.why for c in applied], "kind": [KIND_MANUAL] * len(applied)}))
    return _Batch(table, result.findings.drop(columns=["_row"]), corrections, extra_tables)


__all__ = ["Rebuilt", "RebuiltFiles", "corrections_table", "findings_table", "rebuild", "rebuild_clean",
           "write_rebuilt"]
