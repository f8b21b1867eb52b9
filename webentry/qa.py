"""The QA queue: findings of the imported deliveries, for reviewers to resolve.

The queue lists the findings of current delivery versions that nobody has resolved yet,
filtered by book (entry number), code and severity. Opening one shows the record as keyed
(raw row and corrections in force) beside its scan page when the book's scans are in the
web application. Resolving it is one of:

* a correction: a manual correction in the store (``ingest.store.add_correction``), laid
  over the raw value, carried to later versions by the store's rules;
* "the book is right": the keyed value is what the book says; nothing is changed and the
  decision (with its note) keeps the finding out of the queue.
"""

from __future__ import annotations

import json
import re

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import and_, case, exists, func, or_, select

from ingest.store.corrections import CorrectionRefused, add_correction
from ingest.store.models import KIND_MANUAL, STATUS_CURRENT, corrections, deliveries, findings, raw_rows
from validators.catalogue import CATALOGUE
from webentry import audit
from webentry.api_schema import small_int
from webentry.auth import reviewer_required
from webentry.db import db
from webentry.finding_text import translate
from webentry.i18n import GROUP_LABELS
from webentry.models import (
    DECISION_BOOK_RIGHT,
    DECISION_CORRECTED,
    DECISION_SAME,
    DECISION_TWO,
    Book,
    Decision,
    Page,
    Record,
    Scan,
)
from webentry.scans import page_suggestions

bp = Blueprint("qa", __name__)

PAGE_SIZE = 100
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _filters() -> dict:
    return {k: (request.values.get(k) or "").strip() for k in ("book", "code", "severity", "show")}


def _query(f: dict):
    decided = exists().where(Decision.finding_id == findings.c.id)
    q = (select(findings, deliveries.c.version.label("delivery_version"))
         .join(deliveries, deliveries.c.id == findings.c.delivery_id)
         .where(deliveries.c.status == STATUS_CURRENT))
    if f.get("show") != "all":
        q = q.where(~decided)
    if f.get("book"):
        q = q.where(findings.c.entry_number == f["book"])
    if f.get("code"):
        q = q.where(findings.c.code == f["code"])
    if f.get("severity"):
        q = q.where(findings.c.severity == f["severity"])
    return q


def _group_key(table):
    """Findings are shown a group at a time: all of one record's (delivery, LOEBE_NR), or,
    when they are about no record, all of one file's."""
    return case((table.c.loebe_nr.is_(None), func.coalesce(table.c.file, "")), else_="")


@bp.route("/qa")
@reviewer_required
def queue():
    f = _filters()
    s = db()
    offset = small_int(request.args.get("offset")) or 0
    base = _query(f).subquery()
    file_key = _group_key(base).label("file_key")
    grouped = (select(base.c.delivery_id, base.c.loebe_nr, file_key,
                      func.min(base.c.entry_number).label("entry_number"), func.min(base.c.line).label("line"),
                      func.min(base.c.id).label("first_id"), func.count().label("n"))
               .group_by(base.c.delivery_id, base.c.loebe_nr, file_key))
    total = s.scalar(select(func.count()).select_from(base)) or 0
    total_groups = s.scalar(select(func.count()).select_from(grouped.subquery())) or 0
    page = s.execute(grouped.order_by("entry_number", "line", "first_id").offset(offset).limit(PAGE_SIZE)).all()
    groups = []
    if page:
        wanted = or_(*[and_(base.c.delivery_id == g.delivery_id,
                            base.c.loebe_nr.is_(None) if g.loebe_nr is None else base.c.loebe_nr == g.loebe_nr,
                            _group_key(base) == g.file_key) for g in page])
        members: dict[tuple, list] = {}
        for r in s.execute(select(base).where(wanted).order_by(base.c.line, base.c.id)):
            key = (r.delivery_id, r.loebe_nr, "" if r.loebe_nr is not None else (r.file or ""))
            members.setdefault(key, []).append(r)
        for g in page:
            rows = sorted(members.get((g.delivery_id, g.loebe_nr, g.file_key), []),
                          key=lambda r: (SEVERITY_ORDER.get(r.severity, 9), r.line or 0, r.id))
            if rows:
                groups.append({"first": rows[0], "rows": rows, "kind": "file" if g.loebe_nr is None else "record",
                               "lines": sorted({r.line for r in rows if r.line is not None})})
    ids = [r.id for g in groups for r in g["rows"]]
    decided = {d.finding_id: d for d in s.scalars(select(Decision).where(Decision.finding_id.in_(ids)))} if ids else {}
    current = (select(deliveries.c.id).where(deliveries.c.status == STATUS_CURRENT)).scalar_subquery()
    books = [r[0] for r in s.execute(select(findings.c.entry_number).where(findings.c.delivery_id.in_(current))
                                     .group_by(findings.c.entry_number).order_by(findings.c.entry_number))]
    codes = s.execute(select(findings.c.code, func.count()).where(findings.c.delivery_id.in_(current))
                      .group_by(findings.c.code).order_by(findings.c.code)).all()
    return render_template("qa.html", groups=groups, total=total, total_groups=total_groups, offset=offset,
                           page_size=PAGE_SIZE, f=f, books=books, codes=codes, catalogue=CATALOGUE, decided=decided,
                           tr=translate,
                           fq={k: v for k, v in f.items() if v})


