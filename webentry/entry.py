"""The entry screen and the JSON endpoints it calls.

The page is rendered once per record with everything the form needs in a JSON block
(the layout, the record or the values carried forward for a new one, the scan pages and
the OCR suggestions of the current page). The browser then calls:

``POST /api/books/<id>/check/field``     one field, when it is left (fast: the field's rule)
``POST /api/books/<id>/check/record``    the record with its section (gaps, repeats, order,
                                         duplicates), after a field is left and on save
``POST /api/books/<id>/records``         save a new record
``PUT  /api/books/<id>/records/<n>``     save a change (refused with both versions on conflict)
``PUT|DELETE /api/books/<id>/draft``     autosave
``GET  /api/books/<id>/pages/<seq>/ocr`` the OCR suggestions of a page
``GET  /api/books/<id>/section-last``    the last entry number of a section (the proposal)
``GET  /api/suggest``                    autocomplete
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, jsonify, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from webentry import checks, suggest
from webentry.api_schema import (
    JSON_MAX_BYTES,
    BodyRefused,
    DraftBody,
    FieldCheckBody,
    RecordCheckBody,
    RecordSaveBody,
    parse,
    small_int,
)
from webentry.auth import book_or_404, open_book_ids, safe_target
from webentry.db import db
from webentry.layout import CARRIED, OCR_ROLES, PROPOSED, SECTION_FIELDS, layout_json
from webentry.models import Book, Draft, Page, Record, Scan, draft_key
from webentry.records import SaveRefused, draft_json, record_json, save_draft, save_record
from webentry.scans import page_suggestions

bp = Blueprint("entry", __name__)

_NUMBER = re.compile(r"\s*(\d{1,5})")


def _json_body(model) -> dict:
    """The request's JSON body read through its model (``webentry.api_schema``); a body too
    large, not JSON or of the wrong shape ends the request with 413 or 400."""
    if (request.content_length or 0) > JSON_MAX_BYTES:
        abort(413)
    body = request.get_json(silent=True)
    try:
        return parse(model, body)
    except BodyRefused as exc:
        abort(make_response(jsonify(error=_("the request body does not have the expected shape"),
                                    problems=exc.problems), 400))


def _pages(book: Book) -> list[dict]:
    rows = db().execute(select(Page.seq, Scan.sha256, Scan.view_width, Scan.view_height, Scan.ocr_status)
                        .join(Scan, Scan.sha256 == Page.scan_sha256).where(Page.book_id == book.id)
                        .order_by(Page.seq)).all()
    return [{"seq": seq, "view": url_for("books.scan_file", sha=sha, kind="view"),
             "thumb": url_for("books.scan_file", sha=sha, kind="thumb"), "width": w, "height": h, "ocr": status}
            for seq, sha, w, h, status in rows]


def _page_ocr(book: Book, seq: int | None) -> dict | None:
    if seq is None:
        return None
    scan = db().scalar(select(Scan).join(Page, Page.scan_sha256 == Scan.sha256)
                       .where(Page.book_id == book.id, Page.seq == seq))
    return page_suggestions(scan, book.source) if scan is not None else None


def _records_on_page(book: Book, seq: int | None, before: int | None) -> int:
    if seq is None:
        return 0
    q = select(func.count()).select_from(Record).where(Record.book_id == book.id, Record.page_seq == seq)
    if before is not None:
        q = q.where(Record.loebe_nr < before)
    return db().scalar(q) or 0


def section_last(book: Book, section: dict) -> str | None:
    """The entry number of the last record keyed in this section of the book."""
    q = select(Record.fields).where(Record.book_id == book.id)
    for name in SECTION_FIELDS.get(book.source, ()):
        if section.get(name):
            q = q.where(Record.fields[name].as_string() == str(section[name]))
    fields = db().scalar(q.order_by(Record.loebe_nr.desc()).limit(1))
    return (fields or {}).get("KILDE_LOEBE_NR")


def proposal_after(entry: str | None) -> str | None:
    """Previous + 1 (24 -> 25, 24a -> 25); nothing when the previous is not a number."""
    m = _NUMBER.match(entry or "")
    return str(int(m.group(1)) + 1) if m else None


def first_year_proposal(book: Book, ocr: dict | None) -> dict | None:
    """The registration year (KALENDERAAR) proposed for the first record of a book: the year
    the page heading reads (OCR) when it is one of the book's years, else the book's first
    year. Later records carry the year of the record before."""
    if "KALENDERAAR" not in SECTION_FIELDS.get(book.source, ()):
        return None
    lo = book.from_year
    if lo is None:
        return None
    hi = book.to_year if book.to_year is not None else lo
    read = (ocr or {}).get("heading_year") or {}
    year = small_int(str(read.get("value") or ""))
    if year is not None and lo <= year <= hi:
        return {"field": "KALENDERAAR", "value": str(year),
                "why": _("the page heading reads %(year)s · Tab confirms", year=year)}
    span = str(lo) if hi == lo else f"{lo}-{hi}"
    return {"field": "KALENDERAAR", "value": str(lo), "why": _("the book's first year (%(span)s) · Tab confirms", span=span)}


@bp.route("/books/<id:book_id>/entry")
@login_required
def screen(book_id: int):
    book = book_or_404(book_id)
    s = db()
    wanted = request.args.get("r", "new")
    record = None
    if wanted != "new":
        if small_int(wanted) is None:
            abort(404)
        record = s.scalar(select(Record).where(Record.book_id == book.id, Record.loebe_nr == small_int(wanted)))
        if record is None:
            abort(404)
    own = record.loebe_nr if record else None
    prev_q = select(Record).where(Record.book_id == book.id)
    if own is not None:
        prev_q = prev_q.where(Record.loebe_nr < own)
    previous = s.scalar(prev_q.order_by(Record.loebe_nr.desc()).limit(1))
    last = s.scalar(select(func.max(Record.loebe_nr)).where(Record.book_id == book.id)) or 0
    total = s.scalar(select(func.count()).select_from(Record).where(Record.book_id == book.id)) or 0
    pages = _pages(book)
    seqs = [p["seq"] for p in pages]
    page_seq = None
    asked = small_int(request.args.get("page"))
    if asked is not None and asked in seqs:
        page_seq = asked
    elif record is not None and record.page_seq in seqs:
        page_seq = record.page_seq
    elif previous is not None and previous.page_seq in seqs:
        page_seq = previous.page_seq
        # The page is full (as many records as the form has rows): the next record is overleaf.
        if book.page_capacity and _records_on_page(book, page_seq, None) >= book.page_capacity:
            later = [q for q in seqs if q > page_seq]
            page_seq = later[0] if later else page_seq
    elif seqs:
        page_seq = seqs[0]
    draft = s.scalar(select(Draft).where(Draft.user_id == current_user.id, Draft.book_id == book.id,
                                         Draft.draft_key == draft_key(own)))
    page_ocr = _page_ocr(book, page_seq)
    data = {
        "book": {"id": book.id, "entry_number": book.entry_number, "source": book.source, "title": book.title,
                 "from_year": book.from_year, "to_year": book.to_year, "page_capacity": book.page_capacity},
        "layout": layout_json(book.source),
        "carried": list(CARRIED[book.source]),
        "proposed": list(PROPOSED[book.source]),
        "section_fields": list(SECTION_FIELDS.get(book.source, ())),
        "ocr_roles": OCR_ROLES.get(book.source, {}),
        "record": record_json(record) if record else None,
        "previous": record_json(previous) if previous else None,
        "last_loebe_nr": last,
        "total": total,
        "pages": pages,
        "page_seq": page_seq,
        "row_on_page": _records_on_page(book, page_seq, own),
        "ocr": page_ocr,
        # "previous + 1" only after a previous record: the first record of a book (often a
        # partly scanned one, starting anywhere) gets no proposal; the scan's reading or the
        # transcriber's typing fills it
        "proposal": proposal_after((previous.fields or {}).get("KILDE_LOEBE_NR")) if previous else None,
        "year_proposal": first_year_proposal(book, page_ocr) if previous is None and record is None else None,
        "draft": draft_json(draft),
        "urls": {
            "check_field": url_for("entry.check_field", book_id=book.id),
            "check_record": url_for("entry.check_record_api", book_id=book.id),
            "records": url_for("entry.create_record", book_id=book.id),
            "draft": url_for("entry.draft", book_id=book.id),
            "suggest": url_for("entry.suggest_api"),
            "section_last": url_for("entry.section_last_api", book_id=book.id),
            "ocr": url_for("entry.page_ocr", book_id=book.id, seq=0).rsplit("/0/", 1)[0],
            "screen": url_for("entry.screen", book_id=book.id),
            "osd_images": url_for("static", filename="vendor/openseadragon/images/"),
        },
    }
    # opened from the QA queue: the way back to the finding (a path on this site only)
    back = safe_target(request.args.get("back"))
    return render_template("entry.html", book=book, record=record, data=data, total=total, last=last, back=back)


@bp.route("/api/books/<id:book_id>/check/field", methods=["POST"])
@login_required
def check_field(book_id: int):
    book = book_or_404(book_id)
    body = _json_body(FieldCheckBody)
    name = body["field"]
    value = body.get("value")
    return jsonify(field=name, issues=checks.check_field(book.source, name, None if value is None else str(value)))


@bp.route("/api/books/<id:book_id>/check/record", methods=["POST"])
@login_required
def check_record_api(book_id: int):
    book = book_or_404(book_id)
    body = _json_body(RecordCheckBody)
    fields = body["fields"]
    loebe_nr = body.get("loebe_nr")
    result = checks.check_record(db(), book, {k: str(v) for k, v in fields.items() if v is not None}, loebe_nr,
                                 limit=current_app.config["SECTION_ROWS_MAX"])
    return jsonify(issues=result.issues, loebe_nr=result.loebe_nr)


def _save(book: Book, loebe_nr: int | None):
    s = db()
    body = _json_body(RecordSaveBody)
    try:
        saved = save_record(s, book, current_user.name, body, loebe_nr, user_id=current_user.id,
                            section_limit=current_app.config["SECTION_ROWS_MAX"])
        s.commit()
    except SaveRefused as exc:
        s.rollback()
        return jsonify(exc.body), exc.status
    rec = saved.record
    nxt = url_for("entry.screen", book_id=book.id, r="new")
    later = s.scalar(select(func.min(Record.loebe_nr)).where(Record.book_id == book.id, Record.loebe_nr > rec.loebe_nr))
    if later is not None:
        nxt = url_for("entry.screen", book_id=book.id, r=later)
    return jsonify(record=record_json(rec), issues=saved.issues, next=nxt), (201 if saved.created else 200)


@bp.route("/api/books/<id:book_id>/records", methods=["POST"])
@login_required
def create_record(book_id: int):
    return _save(book_or_404(book_id), None)


@bp.route("/api/books/<id:book_id>/records/<id:loebe_nr>", methods=["GET", "PUT"])
@login_required
def record_api(book_id: int, loebe_nr: int):
    book = book_or_404(book_id)
    if request.method == "PUT":
        return _save(book, loebe_nr)
    rec = db().scalar(select(Record).where(Record.book_id == book.id, Record.loebe_nr == loebe_nr))
    if rec is None:
        abort(404)
    return jsonify(record=record_json(rec))


@bp.route("/api/books/<id:book_id>/draft", methods=["GET", "PUT", "DELETE"])
@login_required
def draft(book_id: int):
    book = book_or_404(book_id)
    s = db()
    # ?r=new (the default) or ?r=N: the draft of the new record, or of saved record N
    wanted = request.args.get("r", "new")
    if wanted != "new" and small_int(wanted) is None:
        abort(404)
    mine = select(Draft).where(Draft.user_id == current_user.id, Draft.book_id == book.id,
                               Draft.draft_key == draft_key(None if wanted == "new" else small_int(wanted)))
    if request.method == "GET":
        return jsonify(draft=draft_json(s.scalar(mine)))
    if request.method == "DELETE":
        d = s.scalar(mine)
        if d is not None:
            s.delete(d)
            from webentry import audit

            audit.write(s, "draft_discarded", actor=current_user.name, entry_number=book.entry_number,
                        target=f"record:{d.loebe_nr if d.loebe_nr is not None else 'new'}")
            s.commit()
        return jsonify(deleted=d is not None)
    try:
        d = save_draft(s, book, current_user.id, current_user.name, _json_body(DraftBody))
        s.commit()
    except SaveRefused as exc:
        s.rollback()
        return jsonify(exc.body), exc.status
    return jsonify(saved_at=d.saved_at.isoformat(timespec="seconds"))


@bp.route("/api/books/<id:book_id>/pages/<id:seq>/ocr")
@login_required
def page_ocr(book_id: int, seq: int):
    book = book_or_404(book_id)
    ocr = _page_ocr(book, seq)
    if ocr is None:
        abort(404)
    return jsonify(ocr=ocr, row_on_page=_records_on_page(book, seq, small_int(request.args.get("before"))))


@bp.route("/api/books/<id:book_id>/section-last")
@login_required
def section_last_api(book_id: int):
    book = book_or_404(book_id)
    section = {k: request.args.get(k, "") for k in SECTION_FIELDS.get(book.source, ())}
    last = section_last(book, section)
    return jsonify(last=last, proposal=proposal_after(last) if last else None)


@bp.route("/api/suggest")
@login_required
def suggest_api():
    book = book_or_404(small_int(request.args.get("book")) or 0)
    field = request.args.get("field", "")[:64]
    typed = request.args.get("q", "")[:100]
    out = suggest.suggest(db(), field, typed, ttl=current_app.config["SUGGEST_CACHE_SECONDS"],
                          sex=(request.args.get("sex") or "")[:8] or None,
                          factory=current_app.extensions["mgr_reading"],
                          book_ids=None if current_user.sees_all_books else open_book_ids(current_user))
    out["book"] = book.id
    return jsonify(out)
