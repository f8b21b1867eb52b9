"""Books and their scanned pages: the list, registering a book, uploading pages, assigning
transcribers, showing scans, and exporting what was keyed as a KIIP delivery."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import func, select

from validators.fields import check_entry_number
from validators.sources import SOURCES
from webentry import audit
from webentry.api_schema import small_int
from webentry.auth import admin_required, book_or_404, may_open_book, reviewer_required, visible_books_query
from webentry.db import db, write_session
from webentry.models import ROLE_TRANSCRIBER, Assignment, Book, Page, Record, Scan, User
from webentry.scans import Limits, ServerBusy, add_pages, scans_root

bp = Blueprint("books", __name__)

BOOK_FIELDS = ("entry_number", "source", "title", "parish", "herred", "amt", "from_year", "to_year",
               "page_capacity")


def _book_counts(book_ids: list[int]) -> tuple[dict, dict]:
    s = db()
    pages = dict(s.execute(select(Page.book_id, func.count()).where(Page.book_id.in_(book_ids))
                           .group_by(Page.book_id)).all()) if book_ids else {}
    records = dict(s.execute(select(Record.book_id, func.count()).where(Record.book_id.in_(book_ids))
                             .group_by(Record.book_id)).all()) if book_ids else {}
    return pages, records


@bp.route("/books")
@login_required
def index():
    books = list(db().scalars(visible_books_query(current_user)))
    pages, records = _book_counts([b.id for b in books])
    return render_template("books.html", books=books, pages=pages, records=records)


def validate_book_form(form) -> tuple[dict, list[str]]:
    """The book's settings from a form, and what is wrong with them."""
    errors = []
    values = {k: (form.get(k) or "").strip() for k in BOOK_FIELDS}
    checked = check_entry_number(values["entry_number"])
    if checked.value is None or any(i.severity == "error" and not i.auto_fix for i in checked.issues):
        errors.append(_("entry number must be K followed by four digits (e.g. K2697)"))
    else:
        values["entry_number"] = checked.value
    if values["source"] not in SOURCES:
        errors.append(_("source must be KBF, KBD or FT"))
    for key, needed in (("title", _("the title is needed")), ("parish", _("the parish is needed"))):
        if not values[key]:
            errors.append(needed)
    years = []
    for key, wrong in (("from_year", _("from year must be a year")), ("to_year", _("to year must be a year"))):
        v = values[key]
        if not re.fullmatch(r"1[5-9]\d\d|20\d\d", v):
            errors.append(wrong)
        else:
            years.append(int(v))
            values[key] = int(v)
    if len(years) == 2 and years[0] > years[1]:
        errors.append(_("the years run backwards"))
    cap = values["page_capacity"]
    if cap:
        if not re.fullmatch(r"[0-9]{1,3}", cap) or not 1 <= int(cap) <= 200:
            errors.append(_("entries per page must be a number from 1 to 200"))
        else:
            values["page_capacity"] = int(cap)
    else:
        values["page_capacity"] = None
    for key in ("herred", "amt"):
        values[key] = values[key] or None
    return values, errors


@bp.route("/books/new", methods=["GET", "POST"])
@admin_required
def new():
    values, errors = {}, []
    if request.method == "POST":
        values, errors = validate_book_form(request.form)
        s = db()
        if not errors and s.scalar(select(Book.id).where(Book.entry_number == values["entry_number"])):
            errors.append(_("a book with entry number %(entry)s exists already", entry=values["entry_number"]))
        if not errors:
            book = Book(**values, created_by=current_user.name, created_at=datetime.now(UTC))
            s.add(book)
            s.flush()
            audit.write(s, "book_registered", actor=current_user.name, entry_number=book.entry_number,
                        target=f"book:{book.id}", new={k: values[k] for k in BOOK_FIELDS})
            s.commit()
            flash(_("Book %(entry)s registered. Upload its scanned pages below.", entry=book.entry_number))
            return redirect(url_for("books.show", book_id=book.id))
    return render_template("book_new.html", values=values, errors=errors, sources=SOURCES), (422 if errors else 200)


@bp.route("/books/<id:book_id>")
@login_required
def show(book_id: int):
    book = book_or_404(book_id)
    s = db()
    pages = s.execute(select(Page, Scan).join(Scan, Scan.sha256 == Page.scan_sha256)
                      .where(Page.book_id == book.id).order_by(Page.seq)).all()
    n_records = s.scalar(select(func.count()).select_from(Record).where(Record.book_id == book.id))
    assigned = list(s.scalars(select(User).join(Assignment, Assignment.user_id == User.id)
                              .where(Assignment.book_id == book.id).order_by(User.name)))
    transcribers = list(s.scalars(select(User).where(User.role == ROLE_TRANSCRIBER, User.active.is_(True))
                                  .order_by(User.name))) if current_user.is_admin else []
    stats = provenance_stats(book.id)
    records = list(s.scalars(select(Record).where(Record.book_id == book.id).order_by(Record.loebe_nr)
                             .limit(RECORDS_LISTED)))
    return render_template("book.html", book=book, pages=pages, n_records=n_records, assigned=assigned,
                           transcribers=transcribers, stats=stats, records=records)