def _raw_record(delivery_id: int, loebe_nr: int | None) -> dict | None:
    if loebe_nr is None:
        return None
    row = db().execute(select(raw_rows.c.fields, raw_rows.c.line).where(
        raw_rows.c.delivery_id == delivery_id, raw_rows.c.loebe_nr == loebe_nr).limit(1)).first()
    if row is None:
        return None
    fields = row.fields if isinstance(row.fields, dict) else json.loads(row.fields)
    return {"fields": fields, "line": row.line}


def _corrections_in_force(delivery_id: int, loebe_nr: int | None) -> dict:
    if loebe_nr is None:
        return {}
    out = {}
    for c in db().execute(select(corrections).where(corrections.c.delivery_id == delivery_id,
                                                    corrections.c.loebe_nr == loebe_nr)
                          .order_by(corrections.c.id)):
        if c.kind == KIND_MANUAL or c.field not in out:
            out[c.field] = c
    return out


def _row_band(ocr: dict, row_index: int | None, entry_value: str | None) -> list | None:
    """The band of the record's row on the scan: the row it was keyed from when it was keyed
    here, else the row whose entry number the OCR read as the record's."""
    rows = ocr.get("rows") or []
    if row_index is not None and 0 <= row_index < len(rows) and rows[row_index].get("band"):
        return rows[row_index]["band"]
    wanted = (entry_value or "").strip().lower()
    if wanted:
        for r in rows:
            if r.get("band") and str((r.get("entry_number") or {}).get("value") or "").strip().lower() == wanted:
                return r["band"]
    return None


