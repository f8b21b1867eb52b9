"""What was keyed in the web screen, written as a KIIP delivery (KIIP_FORMAT.md).

Two files per book: ``Knnnndok.csv`` (metadata header and row) and the data file
(``fd``/``dd``/``ft``: data header, one row per record in LOEBE_NR order, an empty separator
line, then the metadata header and row again as the trailer). Separator ``;``; fields that
hold ``;``, ``"`` or a line break are quoted with doubled quotes inside. Windows-1252 as KIIP
writes, or UTF-8 with a BOM when a value has a character Windows-1252 lacks. CRLF line ends.

A note that keeps a flagged reading ("the book says so") goes into
``INDTASTERS_BEMAERKNINGER`` with the field it is about, so the reason travels with the
record; the keyed values themselves are written exactly as keyed.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import func, select

from validators.schemas import META_COLUMNS
from validators.sources import SOURCES
from webentry.checks import book_row
from webentry.layout import LABELS, kiip_columns
from webentry.models import Book, Record
from webentry.records import RECORD_NOTE

DEFINITION_FILES = {"KBF": "KBF.def", "KBD": "KBD.def", "FT": "FT.def"}


def _remarks(fields: dict, notes: dict) -> str:
    own = (fields.get("INDTASTERS_BEMAERKNINGER") or "").strip()
    parts = [own] if own else []
    for name, text in sorted((notes or {}).items()):
        label = "Posten" if name == RECORD_NOTE else LABELS.get(name, name)
        parts.append(f"{label}: {text}")
    return "; ".join(parts)


def _lines(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", quotechar='"', quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
    return buf.getvalue()


def _encoder(*texts: str):
    """Windows-1252 when every text fits it, else UTF-8 with a BOM (both files alike)."""
    try:
        for t in texts:
            t.encode("cp1252")
        return lambda t: t.encode("cp1252")
    except UnicodeEncodeError:
        return lambda t: "\ufeff".encode() + t.encode("utf-8")


def metadata(book: Book, count: int, transcriber: str, when: datetime) -> dict:
    return {
        "INDTASTNINGSNUMMER": book.entry_number, "KILDE": SOURCES[book.source].kilde, "SOGN": book.parish,
        "HERRED": book.herred or "", "AMT": book.amt or "", "FRA_AAR": str(book.from_year),
        "TIL_AAR": str(book.to_year), "INDTASTER": transcriber, "INDTASTNINGSDATO": when.strftime("%Y%m%d"),
        "ANTAL_POSTER": str(count), "DEFINITIONSFIL": DEFINITION_FILES[book.source],
    }


def export_files(session, book: Book, when: datetime | None = None) -> tuple[dict[str, bytes], int]:
    """{file name: bytes} of the book's KIIP delivery, and the number of records in it."""
    when = when or datetime.now(UTC)
    records = list(session.scalars(select(Record).where(Record.book_id == book.id).order_by(Record.loebe_nr)))
    # INDTASTER: who keyed most of the book.
    top = session.execute(select(Record.created_by, func.count()).where(Record.book_id == book.id)
                          .group_by(Record.created_by).order_by(func.count().desc())).first()
    meta = metadata(book, len(records), top[0] if top else "", when)
    meta_rows = [list(META_COLUMNS), [meta[c] for c in META_COLUMNS]]
    columns = kiip_columns(book.source)
    data_rows = [columns]
    for r in records:
        row = book_row(book, r.fields, r.loebe_nr)
        if "INDTASTERS_BEMAERKNINGER" in row:
            row["INDTASTERS_BEMAERKNINGER"] = _remarks(r.fields, r.notes)
        data_rows.append([row[c] for c in columns])
    data_text = _lines(data_rows) + "\r\n" + _lines(meta_rows)
    suffix = SOURCES[book.source].data_suffix
    dok_text = _lines(meta_rows)
    encode = _encoder(dok_text, data_text)
    files = {f"{book.entry_number}dok.csv": encode(dok_text), f"{book.entry_number}{suffix}.csv": encode(data_text)}
    return files, len(records)


def write_export(session, book: Book, folder, when: datetime | None = None) -> list:
    """Write the delivery's files into ``folder`` (for the importer's inbox); return the paths."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files, _ = export_files(session, book, when)
    paths = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths
