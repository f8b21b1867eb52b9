"""Writing the clean tables, the corrections and the findings under fixed names."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.pipeline import RunResult, corrections_frame

TABLE_NAMES = {"KBF": "kbf", "KBD": "kbd", "FT": "ft"}


def _write(frame: pd.DataFrame, path_base: Path, fmt: str) -> Path:
    if fmt == "csv":
        path = path_base.with_suffix(".csv")
        frame.to_csv(path, sep=";", index=False, encoding="utf-8")
    else:
        path = path_base.with_suffix(".parquet")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        # Min/max statistics only for the key columns: they are what readers filter on,
        # and computing them for every text column costs a third of the write time.
        keys = [c for c in ("INDTASTNINGSNUMMER", "LOEBE_NR") if c in table.column_names]
        pq.write_table(table, path, compression="zstd", write_statistics=keys or False)
    return path


def write_outputs(result: RunResult, out: Path, fmt: str = "parquet") -> list[Path]:
    """``kbf.parquet`` (and ``kbd``/``ft`` when present, with ``ft_children`` beside ``ft``),
    ``corrections.parquet`` and ``findings.json`` in ``out``; CSV instead of Parquet when asked."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source, parts in result.clean.items():
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        written.append(_write(frame, out / TABLE_NAMES[source], fmt))
    for name, parts in result.tables.items():
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        written.append(_write(frame, out / name, fmt))
    if "KBF" not in result.clean:
        # Programs rely on the name: write an empty KBF table rather than none.
        from ingest.pipeline import clean_columns  # noqa: F401 - documents where the columns come from
        written.append(_write(pd.DataFrame({"INDTASTNINGSNUMMER": pd.Series(dtype="string"),
                                            "LOEBE_NR": pd.Series(dtype="Int64")}), out / "kbf", fmt))
    written.append(_write(corrections_frame(result), out / "corrections", fmt))
    findings_path = out / "findings.json"
    with findings_path.open("w", encoding="utf-8") as fh:
        json.dump(result.findings_json(), fh, ensure_ascii=False, indent=1)
    written.append(findings_path)
    return written