def _scan_for(delivery_id: int, entry_number: str | None, loebe_nr: int | None, page: str | None,
              fields: dict | None) -> dict | None:
    """The scan page of a record, with the record's row on it, when the book's scans are in
    the web application; and the record in the entry screen when it was keyed here."""
    if not entry_number:
        return None
    s = db()
    book = s.scalar(select(Book).where(Book.entry_number == entry_number))
    if book is None:
        return None
    web_record = None
    if loebe_nr is not None and book.delivery_id == delivery_id:  # this delivery was keyed here
        web_record = s.scalar(select(Record).where(Record.book_id == book.id, Record.loebe_nr == loebe_nr))
    seq = web_record.page_seq if web_record is not None else None
    row_index = None
    if web_record is not None and seq is not None:
        row_index = s.scalar(select(func.count()).select_from(Record).where(
            Record.book_id == book.id, Record.page_seq == seq, Record.loebe_nr < loebe_nr)) or 0
    pages = s.execute(select(Page.seq, Scan).join(Scan, Scan.sha256 == Page.scan_sha256)
                      .where(Page.book_id == book.id).order_by(Page.seq)).all()
    page = (fields or {}).get("KILDE_SIDE") or page
    if seq is None and page:
        for pseq, scan in pages:
            number = ((scan.ocr or {}).get("page_number") or {}).get("value")
            if number is not None and str(number) == str(page).strip():
                seq = pseq
                break
    out = {"book": book, "seq": None, "record": web_record}
    for pseq, scan in pages:
        if pseq != seq:
            continue
        ocr = page_suggestions(scan, book.source)
        band = _row_band(ocr, row_index, (fields or {}).get("KILDE_LOEBE_NR"))
        w, h = scan.view_width, scan.view_height
        out.update(seq=pseq, view=url_for("books.scan_file", sha=scan.sha256, kind="view"), width=w, height=h,
                   ocr=ocr, band=band,
                   # the band as percentages of the page, for the plain image without the viewer
                   band_pct=[round(100 * band[0] / w, 2), round(100 * band[1] / h, 2),
                             round(100 * (band[2] - band[0]) / w, 2), round(100 * (band[3] - band[1]) / h, 2)]
                   if band and w and h else None)
    return out


# "same birth as line 12 (LOEBE_NR 11)": the record a duplicate finding points at; a
# finding across deliveries names the other delivery's entry number before it
_OTHER = re.compile(r"LOEBE_NR (\d+)")
_OTHER_BOOK = re.compile(r"\b([A-Z]\d{3,6})\b")
DUPLICATE_CODES = {"DUPLICATE_RECORD", "DUPLICATE_ACROSS_DELIVERIES", "DUPLICATE_DEATH_ACROSS_DELIVERIES"}


def _other_record(row) -> dict | None:
    """The other record of a finding about two records: a cross-source finding names it in
    ``other``; a duplicate inside one delivery names its LOEBE_NR in the message."""
    delivery_id, entry_number = row.delivery_id, row.entry_number
    other = getattr(row, "other", None)
    if other and other.get("entry_number") and other.get("loebe_nr") is not None:
        entry_number, loebe_nr = str(other["entry_number"]), int(other["loebe_nr"])
    elif row.code in DUPLICATE_CODES and (m := _OTHER.search(row.message or "")):
        loebe_nr = int(m.group(1))
        named = [b for b in _OTHER_BOOK.findall(row.message[:m.start()]) if b != row.entry_number]
        entry_number = named[-1] if named else entry_number
    else:
        return None
    if entry_number != row.entry_number:
        found = db().execute(select(deliveries.c.id).where(deliveries.c.entry_number == entry_number,
                                                           deliveries.c.status == STATUS_CURRENT)).first()
        if found is None:
            return None
        delivery_id = found.id
    record = _raw_record(delivery_id, loebe_nr)
    if record is None:
        return None
    source = (other or {}).get("source") or row.source
    return {"entry_number": entry_number, "loebe_nr": loebe_nr, "record": record, "source": source,
            "in_force": _corrections_in_force(delivery_id, loebe_nr),
            "scan": _scan_for(delivery_id, entry_number, loebe_nr, None, record["fields"])}


# A cross-source finding about two records is decided as one person or two (the words the
# page uses for each code)
PAIR_CHOICES = {
    "DUPLICATE_ACROSS_DELIVERIES": (_l("The same child: this registration is a copy"), _l("Two children")),
    "DUPLICATE_DEATH_ACROSS_DELIVERIES": (_l("The same death: this registration is a copy"), _l("Two deaths")),
    "CROSSCHECK_REVIEW": (_l("The same person"), _l("Two persons")),
    "BOOK_DELIVERED_TWICE": (_l("The same book delivered twice"), _l("Two books")),
    # inside one delivery: the record this finding is on is the later of the two
    "DUPLICATE_RECORD": (_l("Keyed twice: this record is the copy"), _l("Two different records")),
}


