"""Raw rows to and from their stored form: one JSON object per row, built in bulk.

A row is stored as ``{"CANONICAL_NAME": "value as keyed", …}`` with empty fields left out
(most fields of a church-book record are empty, and keys repeated three million times
cost more than the values). The delivery keeps the list of columns its header held, so
an absent key reads back as ``""`` when the column was delivered and as null when the
header lacked it: exactly the frame the importer made.

Encoding runs in Arrow's compute kernels (escape, then join per row) rather than one
``json.dumps`` per row, which costs tens of microseconds a row. Values holding control
characters, which JSON escapes as ``\\uXXXX``, are rare; their rows go through ``json``.
Decoding uses Arrow's JSON reader with an explicit all-string schema, so nothing keyed
is ever turned into a number or a date.
"""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

_CONTROL = "[\\x00-\\x1f]"
_KEY_DIGITS = re.compile(r"\d{1,9}")


def _as_string(column) -> pa.Array:
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_string(array.type):
        array = pc.cast(array, pa.string())
    return array


def as_arrow(rows) -> pa.Table:
    """The delivery's rows as an Arrow table (the importer gives Arrow or pandas)."""
    if isinstance(rows, pa.Table):
        return rows
    return pa.Table.from_pandas(rows, preserve_index=False)


def delivered_columns(table: pa.Table, candidates) -> list[str]:
    """The columns of ``candidates`` the data file's header held (a column it lacked is
    all null in the importer's table)."""
    out = []
    for name in candidates:
        if name in table.column_names:
            col = table.column(name)
            if table.num_rows == 0 or col.null_count < table.num_rows:
                out.append(name)
    return out


def encode_rows(table: pa.Table, columns: list[str]) -> list[str]:
    """One JSON object text per row of ``table`` holding the non-empty ``columns``."""
    n = table.num_rows
    if n == 0:
        return []
    pieces = []
    control = np.zeros(n, dtype=bool)
    for name in columns:
        col = _as_string(table.column(name)).fill_null("")
        escaped = pc.replace_substring(pc.replace_substring(col, "\\", "\\\\"), '"', '\\"')
        key = json.dumps(name, ensure_ascii=False)
        piece = pc.binary_join_element_wise(key + ':"', escaped, '",', "")
        pieces.append(pc.if_else(pc.equal(col, ""), "", piece))
        hits = pc.match_substring_regex(col, _CONTROL)
        if pc.any(hits).as_py():
            control |= hits.to_numpy(zero_copy_only=False)
    if pieces:
        body = pc.utf8_rtrim(pc.binary_join_element_wise(*pieces, ""), characters=",")
        texts = pc.binary_join_element_wise("{", body, "}", "").to_pylist()
    else:
        texts = ["{}"] * n
    for i in np.flatnonzero(control):
        row = {}
        for name in columns:
            value = table.column(name)[int(i)].as_py()
            if value:
                row[name] = value
        texts[i] = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
    return texts


def record_keys(table: pa.Table) -> list[int | None]:
    """The record key of each row: ``LOEBE_NR`` as keyed, read as a whole number (spaces
    around it ignored); None when it is not one (``LOEBE_NR_INVALID`` says so)."""
    if "LOEBE_NR" not in table.column_names:
        return [None] * table.num_rows
    raw = pc.utf8_trim_whitespace(_as_string(table.column("LOEBE_NR")))
    ok = pc.match_substring_regex(raw, r"^[0-9]{1,9}$")
    return pc.cast(pc.if_else(ok, raw, pa.scalar(None, pa.string())), pa.int64()).to_pylist()


def record_key(value: str | None) -> int | None:
    """The same reading for one value."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if _KEY_DIGITS.fullmatch(value) else None


def decode_rows(texts: list[str], all_columns: list[str], delivered: list[str]) -> pa.Table:
    """Stored JSON texts back to a table of ``all_columns`` (strings): delivered columns
    read ``""`` where the key is absent, the others stay null."""
    schema = pa.schema([(name, pa.string()) for name in all_columns])
    if not texts:
        return schema.empty_table()
    data = "\n".join(texts).encode("utf-8")
    table = pajson.read_json(
        io.BytesIO(data),
        read_options=pajson.ReadOptions(use_threads=True, block_size=max(1 << 20, len(data) + 1)),
        parse_options=pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore",
                                          newlines_in_values=False),
    )
    wanted = set(delivered)
    arrays = []
    for name in all_columns:
        col = table.column(name) if name in table.column_names else pa.nulls(len(texts), pa.string())
        if name in wanted:
            col = col.fill_null("")
        arrays.append(col)
    return pa.table(arrays, names=all_columns)
