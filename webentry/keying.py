"""What keying costs: the figures for the goal of cutting it by a quarter.

Per transcriber and per book (reviewers and admins, ``GET /keying``):

* records keyed, and the keying time: the gaps between one person's consecutive new records
  in a book, counting only gaps up to ``BREAK_MINUTES`` (a longer gap is a break, not
  keying); its median is the time one record takes;
* the values saved, by how each came about: typed, or accepted from what the screen offered
  (the scan's OCR reading, a value carried from the record before, the proposed next
  number, an autocomplete spelling, a check's suggestion, the record above), and the share
  accepted. An accepted value is one the transcriber did not have to type.

Only keys and counts: no keyed value is read here.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from flask import Blueprint, render_template
from sqlalchemy import select

from webentry.auth import reviewer_required
from webentry.db import db
from webentry.models import Book, Record, RecordVersion

bp = Blueprint("keying", __name__)

BREAK_MINUTES = 10
SOURCES_OFFERED = ("ocr", "carried", "proposed", "autocomplete", "check", "above", "draft")


@dataclass
class Tally:
    records: int = 0
    gaps: list[float] = field(default_factory=list)  # seconds between consecutive new records
    typed: int = 0
    accepted: Counter = field(default_factory=Counter)  # by where the value came from
    corrected: int = 0
    illegible: int = 0

    @property
    def values(self) -> int:
        return self.typed + sum(self.accepted.values()) + self.corrected + self.illegible

    @property
    def accepted_share(self) -> float | None:
        return sum(self.accepted.values()) / self.values if self.values else None

    @property
    def median_seconds(self) -> float | None:
        return statistics.median(self.gaps) if self.gaps else None

    @property
    def keying_minutes(self) -> float:
        return sum(self.gaps) / 60


def _count(tally: Tally, provenance: dict) -> None:
    for info in (provenance or {}).values():
        how = info.get("how", "typed") if isinstance(info, dict) else "typed"
        if how == "accepted":
            tally.accepted[info.get("from") or "other"] += 1
        elif how == "corrected":
            tally.corrected += 1
        elif how == "illegible":
            tally.illegible += 1
        else:
            tally.typed += 1


def keying_figures(session) -> tuple[dict[str, Tally], dict[int, Tally], Tally]:
    """(per transcriber, per book id, everything) from the first saved version of each record."""
    first = (select(Record.book_id, RecordVersion.saved_by, RecordVersion.saved_at, RecordVersion.provenance)
             .join(Record, Record.id == RecordVersion.record_id).where(RecordVersion.version == 1)
             .order_by(RecordVersion.saved_by, Record.book_id, RecordVersion.saved_at))
    people: dict[str, Tally] = defaultdict(Tally)
    books: dict[int, Tally] = defaultdict(Tally)
    total = Tally()
    last: dict[tuple[str, int], object] = {}
    for book_id, who, at, provenance in session.execute(first):
        gap = None
        before = last.get((who, book_id))
        if before is not None:
            seconds = (at - before).total_seconds()
            if 0 <= seconds <= BREAK_MINUTES * 60:
                gap = seconds
        last[(who, book_id)] = at
        for tally in (people[who], books[book_id], total):
            tally.records += 1
            if gap is not None:
                tally.gaps.append(gap)
            _count(tally, provenance)
    return dict(people), dict(books), total


@bp.route("/keying")
@reviewer_required
def figures():
    s = db()
    people, by_book, total = keying_figures(s)
    books = {b.id: b for b in s.scalars(select(Book).where(Book.id.in_(list(by_book))))} if by_book else {}
    return render_template("keying.html", people=sorted(people.items()), total=total, offered=SOURCES_OFFERED,
                           books=sorted(((books[i], t) for i, t in by_book.items() if i in books),
                                        key=lambda bt: bt[0].entry_number),
                           break_minutes=BREAK_MINUTES)