def _takes_pair_decision(row, other: dict | None) -> bool:
    """A finding about two records: a cross-source finding naming the other record, or a
    duplicate inside one delivery whose other record is found."""
    if row.code not in PAIR_CHOICES:
        return False
    return bool(getattr(row, "other", None)) or (row.code == "DUPLICATE_RECORD" and other is not None)


def _same_group(table, row):
    if row.loebe_nr is not None:
        return and_(table.c.delivery_id == row.delivery_id, table.c.loebe_nr == row.loebe_nr)
    return and_(table.c.delivery_id == row.delivery_id, table.c.loebe_nr.is_(None),
                func.coalesce(table.c.file, "") == (row.file or ""))


def _entry_link(scan: dict | None, back: str) -> str | None:
    """The record in the entry screen, with the way back to this finding."""
    if scan and scan.get("record") is not None:
        return url_for("entry.screen", book_id=scan["book"].id, r=scan["record"].loebe_nr, back=back)
    return None


@bp.route("/qa/<id:finding_id>")
@reviewer_required
def detail(finding_id: int):
    s = db()
    row = s.execute(select(findings, deliveries.c.status.label("delivery_status"))
                    .join(deliveries, deliveries.c.id == findings.c.delivery_id)
                    .where(findings.c.id == finding_id)).first()
    if row is None:
        abort(404)
    filters = _filters()
    fq = {k: v for k, v in filters.items() if v}
    record = _raw_record(row.delivery_id, row.loebe_nr)
    in_force = _corrections_in_force(row.delivery_id, row.loebe_nr)
    decisions = list(s.scalars(select(Decision).where(Decision.finding_id == finding_id).order_by(Decision.id)))
    scan = _scan_for(row.delivery_id, row.entry_number, row.loebe_nr, row.page, record and record["fields"])
    other = _other_record(row)
    here = url_for("qa.detail", finding_id=finding_id, **fq)
    decided = exists().where(Decision.finding_id == findings.c.id)
    siblings = s.execute(select(findings).where(_same_group(findings, row), findings.c.id != finding_id, ~decided)
                         .order_by(findings.c.line, findings.c.id)).all()
    from webentry.layout import form_fields

    # the entry screen's labels first, the KIIP column names beside them
    # (a label the form uses twice, such as Fornavn for the child and the mother, gets its group)
    labels = {}
    for src in dict.fromkeys([row.source, other and other["source"]]):
        specs = form_fields(src) if src in ("KBF", "KBD", "FT") else []
        twice = {lbl for lbl in (fld.label for fld in specs) if sum(1 for g in specs if g.label == lbl) > 1}
        for fld in specs:
            group = str(GROUP_LABELS.get(fld.group, fld.group)).lower()
            labels.setdefault(fld.name, f"{fld.label} ({group})" if fld.label in twice else fld.label)
    compare = None
    if other:
        mine = record["fields"] if record else {}
        names = list(mine) + [k for k in other["record"]["fields"] if k not in mine]
        compare = [(k, mine.get(k, ""), other["record"]["fields"].get(k, "")) for k in names]
    return render_template("qa_finding.html", f=row, record=record, in_force=in_force, decisions=decisions,
                           scan=scan, code=CATALOGUE.get(row.code), filters=filters, labels=labels, fq=fq,
                           other=other, compare=compare, siblings=siblings, catalogue=CATALOGUE, tr=translate,
                           pair=PAIR_CHOICES[row.code] if _takes_pair_decision(row, other) else None,
                           entry_link=_entry_link(scan, here),
                           other_entry_link=_entry_link(other and other["scan"], here),
                           next_link=url_for("qa.skip", finding_id=finding_id, **fq))


