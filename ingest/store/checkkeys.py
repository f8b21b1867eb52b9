"""The cross-source check's match keys, kept per delivery version (``check_key_sets``,
``check_keys``): the columns ``validators.crosscheck`` compares, made from the version's
clean table as ``mgr-ingest tables`` makes it (today's rules, manual corrections laid over,
records confirmed as keyed twice marked), one row per record (a census: per child) by birth
day.

The keys are a cache. Each set carries a fingerprint of what it was made from: this
module's ``KEYS_VERSION``, the program's version, the reference data the clean columns
depend on (``validators/data``, the parish register in use, the census data added by
``$MGR_CENSUS_DATA``) and the version's own manual corrections and "keyed twice" decisions.
A set whose fingerprint no longer holds is made again before a check reads it, so a
correction on the web or a new name list reaches the next check without any step of its
own.

Nothing here is logged but delivery ids, entry numbers and counts.
"""

from __future__ import annotations

import hashlib
import logging
import os
from datetime import UTC, datetime
from importlib import metadata, resources
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Column, MetaData, String, Table, delete, func, insert, inspect, select
from sqlalchemy.types import BigInteger

from ingest.store.database import Store
from ingest.store.models import KIND_MANUAL, check_key_sets, check_keys, corrections, findings

log = logging.getLogger("mgr_ingest.store.checkkeys")

KEYS_VERSION = "1"  # raise when what a key row holds, or how it is made, changes
SOURCES = ("KBF", "KBD", "FT")
# the census children's columns validators.crosscheck.census_children reads
FT_COLUMNS = ("INDTASTNINGSNUMMER", "BARN_LOEBE_NR", "KILDEFIL", "LINJE", "BARN_FOEDSELSDATO_NOEGLE", "BARN_KOEN",
              "BARN_FORNAVN_GRUNDNAVN", "BARN_EFTERNAVN_UDLEDT_GRUNDNAVN", "FAR_FORNAVN_GRUNDNAVN",
              "MOR_FORNAVN_GRUNDNAVN", "BARN_FOEDESTED_SOGNEKODE", "BARN_ALDER_BEREGNET")
# per source: running number, birth date and birth parish columns of a key row
_KEY_OF = {"KBF": ("LOEBE_NR", "FOEDSELSDATO_NOEGLE", "FOEDESTED_SOGNEKODE"),
           "KBD": ("LOEBE_NR", "FOEDSELSDATO_NOEGLE", "FOEDESTED_SOGNEKODE"),
           "FT": ("BARN_LOEBE_NR", "BARN_FOEDSELSDATO_NOEGLE", "BARN_FOEDESTED_SOGNEKODE")}
_WHOLE = ("LOEBE_NR", "LINJE", "BARN_LOEBE_NR")
_NUMBERS = ("ALDER_VED_DOED", "BARN_ALDER_BEREGNET")
REFRESH_ROWS = 50_000  # rows of deliveries rebuilt together when keys are made


def columns_of(source: str) -> tuple[str, ...]:
    from validators.crosscheck import CHECK_COLUMNS

    return FT_COLUMNS if source == "FT" else CHECK_COLUMNS


# --------------------------------------------------------------------------- fingerprints

def _file_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def reference_fingerprint() -> str:
    """What every version's keys depend on: this module's and the program's versions, the
    check's rules, and the reference data the clean columns are made with."""
    from validators.crosscheck import rules
    from validators.ft_rules import DATA_ENV
    from validators.places import register_file

    h = hashlib.sha256()
    try:
        program = metadata.version("mgr-ingest")
    except metadata.PackageNotFoundError:
        program = "?"
    h.update(f"{KEYS_VERSION}|{program}|{rules().version}".encode())
    data = resources.files("validators").joinpath("data")
    for name in sorted(p.name for p in data.iterdir() if p.name.endswith(".csv")):
        h.update(name.encode() + data.joinpath(name).read_bytes())
    h.update(_file_bytes(register_file()))
    own = os.environ.get(DATA_ENV)
    if own and Path(own).is_dir():
        for path in sorted(Path(own).glob("census_*.csv")):
            h.update(path.name.encode() + _file_bytes(path))
    return h.hexdigest()


