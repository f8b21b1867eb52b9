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

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import exists, func, select

from ingest.store.corrections import CorrectionRefused, add_correction
from ingest.store.models import KIND_MANUAL, STATUS_CURRENT, corrections, deliveries, findings, raw_rows
from validators.catalogue import CATALOGUE
from webentry import audit
from webentry.api_schema import small_int
from webentry.auth import reviewer_required
from webentry.db import db
from webentry.models import DECISION_BOOK_RIGHT, DECISION_CORRECTED, Book, Decision, Page, Record, Scan
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


@bp.route("/qa")
@reviewer_required
def queue():
    f = _filters()
    s = db()
    offset = small_int(request.args.get("offset")) or 0
    base = _query(f)
    total = s.scalar(select(func.count()).select_from(base.subquery()))
    rows = s.execute(base.order_by(findings.c.entry_number, findings.c.line, findings.c.id)
                     .offset(offset).limit(PAGE_SIZE)).all()
    current = (select(deliveries.c.id).where(deliveries.c.status == STATUS_CURRENT)).scalar_subquery()
    books = [r[0] for r in s.execute(select(findings.c.entry_number).where(findings.c.delivery_id.in_(current))
                                     .group_by(findings.c.entry_number).order_by(findings.c.entry_number))]
    codes = s.execute(select(findings.c.code, func.count()).where(findings.c.delivery_id.in_(current))
                      .group_by(findings.c.code).order_by(findings.c.code)).all()
    decided = {d.finding_id: d for d in s.scalars(select(Decision).where(
        Decision.finding_id.in_([r.id for r in rows])))} if rows else {}
    return render_template("qa.html", rows=rows, total=total, offset=offset, page_size=PAGE_SIZE, f=f, books=books,
                           codes=codes, catalogue=CATALOGUE, decided=decided,
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


def _scan_for(entry_number: str | None, loebe_nr: int | None, page: str | None) -> dict | None:
    """The scan page of a record, when the book's scans are in the web application."""
    if not entry_number:
        return None
    s = db()
    book = s.scalar(select(Book).where(Book.entry_number == entry_number))
    if book is None:
        return None
    seq = None
    if loebe_nr is not None:
        seq = s.scalar(select(Record.page_seq).where(Record.book_id == book.id, Record.loebe_nr == loebe_nr))
    pages = s.execute(select(Page.seq, Scan).join(Scan, Scan.sha256 == Page.scan_sha256)
                      .where(Page.book_id == book.id).order_by(Page.seq)).all()
    if seq is None and page:
        for pseq, scan in pages:
            number = ((scan.ocr or {}).get("page_number") or {}).get("value")
            if number is not None and str(number) == str(page).strip():
                seq = pseq
                break
    for pseq, scan in pages:
        if pseq == seq:
            return {"book": book, "seq": pseq, "view": url_for("books.scan_file", sha=scan.sha256, kind="view"),
                    "width": scan.view_width, "height": scan.view_height,
                    "ocr": page_suggestions(scan, book.source)}
    return {"book": book, "seq": None}


@bp.route("/qa/<id:finding_id>")
@reviewer_required
def detail(finding_id: int):
    s = db()
    row = s.execute(select(findings, deliveries.c.status.label("delivery_status"))
                    .join(deliveries, deliveries.c.id == findings.c.delivery_id)
                    .where(findings.c.id == finding_id)).first()
    if row is None:
        abort(404)
    record = _raw_record(row.delivery_id, row.loebe_nr)
    in_force = _corrections_in_force(row.delivery_id, row.loebe_nr)
    decisions = list(s.scalars(select(Decision).where(Decision.finding_id == finding_id).order_by(Decision.id)))
    scan = _scan_for(row.entry_number, row.loebe_nr, row.page)
    from webentry.layout import form_fields

    # the entry screen's labels first, the KIIP column names beside them
    labels = {fld.name: fld.label for fld in form_fields(row.source)} if row.source in ("KBF", "KBD", "FT") else {}
    return render_template("qa_finding.html", f=row, record=record, in_force=in_force, decisions=decisions,
                           scan=scan, code=CATALOGUE.get(row.code), filters=_filters(), labels=labels,
                           fq={k: v for k, v in _filters().items() if v})


def _next_open(after_id: int, f: dict) -> int | None:
    q = _query({**f, "show": ""}).where(findings.c.id != after_id)
    nxt = db().execute(q.order_by(findings.c.entry_number, findings.c.line, findings.c.id).limit(1)).first()
    return nxt.id if nxt else None


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
            flash("This finding is not about one field of one record: it cannot take a correction.", "error")
            return redirect(back)
        why = f"{row.code}" + (f": {note}" if note else "")
        try:
            correction_id = add_correction(current_app.extensions["mgr_store"], row.entry_number, int(row.loebe_nr),
                                           field, new_value.strip(), who=current_user.name, why=why)
        except CorrectionRefused as exc:
            flash(str(exc), "error")
            return redirect(back)
    elif decision != DECISION_BOOK_RIGHT:
        abort(400)
    elif not note:
        flash("Say in a note what the book shows, so the next reader knows why the value stays.", "error")
        return redirect(back)
    s.add(Decision(finding_id=finding_id, decision=decision, correction_id=correction_id, note=note,
                   who=current_user.name, made_at=_now()))
    audit.write(s, "finding_resolved", actor=current_user.name, entry_number=row.entry_number,
                target=f"finding:{finding_id}", new={"decision": decision, "code": row.code,
                                                     "correction_id": correction_id},
                loebe_nr=row.loebe_nr, field=row.field)
    s.commit()
    flash("Correction recorded." if decision == DECISION_CORRECTED else "Recorded: the book is right.")
    nxt = _next_open(finding_id, filters)
    if nxt is not None:
        return redirect(url_for("qa.detail", finding_id=nxt, **{k: v for k, v in filters.items() if v}))
    return redirect(url_for("qa.queue", **{k: v for k, v in filters.items() if v}))


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)