def _next_open(row, f: dict, *, same_record_first: bool) -> int | None:
    """The finding to show after this one: another open finding of the same record first
    (after a resolution), then the next in the queue's order, then the queue's first."""
    q = _query({**f, "show": ""}).where(findings.c.id != row.id)
    order = (findings.c.entry_number, findings.c.line, findings.c.id)
    if same_record_first:
        nxt = db().execute(q.where(_same_group(findings, row)).order_by(*order).limit(1)).first()
        if nxt is not None:
            return nxt.id
    else:
        q = q.where(~_same_group(findings, row))
    en, ln = func.coalesce(findings.c.entry_number, ""), func.coalesce(findings.c.line, -1)
    e, n = row.entry_number or "", row.line if row.line is not None else -1
    later = or_(en > e, and_(en == e, ln > n), and_(en == e, ln == n, findings.c.id > row.id))
    nxt = db().execute(q.where(later).order_by(*order).limit(1)).first()
    if nxt is None:
        nxt = db().execute(q.order_by(*order).limit(1)).first()
    return nxt.id if nxt else None


@bp.route("/qa/<id:finding_id>/next")
@reviewer_required
def skip(finding_id: int):
    """Leave this finding for later and open the next record's (or file's) first finding."""
    row = db().execute(select(findings).where(findings.c.id == finding_id)).first()
    if row is None:
        abort(404)
    filters = _filters()
    fq = {k: v for k, v in filters.items() if v}
    nxt = _next_open(row, filters, same_record_first=False)
    if nxt is None:
        flash(_("No other finding is open with these filters."))
        return redirect(url_for("qa.queue", **fq))
    return redirect(url_for("qa.detail", finding_id=nxt, **fq))


@bp.route("/qa/<id:finding_id>/resolve", methods=["POST"])
@reviewer_required
def resolve(finding_id: int):
    s = db()
    row = s.execute(select(findings).where(findings.c.id == finding_id)).first()
    if row is None:
        abort(404)
    decision = request.form.get("decision")
    note = (request.form.get("note") or "").strip()[:500] or None
    filters = _filters()
    back = url_for("qa.detail", finding_id=finding_id, **{k: v for k, v in filters.items() if v})
    correction_id = None
    s.commit()  # end this request's transaction: the store writes the correction in its own
    if decision == DECISION_CORRECTED:
        field = (request.form.get("field") or row.field or "").strip()
        new_value = request.form.get("new_value", "")
        if row.loebe_nr is None or not field:
            flash(_("This finding is not about one field of one record: it cannot take a correction."), "error")
            return redirect(back)
        why = f"{row.code}" + (f": {note}" if note else "")
        try:
            correction_id = add_correction(current_app.extensions["mgr_store"], row.entry_number, int(row.loebe_nr),
                                           field, new_value.strip(), who=current_user.name, why=why)
        except CorrectionRefused as exc:
            flash(str(exc), "error")
            return redirect(back)
    elif decision in (DECISION_SAME, DECISION_TWO):
        if not _takes_pair_decision(row, _other_record(row) if row.code == "DUPLICATE_RECORD" else None):
            abort(400)  # only a finding about two records takes this decision
    elif decision != DECISION_BOOK_RIGHT:
        abort(400)
    elif not note:
        flash(_("Say in a note what the book shows, so the next reader knows why the value stays."), "error")
        return redirect(back)
    s.add(Decision(finding_id=finding_id, decision=decision, correction_id=correction_id, note=note,
                   who=current_user.name, made_at=_now()))
    audit.write(s, "finding_resolved", actor=current_user.name, entry_number=row.entry_number,
                target=f"finding:{finding_id}", new={"decision": decision, "code": row.code,
                                                     "correction_id": correction_id},
                loebe_nr=row.loebe_nr, field=row.field)
    s.commit()
    flash({DECISION_CORRECTED: _("Correction recorded."), DECISION_BOOK_RIGHT: _("Recorded: the book is right."),
           DECISION_SAME: _("Recorded: one person."), DECISION_TWO: _("Recorded: two persons.")}[decision])
    nxt = _next_open(row, filters, same_record_first=True)
    if nxt is not None:
        return redirect(url_for("qa.detail", finding_id=nxt, **{k: v for k, v in filters.items() if v}))
    return redirect(url_for("qa.queue", **{k: v for k, v in filters.items() if v}))


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)

