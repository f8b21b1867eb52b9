"""Manual corrections: making them, and carrying them over to a new version of a delivery.

The record key
--------------
A record is known by ``(entry number, LOEBE_NR)``: the entry number of its delivery
(``K2697``) and the running number KIIP wrote in the record's ``LOEBE_NR`` column, read
as a whole number (``" 12 "`` and ``"012"`` are 12; a value that is not a whole number gives
no key, and such a record cannot take a manual correction).

Why the key survives re-delivery: the entry number names the transcription job, not the
file, and KIIP writes it in the file names, the metadata and every row of every export of
that job. ``LOEBE_NR`` is the number KIIP gives a record when it is keyed and writes into
every later export; correcting a record's fields in KIIP and exporting again does not
change it. So the same record in a new export of the same job has the same key, while
the file name, the line and the row's position may all move (a record inserted above it
shifts the lines below).

The key is trusted, not blindly: a manual correction is carried over to the new version
only when the raw value it corrected is still keyed there, unchanged, under the same key.
When the value changed (the transcriber fixed it differently, or the numbering shifted and
the key now belongs to another child) a person decides: the correction stays with the old
version and a ``CORRECTION_CONFLICT`` finding names record, field and both values. When the
key is gone, ``CORRECTION_RECORD_GONE`` says so. When the new export already holds the
corrected value, the correction has done its work and is not carried (the audit log says
``correction_settled``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pyarrow as pa
from sqlalchemy import Connection, and_, func, insert, select

from ingest.store.audit import audit, now
from ingest.store.models import (
    KIND_MANUAL,
    STATUS_CURRENT,
    corrections,
    deliveries,
    delivery_files,
    raw_rows,
)
from validators.findings import finding

KEY_FIELDS = ("INDTASTNINGSNUMMER", "LOEBE_NR")


class CorrectionRefused(ValueError):
    """The correction cannot be recorded (no such record, ambiguous key, key field…)."""


@dataclass
class CarryOver:
    carried: int = 0
    settled: int = 0
    conflicts: int = 0
    gone: int = 0
    findings: list[dict] | None = None


def latest_manual(conn: Connection, delivery_id: int) -> list:
    """The manual corrections in force on one version: the newest per (record, field)."""
    newest = (select(func.max(corrections.c.id).label("id"))
              .where(corrections.c.delivery_id == delivery_id, corrections.c.kind == KIND_MANUAL)
              .group_by(corrections.c.loebe_nr, corrections.c.field)).subquery()
    query = select(corrections).join(newest, corrections.c.id == newest.c.id).order_by(
        corrections.c.loebe_nr, corrections.c.field)
    return list(conn.execute(query))


def manual_for(conn: Connection, delivery_ids: list[int]) -> list:
    out = []
    for did in delivery_ids:
        out.extend(latest_manual(conn, did))
    return out


def add_correction(store, entry_number: str, loebe_nr: int, field: str, new_value: str | None, *,
                   who: str, why: str | None = None) -> int:
    """Record a person's correction of one field of one record in the current version of a
    delivery; return its id. The raw row is not touched."""
    if field in KEY_FIELDS:
        raise CorrectionRefused(f"{field} is part of the record key and cannot be corrected; "
                                "ask for a corrected export instead")
    if not who or who == "rule":
        raise CorrectionRefused("a manual correction needs the name of the person who made it")
    with store.transaction() as conn:
        current = conn.execute(select(deliveries).where(
            deliveries.c.entry_number == entry_number, deliveries.c.status == STATUS_CURRENT)).first()
        if current is None:
            raise CorrectionRefused(f"no current delivery {entry_number} in the store")
        delivered = set(current.columns) | set(current.extra_columns)
        if field not in delivered:
            raise CorrectionRefused(f"{entry_number} has no column {field}")
        rows = conn.execute(
            select(raw_rows.c.fields, raw_rows.c.line, delivery_files.c.name)
            .join(delivery_files, delivery_files.c.id == raw_rows.c.file_id)
            .where(raw_rows.c.delivery_id == current.id, raw_rows.c.loebe_nr == loebe_nr)).all()
        if not rows:
            raise CorrectionRefused(f"{entry_number} has no record with LOEBE_NR {loebe_nr}")
        if len(rows) > 1:
            raise CorrectionRefused(f"LOEBE_NR {loebe_nr} appears {len(rows)} times in {entry_number}; "
                                    "the record cannot be told apart")
        fields, line, file_name = rows[0]
        if isinstance(fields, str):  # a driver that does not decode JSON
            import json

            fields = json.loads(fields)
        old_value = fields.get(field, "")
        result = conn.execute(insert(corrections).values(
            delivery_id=current.id, entry_number=entry_number, loebe_nr=loebe_nr, field=field,
            old_value=old_value, new_value=new_value, kind=KIND_MANUAL, rule=None, who=who, made_at=now(),
            why=why, file=file_name, line=line, carried_from_id=None))
        correction_id = result.inserted_primary_key[0]
        audit(conn, "correction_added", actor=who, entry_number=entry_number, delivery_id=current.id,
              correction_id=correction_id, loebe_nr=loebe_nr, field=field)
    return correction_id


def carry_over(conn: Connection, *, old_id: int, new_id: int, entry_number: str, source: str | None,
               table: pa.Table, keys: list[int | None], file_name: str | None, run_id: int) -> CarryOver:
    """Carry the manual corrections of version ``old_id`` to version ``new_id`` (whose rows
    are ``table`` with record ``keys``), inside the new version's transaction."""
    result = CarryOver(findings=[])
    manual = latest_manual(conn, old_id)
    if not manual:
        return result
    counts = Counter(k for k in keys if k is not None)
    where_key = {k: i for i, k in enumerate(keys) if k is not None}
    for c in manual:
        key = c.loebe_nr
        base = dict(source=source, entry_number=entry_number, file=file_name, loebe_nr=key, field=c.field)
        what = f"manual correction of {c.field} by {c.who} ('{c.old_value}' -> '{c.new_value}')"
        if key is None or counts.get(key, 0) == 0:
            result.gone += 1
            result.findings.append(finding(
                "CORRECTION_RECORD_GONE",
                f"the {what} was not carried over: the new version has no record with LOEBE_NR {key}",
                suggestion=c.new_value, **base))
            audit(conn, "correction_not_carried", run_id=run_id, entry_number=entry_number, delivery_id=new_id,
                  correction_id=c.id, loebe_nr=key, field=c.field, why="record gone")
            continue
        row = where_key[key]
        line = int(table.column("_line")[row].as_py()) if "_line" in table.column_names else None
        page = table.column("KILDE_SIDE")[row].as_py() if "KILDE_SIDE" in table.column_names else None
        if counts[key] > 1:
            result.conflicts += 1
            result.findings.append(finding(
                "CORRECTION_CONFLICT",
                f"the {what} was not carried over: LOEBE_NR {key} appears {counts[key]} times in the new version",
                suggestion=c.new_value, line=line, page=page, **base))
            audit(conn, "correction_not_carried", run_id=run_id, entry_number=entry_number, delivery_id=new_id,
                  correction_id=c.id, loebe_nr=key, field=c.field, why="key not unique")
            continue
        now_keyed = table.column(c.field)[row].as_py() if c.field in table.column_names else None
        now_keyed = now_keyed or ""
        if now_keyed == (c.old_value or ""):
            inserted = conn.execute(insert(corrections).values(
                delivery_id=new_id, entry_number=entry_number, loebe_nr=key, field=c.field,
                old_value=c.old_value, new_value=c.new_value, kind=KIND_MANUAL, rule=None, who=c.who,
                made_at=c.made_at, why=c.why, file=file_name, line=line, carried_from_id=c.id))
            result.carried += 1
            audit(conn, "correction_carried", run_id=run_id, entry_number=entry_number, delivery_id=new_id,
                  correction_id=inserted.inserted_primary_key[0], carried_from=c.id, loebe_nr=key, field=c.field)
        elif now_keyed == (c.new_value or ""):
            result.settled += 1
            audit(conn, "correction_settled", run_id=run_id, entry_number=entry_number, delivery_id=new_id,
                  correction_id=c.id, loebe_nr=key, field=c.field)
        else:
            result.conflicts += 1
            result.findings.append(finding(
                "CORRECTION_CONFLICT",
                f"the {what} was not carried over: the new version has '{now_keyed}' there",
                suggestion=c.new_value, line=line, page=page, **base))
            audit(conn, "correction_not_carried", run_id=run_id, entry_number=entry_number, delivery_id=new_id,
                  correction_id=c.id, loebe_nr=key, field=c.field, why="raw value changed")
    return result


def corrections_of(conn: Connection, delivery_ids: list[int]) -> list:
    """Every correction (rule and manual) recorded for the given versions, oldest first."""
    if not delivery_ids:
        return []
    return list(conn.execute(select(corrections).where(and_(corrections.c.delivery_id.in_(delivery_ids)))
                             .order_by(corrections.c.id)))
