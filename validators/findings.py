"""Findings: the rows of the QA output, in the JSON shape every consumer reads."""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel

from validators.catalogue import CATALOGUE

FINDING_COLUMNS = [
    "code", "severity", "source", "entry_number", "file", "line", "loebe_nr",
    "field", "page", "message", "suggestion", "auto_fix",
]


class Finding(BaseModel):
    code: str
    severity: Literal["error", "warning", "info"]
    source: str | None = None
    entry_number: str | None = None
    file: str | None = None
    line: int | None = None
    loebe_nr: int | None = None
    field: str | None = None
    page: str | None = None
    message: str
    suggestion: str | None = None
    auto_fix: bool = False


def finding(code: str, message: str, **where: Any) -> dict:
    """One finding as a plain dict, its severity taken from the catalogue."""
    row = dict.fromkeys(FINDING_COLUMNS)
    row.update(code=code, severity=CATALOGUE[code].severity.value, message=message, auto_fix=False)
    row.update(where)
    return row


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in FINDING_COLUMNS})


def to_records(frame: pd.DataFrame) -> list[dict]:
    """Findings frame -> list of JSON-ready dicts (NaN/NA -> None, numpy ints -> int)."""
    if frame.empty:
        return []
    out = []
    cols = FINDING_COLUMNS
    for values in frame[cols].itertuples(index=False, name=None):
        rec = {}
        for col, value in zip(cols, values):
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                rec[col] = None
            elif col in ("line", "loebe_nr"):
                rec[col] = int(value)
            elif col == "auto_fix":
                rec[col] = bool(value)
            else:
                rec[col] = str(value) if col != "suggestion" else str(value)
        out.append(rec)
    return out