def _decision_marks(conn, entry_numbers: list[str]) -> dict[str, int]:
    """Per entry number: the newest web decision on a ``DUPLICATE_RECORD`` finding (a record
    confirmed as keyed twice is marked in the clean table)."""
    if not entry_numbers or not inspect(conn).has_table("web_decisions"):
        return {}
    web = Table("web_decisions", MetaData(), Column("id", BigInteger), Column("finding_id", BigInteger),
                Column("decision", String(16)))
    out: dict[str, int] = {}
    for i in range(0, len(entry_numbers), 500):
        part = entry_numbers[i:i + 500]
        out.update(dict(conn.execute(
            select(findings.c.entry_number, func.max(web.c.id)).join(web, web.c.finding_id == findings.c.id)
            .where(findings.c.code == "DUPLICATE_RECORD", findings.c.entry_number.in_(part))
            .group_by(findings.c.entry_number)).all()))
    return out


def fingerprints(conn, versions, reference: str) -> dict[int, str]:
    """Delivery id -> the fingerprint its keys must carry today."""
    ids = [v.id for v in versions]
    manual: dict[int, tuple[int, int]] = {}
    for i in range(0, len(ids), 500):
        for delivery_id, n, last in conn.execute(
                select(corrections.c.delivery_id, func.count(), func.max(corrections.c.id))
                .where(corrections.c.kind == KIND_MANUAL, corrections.c.delivery_id.in_(ids[i:i + 500]))
                .group_by(corrections.c.delivery_id)):
            manual[delivery_id] = (n, last)
    decided = _decision_marks(conn, sorted({v.entry_number for v in versions}))
    out = {}
    for v in versions:
        mark = f"{reference}|{v.id}|{manual.get(v.id)}|{decided.get(v.entry_number)}"
        out[v.id] = hashlib.sha256(mark.encode()).hexdigest()
    return out


def kept_fingerprints(conn, ids: list[int] | None = None) -> dict[int, str]:
    query = select(check_key_sets.c.delivery_id, check_key_sets.c.fingerprint)
    if ids is None:
        return dict(conn.execute(query).all())
    out: dict[int, str] = {}
    for i in range(0, len(ids), 500):
        out.update(dict(conn.execute(query.where(check_key_sets.c.delivery_id.in_(ids[i:i + 500]))).all()))
    return out


# --------------------------------------------------------------------------- making keys

def _book_figures(source: str, frame: pd.DataFrame) -> dict:
    """The figures of one version the check needs whole: records with a birth date and a
    sex; KBF: the birth years and parish of the book; KBD: its parish of death."""
    from validators.crosscheck import _births, _side, book_spans, death_parishes

    if source == "FT" or frame.empty:
        return {"counted": 0, "parish": None, "from_year": None, "to_year": None}
    side = (_births(frame) if source == "KBF" else
            _side(frame.reset_index(drop=True), "b_row", "FADERS_NAVN_GRUNDNAVN", "MODERS_NAVN_GRUNDNAVN"))
    counted = int(((side["date"] >= 0) & (side["sex"] > 0)).sum())
    if source == "KBF":
        spans = book_spans(frame)
        if len(spans):
            row = spans.iloc[0]
            return {"counted": counted, "parish": str(row["parish"]), "from_year": int(row["from_year"]),
                    "to_year": int(row["to_year"])}
        return {"counted": counted, "parish": None, "from_year": None, "to_year": None}
    from validators.crosscheck import _column

    side["parish"] = pd.Categorical(_column(frame.reset_index(drop=True), "DOEDSSTED_SOGNEKODE"))
    parishes = death_parishes(side)
    return {"counted": counted, "parish": next(iter(parishes.values()), None), "from_year": None, "to_year": None}


def _key_rows(source: str, delivery_id: int, frame: pd.DataFrame) -> list[dict]:
    from validators.crosscheck import _date_int

    cols = [c for c in columns_of(source) if c in frame]
    loebe_col, date_col, parish_col = _KEY_OF[source]
    texts = frame[cols].to_json(orient="records", lines=True, force_ascii=False).splitlines() if len(frame) else []
    loebe = pd.to_numeric(frame[loebe_col], errors="coerce") if loebe_col in frame else pd.Series(np.nan, frame.index)
    days = frame[date_col].map(_date_int) if date_col in frame else pd.Series(-1, frame.index)
    parish = frame[parish_col] if parish_col in frame else pd.Series(None, frame.index, dtype=object)
    died = (frame["DOEDSDATO_ISO"].map(_date_int) if source == "KBD" and "DOEDSDATO_ISO" in frame
            else pd.Series(-1, frame.index))
    return [{"delivery_id": delivery_id, "source": source, "loebe_nr": None if pd.isna(n) else int(n),
             "day": int(d), "died": int(x) if x >= 0 else None,
             "parish": None if p is None or (not isinstance(p, str) and pd.isna(p)) else str(p), "record": t}
            for n, d, x, p, t in zip(loebe.to_numpy(), days.to_numpy(), died.to_numpy(), parish.to_numpy(dtype=object),
                                     texts)]


def _frame_of(source: str, rebuilt) -> pd.DataFrame:
    if source == "FT":
        return rebuilt.tables.get("ft_children", pd.DataFrame(columns=list(FT_COLUMNS)))
    return rebuilt.clean


def refresh(store: Store, versions, wanted: dict[int, str], options: dict | None = None) -> int:
    """Make the keys of ``versions`` (current versions whose fingerprint is not ``wanted``'s),
    a batch of whole deliveries at a time, each delivery's keys replaced in one transaction.
    Returns the number of versions made."""
    from ingest.store.clean import rebuild

    made = 0
    by_source: dict[str, list] = {}
    for v in versions:
        by_source.setdefault(v.source, []).append(v)
    for source, group in by_source.items():
        batch: list = []
        rows = 0
        for v in sorted(group, key=lambda v: v.entry_number) + [None]:
            if v is not None:
                batch.append(v)
                rows += v.rows_stored or 0
                if rows < REFRESH_ROWS:
                    continue
            if not batch:
                continue
            rebuilt = rebuild(store, source, options=options, entry_numbers=[b.entry_number for b in batch])
            frame = _frame_of(source, rebuilt)
            entries = frame["INDTASTNINGSNUMMER"].astype(str) if len(frame) else pd.Series([], dtype=str)
            with store.transaction() as conn:
                for b in batch:
                    part = frame[(entries == b.entry_number).to_numpy()] if len(frame) else frame
                    figures = _book_figures(source, part)
                    key_rows = _key_rows(source, b.id, part)
                    conn.execute(delete(check_keys).where(check_keys.c.delivery_id == b.id))
                    conn.execute(delete(check_key_sets).where(check_key_sets.c.delivery_id == b.id))
                    for i in range(0, len(key_rows), 20_000):
                        conn.execute(insert(check_keys), key_rows[i:i + 20_000])
                    conn.execute(insert(check_key_sets).values(
                        delivery_id=b.id, source=source, entry_number=b.entry_number, fingerprint=wanted[b.id],
                        made_at=datetime.now(UTC), records=len(key_rows), **figures))
                    made += 1
            batch, rows = [], 0
    if made:
        log.info("crosscheck keys made for %d delivery versions", made)
    return made


def drop_sets(conn, ids: list[int]) -> None:
    """Remove the keys of versions no longer current (superseded, or rejected on approval)."""
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        conn.execute(delete(check_keys).where(check_keys.c.delivery_id.in_(part)))
        conn.execute(delete(check_key_sets).where(check_key_sets.c.delivery_id.in_(part)))


# --------------------------------------------------------------------------- reading keys

def _schema(source: str):
    import pyarrow as pa

    def kind(c: str):
        if c in _WHOLE:
            return pa.int64()
        if c in _NUMBERS:
            return pa.float64()
        if c == "TIL_LINKAGE":
            return pa.bool_()
        return pa.string()
    return pa.schema([(c, kind(c)) for c in columns_of(source)])


def parse(source: str, texts: list[str]):
    """Key rows (JSON texts) -> an Arrow table in fixed types (Arrow's JSON reader: many rows
    a second, no Python object per value)."""
    import pyarrow as pa
    import pyarrow.json as pj

    schema = _schema(source)
    if not texts:
        return schema.empty_table()
    data = ("\n".join(texts) + "\n").encode("utf-8")
    table = pj.read_json(pa.BufferReader(data), read_options=pj.ReadOptions(block_size=1 << 24),
                         parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"))
    return table.select(schema.names).cast(schema)


def to_frame(source: str, tables: list) -> pd.DataFrame:
    """Arrow tables of key rows -> the frame the check reads: whole numbers nullable, ages
    numbers, TIL_LINKAGE true/false, the texts as categories (a national table's names repeat:
    one object per distinct value, not per row)."""
    import pyarrow as pa

    table = pa.concat_tables(tables) if tables else _schema(source).empty_table()
    frame = table.to_pandas(strings_to_categorical=True,
                            types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    if "TIL_LINKAGE" in frame:
        frame["TIL_LINKAGE"] = frame["TIL_LINKAGE"].fillna(True).astype(bool)
    return frame


__all__ = ["KEYS_VERSION", "columns_of", "drop_sets", "fingerprints", "kept_fingerprints", "reference_fingerprint",
           "parse", "refresh", "to_frame"]
