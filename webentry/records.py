"""Records keyed in the web screen: saving with checks and a conflict check, versions, drafts.

A record is known by (book, LOEBE_NR), the number it gets when first saved (1, 2, … in
keying order), which is also its LOEBE_NR in the export and so its key in the store.

Saving:

* the whole record is checked (``webentry.checks.check_record``); an error that the
  transcriber has not kept deliberately (a note on that field: "the book says so") refuses
  the save, and a warning refuses it once until the transcriber has seen it;
* the person saves against the version they opened; if someone saved in between, the save
  is refused and both versions are returned (never silently overwritten);
* every saved state is kept in ``web_record_versions`` and the audit log names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from webentry import audit
from webentry.checks import BLOCKING, check_record
from webentry.layout import keyed_columns
from webentry.models import Book, Draft, Record, RecordVersion, draft_key
from webentry.review import reopen_if_approved

MAX_VALUE = 500
HOW = ("typed", "accepted", "corrected", "illegible")
FROM = (None, "ocr", "carried", "proposed", "check", "above", "autocomplete", "draft")
RECORD_NOTE = "_record"  # a note on the record as a whole (for issues without a field)


class SaveRefused(Exception):
    """The record was not saved: ``status`` 422 (checks) or 409 (conflict); ``body`` says why."""

    def __init__(self, status: int, body: dict):
        super().__init__(body.get("error", "refused"))
        self.status = status
        self.body = body


def now() -> datetime:
    return datetime.now(UTC)


def issue_key(issue: dict) -> str:
    return f"{issue['code']}|{issue.get('field') or ''}"


def clean_fields(source_code: str, fields: dict) -> dict:
    """Only the keyed columns of the source, as text, outer blanks removed; empty left out."""
    if not isinstance(fields, dict):
        raise SaveRefused(400, {"error": _("fields must be an object")})
    out = {}
    for name in keyed_columns(source_code):
        value = fields.get(name)
        if value is None:
            continue
        text = str(value).strip()
        if len(text) > MAX_VALUE:
            raise SaveRefused(400, {"error": _("%(field)s is longer than %(n)s characters", field=name, n=MAX_VALUE)})
        if text:
            out[name] = text
    return out


def clean_provenance(source_code: str, provenance: dict | None, fields: dict) -> dict:
    """How each value came about. A value still only proposed (``pending``) cannot be saved:
    the transcriber must confirm or overwrite it first."""
    columns = set(keyed_columns(source_code))
    out = {}
    pending = []
    for name, info in (provenance or {}).items():
        if name not in columns or not isinstance(info, dict):
            continue
        how = info.get("how")
        if how == "pending":
            if fields.get(name):
                pending.append(name)
            continue
        if how not in HOW:
            continue
        entry = {"how": how}
        if info.get("from") in FROM and info.get("from"):
            entry["from"] = info["from"]
        for key in ("confidence",):
            if isinstance(info.get(key), int | float):
                entry[key] = round(float(info[key]), 3)
        for key in ("suggested", "offered"):
            if info.get(key) is not None:
                entry[key] = str(info[key])[:MAX_VALUE]
        out[name] = entry
    if pending:
        raise SaveRefused(422, {"error": _("some values are only proposed: confirm or overwrite them first"),
                                "pending": pending})
    for name in fields:
        out.setdefault(name, {"how": "typed"})
    return {k: v for k, v in out.items() if k in fields or v.get("from") == "ocr"}


def clean_notes(source_code: str, notes: dict | None) -> dict:
    columns = set(keyed_columns(source_code)) | {RECORD_NOTE}
    out = {}
    for name, text in (notes or {}).items():
        if name in columns and isinstance(text, str) and text.strip():
            out[name] = text.strip()[:MAX_VALUE]
    return out


def record_json(r: Record) -> dict:
    return {"loebe_nr": r.loebe_nr, "version": r.version, "fields": r.fields, "provenance": r.provenance,
            "notes": r.notes, "page_seq": r.page_seq, "updated_by": r.updated_by,
            "updated_at": r.updated_at.isoformat(timespec="seconds") if r.updated_at else None}


@dataclass
class Saved:
    record: Record
    issues: list[dict] = field(default_factory=list)
    created: bool = False


def save_record(session, book: Book, actor: str, payload: dict, loebe_nr: int | None = None, *,
                user_id: int | None = None, section_limit: int = 1500) -> Saved:
    """Check and save one record (see the module docstring); the caller commits."""
    fields = clean_fields(book.source, payload.get("fields") or {})
    provenance = clean_provenance(book.source, payload.get("provenance"), fields)
    notes = clean_notes(book.source, payload.get("notes"))
    acknowledged = set(payload.get("acknowledged") or [])
    page_seq = payload.get("page_seq")
    page_seq = page_seq if isinstance(page_seq, int) and not isinstance(page_seq, bool) else None

    existing = None
    if loebe_nr is not None:
        existing = session.scalar(select(Record).where(Record.book_id == book.id, Record.loebe_nr == loebe_nr))
        if existing is None:
            raise SaveRefused(404, {"error": _("no record %(number)s in %(entry)s", number=loebe_nr, entry=book.entry_number)})
        base = payload.get("version")
        if base != existing.version:
            raise SaveRefused(409, {
                "error": _("someone else saved this record after you opened it"),
                "theirs": record_json(existing),
                "yours": {"fields": fields, "provenance": provenance, "notes": notes, "version": base},
            })

    checked = check_record(session, book, fields, loebe_nr, limit=section_limit)
    blocking = [i for i in checked.errors if not notes.get(i["field"] or RECORD_NOTE)]
    unseen = [i for i in checked.issues
              if i["severity"] != "info" and i not in blocking and not notes.get(i["field"] or RECORD_NOTE)
              and (i["severity"] != BLOCKING or i["auto_fix"]) and issue_key(i) not in acknowledged]
    if blocking or unseen:
        raise SaveRefused(422, {
            "error": (_("the record has errors: correct them, accept a suggestion, or keep the reading with a note")
                      if blocking else _("look at the warnings, then save again")),
            "issues": checked.issues, "blocking": [issue_key(i) for i in blocking],
            "unseen": [issue_key(i) for i in unseen],
        })

    when = now()
    if existing is None:
        record = None
        for _attempt in range(5):
            candidate = Record(book_id=book.id, loebe_nr=checked.loebe_nr, page_seq=page_seq, fields=fields,
                               provenance=provenance, notes=notes, version=1, created_by=actor, created_at=when,
                               updated_by=actor, updated_at=when)
            try:
                with session.begin_nested():
                    session.add(candidate)
                    session.flush()
                record = candidate
                break
            except IntegrityError:  # someone took that LOEBE_NR a moment ago: take the next
                from webentry.checks import next_loebe_nr

                checked.loebe_nr = next_loebe_nr(session, book.id)
        if record is None:
            raise SaveRefused(409, {"error": _("could not give the record a running number; save again")})
        old_fields: dict = {}
        action = "record_added"
    else:
        record = existing
        old_fields = dict(existing.fields or {})
        record.fields = fields
        record.provenance = provenance
        record.notes = notes
        record.page_seq = page_seq if page_seq is not None else record.page_seq
        record.version = existing.version + 1
        record.updated_by = actor
        record.updated_at = when
        action = "record_changed"
    reopen_if_approved(session, book, actor)
    session.add(RecordVersion(record_id=record.id, version=record.version, fields=fields, provenance=provenance,
                              notes=notes, saved_by=actor, saved_at=when))
    changed = sorted(k for k in set(old_fields) | set(fields) if old_fields.get(k) != fields.get(k))
    audit.write(session, action, actor=actor, entry_number=book.entry_number, target=f"record:{record.loebe_nr}",
                loebe_nr=record.loebe_nr, old={"version": record.version - 1} if existing else None,
                new={"version": record.version}, fields_changed=changed,
                forced_over_version=payload.get("force_over"))
    # the draft of this record only: a new record half keyed stays while an older one is corrected
    session.execute(delete(Draft).where(Draft.book_id == book.id, Draft.user_id == user_id,
                                        Draft.draft_key == draft_key(None if existing is None else record.loebe_nr)))
    return Saved(record=record, issues=checked.issues, created=existing is None)


# --------------------------------------------------------------------------- drafts

def save_draft(session, book: Book, user_id: int, actor: str, payload: dict) -> Draft:
    """Keep the form as it is (autosave); one draft per person, book and record."""
    state = {k: payload.get(k) for k in ("fields", "provenance", "notes", "marks", "acknowledged")}
    if not isinstance(state.get("fields"), dict):
        raise SaveRefused(400, {"error": _("fields must be an object")})
    state["fields"] = {k: str(v)[:MAX_VALUE] for k, v in state["fields"].items()
                       if k in set(keyed_columns(book.source)) and v is not None}
    loebe_nr = payload.get("loebe_nr")
    loebe_nr = int(loebe_nr) if isinstance(loebe_nr, int) else None
    page_seq = payload.get("page_seq") if isinstance(payload.get("page_seq"), int) else None
    key = draft_key(loebe_nr)
    draft = session.scalar(select(Draft).where(Draft.user_id == user_id, Draft.book_id == book.id,
                                               Draft.draft_key == key))
    is_new = draft is None
    if draft is None:
        draft = Draft(user_id=user_id, book_id=book.id, draft_key=key)
        session.add(draft)
    draft.loebe_nr = loebe_nr
    draft.base_version = payload.get("version") if isinstance(payload.get("version"), int) else None
    draft.page_seq = page_seq
    draft.state = state
    draft.saved_at = now()
    session.flush()
    # Keys only: the draft's values stay in web_drafts.
    audit.write(session, "draft_saved", actor=actor, entry_number=book.entry_number,
                target=f"record:{loebe_nr if loebe_nr is not None else 'new'}",
                new={"fields": len(state["fields"]), "first_draft": is_new})
    return draft


def draft_json(d: Draft | None) -> dict | None:
    if d is None:
        return None
    return {"loebe_nr": d.loebe_nr, "version": d.base_version, "page_seq": d.page_seq, **(d.state or {}),
            "saved_at": d.saved_at.isoformat(timespec="seconds") if d.saved_at else None}
