"""``mgr-ingest ocr export-training``: what staff keyed, as training cells for the recognisers.

    mgr-ingest ocr export-training --out DIR [--book ENTRY] [--work DIR] [--db URL]

Every entry number and birth date that a transcriber keyed and a reviewer approved (the book
is *approved*), on a scan row that the OCR located, becomes a labelled cell: the cell is cut
from the scan at the box the OCR found for that row, and the keyed value is its label.
The record's row on its page is its place among the page's records in keying order, as the
entry screen counts it. Written in the archives' layout, so the training command takes it
as it is (``mgr-ingest ocr train --field entry_number DIR/row_id …``)::

    DIR/row_id/born_<entry>_<page>-<section>_row_id_<row>.png   + DIR/row_id/labels.csv
    DIR/birthdate/born_<entry>_<page>-<section>_birthdate_<row>.png + DIR/birthdate/labels.csv

Only the two keyed values are written, never a name or any other field; the log holds
counts only. A value that is not in the recogniser's label form (an illegible ``?``, a
date with wildcards) is left out.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
from collections import Counter
from pathlib import Path

from PIL import Image
from sqlalchemy import select

log = logging.getLogger("mgr_ingest.web.training_export")
FIELDS = {"entry_number": ("KILDE_LOEBE_NR", "row_id"), "birth_date": ("FOEDSELSDATO", "birthdate")}


def _box(row: dict, field: str) -> list[int] | None:
    """Where the OCR located the field's cell on this row (the cell itself, else the box of
    what it read there)."""
    located = (row.get("cells") or {}).get("entry_number" if field == "entry_number" else "date")
    if located:
        return located
    if field == "entry_number":
        e = row.get("entry_number") or {}
        return e.get("box")
    for d in row.get("dates") or []:
        if (d.get("role") or "date") == "date":
            return d.get("box")
    return None


def export_training(session, work: Path, out: Path, entry: str | None = None) -> Counter:
    """Write the approved cells; returns counts (cells per field, values left out)."""
    from ingest.htr.calibrate import truth
    from webentry.models import BOOK_APPROVED, Book, Page, Record, Scan
    from webentry.scans import scans_root

    counts: Counter = Counter()
    q = select(Book).where(Book.status == BOOK_APPROVED)
    if entry:
        q = q.where(Book.entry_number == entry)
    labels: dict[str, list[tuple[str, str]]] = {folder: [] for _f, (_c, folder) in FIELDS.items()}
    for book in session.scalars(q.order_by(Book.entry_number)):
        if book.source not in ("KBF", "KBD"):
            continue
        pages = {p.seq: p for p in session.scalars(select(Page).where(Page.book_id == book.id))}
        records = list(session.scalars(select(Record).where(Record.book_id == book.id)
                                       .order_by(Record.page_seq, Record.loebe_nr)))
        on_page: Counter = Counter()
        for rec in records:
            if rec.page_seq is None or rec.page_seq not in pages:
                continue
            row_index = on_page[rec.page_seq]
            on_page[rec.page_seq] += 1
            scan = session.get(Scan, pages[rec.page_seq].scan_sha256)
            rows = ((scan.ocr or {}).get("rows") or []) if scan is not None else []
            if row_index >= len(rows):
                counts["not_located"] += 1
                continue
            section = "F" + ((rec.fields or {}).get("KOEN") or "X")[:1].upper()
            for field, (column, folder) in FIELDS.items():
                if book.source == "KBD" and field == "birth_date":
                    continue
                label = truth(field, str((rec.fields or {}).get(column) or ""))
                box = _box(rows[row_index], field)
                if label is None or not box:
                    counts[f"{field}_left_out"] += 1
                    continue
                name = f"born_{book.entry_number}_{rec.page_seq:04d}-{section}_{folder}_{row_index}.png"
                target = out / folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with Image.open(scans_root(work) / scan.path) as img:
                    x0, y0, x1, y1 = (int(v) for v in box)
                    img.crop((max(0, x0), max(0, y0), x1, y1)).convert("L").save(target)
                labels[folder].append((name, label))
                counts[field] += 1
    for folder, rows in labels.items():
        if rows:
            with open(out / folder / "labels.csv", "w", newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                w.writerow(["filename", "label"])
                w.writerows(rows)
    log.info("training cells exported: %d entry numbers, %d birth dates, %d records not located",
             counts["entry_number"], counts["birth_date"], counts["not_located"])
    return counts


def main(argv: list[str]) -> int:
    from sqlalchemy.orm import Session

    from ingest.store import StoreError
    from webentry.db import open_web_store

    p = argparse.ArgumentParser(prog="mgr-ingest ocr export-training",
                                description="Write the approved keyed entry numbers and birth dates, cut from "
                                            "their scans, as training cells (the archives' layout).")
    p.add_argument("--out", type=Path, required=True, help="folder to write row_id/ and birthdate/ into")
    p.add_argument("--book", help="only this book (its entry number, e.g. K2697)")
    p.add_argument("--work", type=Path, default=None, help="work folder (default ./mgr-work or $MGR_WORK)")
    p.add_argument("--db", help="database URL (default $MGR_DB_URL, else WORK/mgr.sqlite)")
    try:
        a = p.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    work = a.work or Path(os.environ.get("MGR_WORK") or "mgr-work")
    if not (work.is_dir() or a.db or os.environ.get("MGR_DB_URL")):
        print(f"mgr-ingest ocr export-training: there is no work folder {work}", file=sys.stderr)
        return 2
    try:
        store = open_web_store(work, a.db)
    except StoreError as exc:
        print(f"mgr-ingest ocr export-training: {exc}", file=sys.stderr)
        return 2
    try:
        a.out.mkdir(parents=True, exist_ok=True)
        with Session(store.engine) as s:
            counts = export_training(s, store.work, a.out, a.book)
    except OSError as exc:
        print(f"mgr-ingest ocr export-training: cannot write {a.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(f"{counts['entry_number']} entry-number cells and {counts['birth_date']} birth-date cells written to "
          f"{a.out} ({counts['not_located']} approved records on rows the OCR did not locate)", file=sys.stderr)
    return 0
