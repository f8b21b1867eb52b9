"""Writing the clean tables, the corrections and the findings under fixed names."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.pipeline import RunResult, corrections_frame

TABLE_NAMES = {"KBF": "kbf", "KBD": "kbd", "FT": "ft"}


def _statistics(columns: list[str]) -> list[str] | bool:
    # Min/max statistics only for the key columns: they are what readers filter on, and
    # computing them for every text column costs a third of the write time.
    keys = [c for c in ("INDTASTNINGSNUMMER", "LOEBE_NR") if c in columns]
    return keys or False


def _write(frame: pd.DataFrame, path_base: Path, fmt: str) -> Path:
    if fmt == "csv":
        path = path_base.with_suffix(".csv")
        frame.to_csv(path, sep=";", index=False, encoding="utf-8")
    else:
        path = path_base.with_suffix(".parquet")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, path, compression="zstd", write_statistics=_statistics(table.column_names))
    return path


SLICE_ROWS = 250_000  # rows per slice when a part's added columns are made slice by slice


def spill(frame: pd.DataFrame, folder: Path, name: str,
          add: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> Path:
    """Write one batch's part of a table to disk so that memory holds one batch at a time.

    The part is written as the table itself would be (zstd, statistics for the keys): a
    table of one part, such as that of a single large delivery, is then moved into place
    rather than read back and written again.

    ``add`` (the match keys) is run on slices of ``frame`` of SLICE_ROWS rows, each slice
    written as a row group while the next is made: the columns it adds are held for two
    slices at a time, not for the whole part, and the writing runs beside the making."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{len(list(folder.glob(f'{name}-*.parquet'))):05d}.parquet"
    if add is None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, path, compression="zstd", write_statistics=_statistics(table.column_names))
        return path
    writer: pq.ParquetWriter | None = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        writing = None
        try:
            for start in range(0, max(len(frame), 1), SLICE_ROWS):
                table = pa.Table.from_pandas(add(frame.iloc[start:start + SLICE_ROWS]), preserve_index=False)
                if writer is None and any(pa.types.is_null(f.type) for f in table.schema):
                    # A column without a type of its own in the first slice (all missing,
                    # no dtype): the slices could not share one schema, so write it whole.
                    del table
                    return spill(add(frame), folder, name)
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema, compression="zstd",
                                              write_statistics=_statistics(table.column_names))
                elif not table.schema.equals(writer.schema, check_metadata=False):
                    table = _conform(table, writer.schema)
                if writing is not None:
                    writing.result()  # one slice written while the next is made
                writing = pool.submit(writer.write_table, table)
                del table
            writing.result()
        finally:
            if writing is not None:
                writing.exception()  # let a failed write finish before the file is closed
            if writer is not None:
                writer.close()
    return path


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A part laid onto the table's full schema: missing columns null, same order and types."""
    columns = []
    for fld in schema:
        if fld.name in table.column_names:
            columns.append(table.column(fld.name).cast(fld.type))
        else:
            columns.append(pa.nulls(table.num_rows, fld.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _pandas_metadata(schemas: list[pa.Schema], names: list[str]) -> dict | None:
    """The first part's pandas metadata, with the entries of columns that only later parts
    have (an extra column first seen in a later batch) taken from the first part holding
    them: read back, every column has the pandas type it had when written."""
    metadata = dict(schemas[0].metadata or {})
    if b"pandas" not in metadata:
        return metadata or None
    doc = json.loads(metadata[b"pandas"])
    entries = {c.get("field_name", c.get("name")): c for c in doc.get("columns", [])}
    for sch in schemas[1:]:
        if all(n in entries for n in sch.names) or not sch.metadata or b"pandas" not in sch.metadata:
            continue
        for c in json.loads(sch.metadata[b"pandas"]).get("columns", []):
            entries.setdefault(c.get("field_name", c.get("name")), c)
    doc["columns"] = [entries[n] for n in names if n in entries]
    metadata[b"pandas"] = json.dumps(doc).encode()
    return metadata


def _merge_parts(paths: list[Path], path_base: Path, fmt: str) -> Path:
    """Spilled parts -> one file, streamed part by part (columns that only some batches
    have, such as unknown extra columns, are null elsewhere)."""
    schemas = [pq.read_schema(p) for p in paths]
    schema = pa.unify_schemas([sch.remove_metadata() for sch in schemas], promote_options="permissive")
    # Keep the parts' pandas metadata, so readers get the same column types back.
    schema = schema.with_metadata(_pandas_metadata(schemas, schema.names))
    if fmt == "csv":
        path = path_base.with_suffix(".csv")
        for i, part in enumerate(paths):
            frame = _conform(pq.read_table(part), schema).to_pandas()
            frame.to_csv(path, sep=";", index=False, encoding="utf-8", mode="w" if i == 0 else "a", header=i == 0)
        return path
    path = path_base.with_suffix(".parquet")
    if len(paths) == 1:
        # One part is already the table, in the table's own format (see ``spill``).
        shutil.move(paths[0], path)
        return path
    with pq.ParquetWriter(path, schema, compression="zstd", write_statistics=_statistics(schema.names)) as writer:
        for part in paths:
            writer.write_table(_conform(pq.read_table(part), schema))
    return path


def _write_parts(parts: list, path_base: Path, fmt: str) -> Path:
    if all(isinstance(p, Path) for p in parts):
        return _merge_parts(parts, path_base, fmt)
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return _write(frame, path_base, fmt)


def write_outputs(result: RunResult, out: Path, fmt: str = "parquet") -> list[Path]:
    """``kbf.parquet``, ``kbd``, ``ft`` for the sources present (``ft_children`` beside ``ft``),
    ``corrections.parquet`` and ``findings.json`` in ``out``; CSV instead of Parquet when asked."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source, parts in result.clean.items():
        written.append(_write_parts(parts, out / TABLE_NAMES[source], fmt))
    for name, parts in result.tables.items():
        written.append(_write_parts(parts, out / name, fmt))
    # A source absent from the run gets no table: an empty kbf.parquet beside a census would
    # read as "this run found no births".
    written.append(_write(corrections_frame(result), out / "corrections", fmt))
    findings_path = out / "findings.json"
    with findings_path.open("w", encoding="utf-8") as fh:
        json.dump(result.findings_json(), fh, ensure_ascii=False, indent=1)
    written.append(findings_path)
    if result.spill_dir is not None:
        shutil.rmtree(result.spill_dir, ignore_errors=True)
    return written
