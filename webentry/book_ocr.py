"""``mgr-ingest ocr --book ENTRY``: read every page of a registered book, in book order.

The suggestions are written as JSON (the same shape as ``mgr-ingest ocr PAGE...``) and
cached on the book's scans, where the entry screen picks them up.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from webentry.db import open_web_store, session_factory
from webentry.models import Book, Page, Scan
from webentry.scans import scans_root


def read_book(work: Path, db: str | None, entry_number: str) -> dict:
    """OCR of all pages of the book ``entry_number``; raises LookupError if there is none."""
    from ingest.ocr.pipeline import ocr_pages

    store = open_web_store(work, db)
    try:
        sessions = session_factory(store)
        with sessions() as session:
            book = session.execute(select(Book).where(Book.entry_number == entry_number)).scalar_one_or_none()
            if book is None:
                raise LookupError(f"no book {entry_number} is registered (register it in the web application)")
            pages = session.execute(select(Page.seq, Page.file_name, Scan.sha256, Scan.path)
                                    .join(Scan, Scan.sha256 == Page.scan_sha256)
                                    .where(Page.book_id == book.id).order_by(Page.seq)).all()
        if not pages:
            raise LookupError(f"book {entry_number} has no scanned pages yet")
        root = scans_root(work)
        result = ocr_pages([root / rel for _seq, _name, _sha, rel in pages])
        with sessions() as session, session.begin():
            for (_seq, _name, sha, _rel), page in zip(pages, result["pages"]):
                scan = session.get(Scan, sha)
                scan.ocr = {**page, "prefill_threshold": result.get("prefill_threshold")}
                scan.ocr_status = "done"
                scan.ocr_at = datetime.now(UTC)
        # Name pages as the book knows them, not by their hash-addressed storage path.
        for (seq, name, _sha, _rel), page in zip(pages, result["pages"]):
            page["file"], page["page_seq"] = name, seq
        return result
    finally:
        store.close()


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="mgr-ingest ocr --book",
                                 description="Read the scanned pages of a registered book, in book order.")
    ap.add_argument("--book", required=True, metavar="ENTRY", help="the book's entry number, e.g. K2697")
    ap.add_argument("--json", dest="json_out", metavar="FILE", help="write the suggestions here ('-' = stdout)")
    ap.add_argument("--work", type=Path, default=Path("mgr-work"), help="work folder (default ./mgr-work)")
    ap.add_argument("--db", help="database URL (default $MGR_DB_URL, else WORK/mgr.sqlite)")
    try:
        args = ap.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code in (0, None) else 2
    try:
        result = read_book(args.work, args.db, args.book)
    except LookupError as exc:
        print(f"mgr-ingest ocr: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # one line, never a traceback
        print(f"mgr-ingest ocr: could not run ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})",
              file=sys.stderr)
        return 2
    text = json.dumps(result, ensure_ascii=False, indent=1) + "\n"
    if args.json_out and args.json_out != "-":
        Path(args.json_out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    print(f"mgr-ingest ocr: {len(result['pages'])} page(s) of {args.book} read", file=sys.stderr)
    return 0