RECORDS_LISTED = 2000  # the book page lists the first records; the entry screen pages through all


def provenance_stats(book_id: int) -> dict:
    """Per field: how many values were typed, accepted or corrected, and from what
    (the data for measuring what OCR and carried values save)."""
    out: dict[str, dict[str, int]] = {}
    for (prov,) in db().execute(select(Record.provenance).where(Record.book_id == book_id)):
        for name, info in (prov or {}).items():
            key = info.get("how", "typed") + (f" ({info['from']})" if info.get("from") else "")
            out.setdefault(name, {}).setdefault(key, 0)
            out[name][key] += 1
    return out


@bp.route("/books/<id:book_id>/pages", methods=["POST"])
@admin_required
def upload(book_id: int):
    book = book_or_404(book_id)
    files = request.files.getlist("pages")
    uploads = [(f.filename or "upload", f.read()) for f in files if f and (f.filename or "").strip()]
    if not uploads:
        flash(_("Choose one or more scanned pages (JPEG, PNG or TIFF) to upload."), "error")
        return redirect(url_for("books.show", book_id=book.id))
    s = db()
    try:
        added, problems = add_pages(s, current_app.config["WORK"], book, uploads, current_user.name,
                                    Limits.from_config(current_app.config))
    except ServerBusy as exc:
        s.rollback()
        if request.accept_mimetypes.best == "application/json":
            return {"added": [], "problems": [str(exc)]}, 503
        flash(_("Nothing was uploaded: %(why)s.", why=str(exc)), "error")
        return redirect(url_for("books.show", book_id=book.id))
    s.commit()
    for p in problems:
        flash(p, "error")
    if added:
        flash(ngettext("%(num)d page added.", "%(num)d pages added.", len(added)))
        mode = current_app.config["OCR_MODE"]
        if mode == "sync":
            from webentry.scans import run_ocr_for_book

            run_ocr_for_book(current_app.extensions["mgr_sessions"], current_app.config["WORK"], book.id)
        elif mode == "background":
            current_app.extensions["mgr_ocr"].submit(book.id)
    status = 200 if added or not problems else 422
    if request.accept_mimetypes.best == "application/json":
        return {"added": [p.seq for p in added], "problems": problems}, status
    return redirect(url_for("books.show", book_id=book.id))


@bp.route("/books/<id:book_id>/assign", methods=["POST"])
@admin_required
def assign(book_id: int):
    book = book_or_404(book_id)
    s = db()
    user_id = small_int(request.form.get("user_id"))
    if user_id is None:
        abort(400)
    user = s.get(User, user_id)
    if user is None:
        abort(404)
    action = request.form.get("action", "add")
    existing = s.scalar(select(Assignment).where(Assignment.book_id == book.id, Assignment.user_id == user.id))
    if action == "remove" and existing is not None:
        s.delete(existing)
        audit.write(s, "book_unassigned", actor=current_user.name, entry_number=book.entry_number,
                    target=f"book:{book.id}", old={"user": user.name})
    elif action == "add" and existing is None:
        s.add(Assignment(book_id=book.id, user_id=user.id))
        audit.write(s, "book_assigned", actor=current_user.name, entry_number=book.entry_number,
                    target=f"book:{book.id}", new={"user": user.name})
    s.commit()
    return redirect(url_for("books.show", book_id=book.id))


@bp.route("/scans/<sha>/<kind>")
@login_required
def scan_file(sha: str, kind: str):
    if kind not in ("view", "thumb") or not re.fullmatch(r"[0-9a-f]{64}", sha):
        abort(404)
    s = db()
    scan = s.get(Scan, sha)
    if scan is None:
        abort(404)
    book_ids = list(s.scalars(select(Page.book_id).where(Page.scan_sha256 == sha)))
    if not any(may_open_book(current_user, b) for b in book_ids):
        abort(404)
    rel = scan.view_path if kind == "view" else scan.thumb_path
    path = scans_root(current_app.config["WORK"]) / rel
    if not path.is_file():
        abort(404)
    mime = {"jpg": "image/jpeg", "png": "image/png", "tif": "image/tiff"}[path.suffix.lstrip(".")]
    response = send_file(path, mimetype=mime, conditional=True, etag=f"{sha}-{kind}", max_age=0)
    # a scan shows person data: like the pages, never kept in the browser's cache after log-out
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/books/<id:book_id>/export")
@reviewer_required
def export(book_id: int):
    from webentry.export import export_files

    book = book_or_404(book_id)
    files, count = export_files(db(), book)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    with write_session() as w:
        audit.write(w, "book_exported", actor=current_user.name, entry_number=book.entry_number,
                    target=f"book:{book.id}", new={"files": sorted(files), "records": count})
        w.commit()
    buf.seek(0)
    return send_file(buf, mimetype="application/zip", as_attachment=True,
                     download_name=f"{book.entry_number}-kiip.zip")
