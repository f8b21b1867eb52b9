"""The review of a keyed book: from the web screen into the store.

``keying``    the transcribers are at work (every book starts here);
``ready``     a transcriber says the book is done (``POST /books/<id>/ready``);
``approved``  a reviewer has imported it into the store (``POST /books/<id>/approve``): the
              book is written as its KIIP delivery and imported exactly as an export dropped
              in the inbox would be (a new version if the entry number was imported before,
              manual corrections carried over), and its findings join the QA queue.

A reviewer can send a ready or approved book back to keying with a note the transcribers
see (``POST /books/<id>/return``); a record saved in an approved book puts it back to
keying by itself, since the store no longer holds what was keyed. Every step is in the
audit log.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select

from webentry import audit
from webentry.auth import book_or_404, reviewer_required
from webentry.db import db
from webentry.models import BOOK_APPROVED, BOOK_KEYING, BOOK_READY, Book, Record

bp = Blueprint("review", __name__)

LABELS = {BOOK_KEYING: _l("keying"), BOOK_READY: _l("ready for review"), BOOK_APPROVED: _l("approved, in the store")}


def _set(book: Book, status: str, actor: str, note: str | None = None) -> None:
    book.status = status
    book.status_by = actor
    book.status_at = datetime.now(UTC)
    book.status_note = note


def reopen_if_approved(session, book: Book, actor: str) -> None:
    """A record saved in an approved book: the store no longer holds what was keyed."""
    if book.status == BOOK_APPROVED:
        _set(book, BOOK_KEYING, actor, _("changed after approval: approve again to update the store"))
        audit.write(session, "book_reopened", actor=actor, entry_number=book.entry_number, target=f"book:{book.id}")


@bp.route("/books/<id:book_id>/ready", methods=["POST"])
@login_required
def ready(book_id: int):
    book = book_or_404(book_id)
    s = db()
    if book.status != BOOK_KEYING:
        flash(_("The book is already %(status)s.", status=LABELS.get(book.status, book.status)), "error")
    elif not s.scalar(select(func.count()).select_from(Record).where(Record.book_id == book.id)):
        flash(_("Nothing has been keyed in this book yet."), "error")
    else:
        _set(book, BOOK_READY, current_user.name)
        audit.write(s, "book_ready", actor=current_user.name, entry_number=book.entry_number, target=f"book:{book.id}")
        s.commit()
        flash(_("Marked ready for review. A reviewer imports it into the store."))
    return redirect(url_for("books.show", book_id=book.id))


@bp.route("/books/<id:book_id>/return", methods=["POST"])
@reviewer_required
def send_back(book_id: int):
    book = book_or_404(book_id)
    note = (request.form.get("note") or "").strip()[:500]
    if book.status == BOOK_KEYING:
        flash(_("The book is being keyed already."), "error")
    elif not note:
        flash(_("Say in a note what the transcriber should look at."), "error")
    else:
        s = db()
        old = book.status
        _set(book, BOOK_KEYING, current_user.name, note)
        audit.write(s, "book_returned", actor=current_user.name, entry_number=book.entry_number,
                    target=f"book:{book.id}", old={"status": old}, new={"status": BOOK_KEYING})
        s.commit()
        flash(_("Sent back to keying with your note."))
    return redirect(url_for("books.show", book_id=book.id))


@bp.route("/books/<id:book_id>/approve", methods=["POST"])
@reviewer_required
def approve(book_id: int):
    from ingest.store import LockHeld, StoreError, WorkLock, import_paths
    from webentry.export import export_files

    book = book_or_404(book_id)
    back = redirect(url_for("books.show", book_id=book.id))
    if book.status != BOOK_READY:
        flash(_("Only a book its transcriber marked ready can be approved."), "error")
        return back
    s = db()
    files, count = export_files(s, book)
    entry, capacity = book.entry_number, book.page_capacity
    s.commit()  # end this request's transaction: the import writes in its own
    store = current_app.extensions["mgr_store"]
    folder = Path(tempfile.mkdtemp(prefix=".review-", dir=store.work))
    try:
        for name, data in files.items():
            (folder / name).write_bytes(data)
        with WorkLock(store.work, store):
            store.archive.clear_incoming()  # half-copies left by a killed run; the lock is ours
            run = import_paths(store, [folder], options={"page_capacity": capacity or 5}, kind="web-approval")
    except LockHeld:
        flash(_("An import is running right now; approve again in a minute."), "error")
        return back
    except StoreError as exc:
        flash(_("The store could not take the book: %(why)s", why=str(exc)), "error")
        return back
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    outcome = next((o for o in run.outcomes if o.entry_number == entry), None)
    if outcome is None or outcome.status == "rejected":
        flash(_("The store refused the book: %(why)s", why=outcome.message if outcome else _("no delivery found")), "error")
        return back
    book = db().get(Book, book_id)
    _set(book, BOOK_APPROVED, current_user.name)
    if outcome.delivery_id is not None:
        book.delivery_id = outcome.delivery_id
    errors, warnings = outcome.counts.get("error", 0), outcome.counts.get("warning", 0)
    audit.write(db(), "book_approved", actor=current_user.name, entry_number=entry, target=f"book:{book.id}",
                new={"import": outcome.status, "delivery_id": outcome.delivery_id, "version": outcome.version,
                     "records": count, "errors": errors, "warnings": warnings, "run_id": run.run_id})
    db().commit()
    said = {"imported": _("imported into the store"),
            "new_version": _("imported as version %(version)s", version=outcome.version),
            "duplicate": _("already in the store as it is (nothing changed since the last import)")}
    flash(_("%(entry)s: %(count)s record(s) %(outcome)s; %(errors)s error and %(warnings)s warning finding(s) in "
            "the QA queue.", entry=entry, count=count, outcome=said.get(outcome.status, outcome.status),
            errors=errors, warnings=warnings))
    if not errors and not warnings:
        return back  # nothing to look at in the queue
    return redirect(url_for("qa.queue", book=entry))
