"""The web application's own tables, beside the store's in the same database.

They have a metadata and an Alembic history of their own (``webentry/migrations``, version
table ``webentry_alembic_version``), so the store's schema, migrations and tests are not
touched by the web application. Links to store rows (a finding, a correction) are plain
integer columns, not foreign keys, for the same reason.

``web_users``            people who log in: name, role, argon2 hash, failed log-ins, lock-out.
``web_books``            a church book or census volume being keyed: source, entry number
                         (``Knnnn``), parish, years; the metadata of its KIIP export; where it
                         stands in the review (keying, ready, approved).
``web_assignments``      which transcriber keys which book.
``web_scans``            scanned images, one row per distinct content (sha256); the files live
                         in ``WORK/scans/``. OCR suggestions are cached here per content hash.
``web_pages``            the pages of a book in order, each pointing at a scan.
``web_records``          the records keyed in the web screen: canonical column -> text as read
                         in the book, the record's LOEBE_NR, a version for the conflict check,
                         and per field how the value came about (typed, accepted, corrected).
``web_record_versions``  every saved state of every record: the audit log names the versions,
                         this table holds the values (person data stays out of the audit log).
``web_drafts``           the unsaved form of one person in one book (autosave).
``web_decisions``        a reviewer's resolution of a store finding: correction or "book is right".
``web_sessions``         log-in sessions, server side: the browser's cookie names one by a random
                         token (kept here only as its SHA-256), so a log-out, a password change
                         or an admin ends it for good, and an idle one expires.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
BigId = BigInteger().with_variant(Integer, "sqlite")
TS = DateTime(timezone=True)

ROLE_TRANSCRIBER, ROLE_REVIEWER, ROLE_ADMIN = "transcriber", "reviewer", "admin"
ROLES = (ROLE_TRANSCRIBER, ROLE_REVIEWER, ROLE_ADMIN)
DECISION_CORRECTED, DECISION_BOOK_RIGHT = "corrected", "book_is_right"
# a cross-source finding's two records: one person (one record is a copy of the other), or two
DECISION_SAME, DECISION_TWO = "same_person", "two_persons"
BOOK_KEYING, BOOK_READY, BOOK_APPROVED = "keying", "ready", "approved"


class WebBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(WebBase):
    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    name_key: Mapped[str] = mapped_column(String(64), unique=True)  # the name case-folded: Alice = alice
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(TS)
    # Changes when the password changes or an admin ends the sessions: part of the session id,
    # so every session issued before stops working.
    session_nonce: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(TS)
    last_login_at: Mapped[datetime | None] = mapped_column(TS)


class WebSession(WebBase):
    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"), index=True)
    user_nonce: Mapped[str] = mapped_column(String(32))  # the user's session_nonce when it began
    created_at: Mapped[datetime] = mapped_column(TS)
    last_seen_at: Mapped[datetime] = mapped_column(TS)
    ended_at: Mapped[datetime | None] = mapped_column(TS)
    end_reason: Mapped[str | None] = mapped_column(String(16))  # logout|idle|expired|password|admin|agent|cap
    agent_sha256: Mapped[str | None] = mapped_column(String(64))  # the browser's User-Agent, hashed


class LoginThrottle(WebBase):
    """Failed log-ins per typed name and per client address (both kept as hashes): each
    failure past a few makes the next attempt wait longer, up to a cap. Nobody is locked out."""

    __tablename__ = "web_login_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)  # "name:<sha256>" | "addr:<sha256>"
    failures: Mapped[int] = mapped_column(Integer)
    last_failed_at: Mapped[datetime] = mapped_column(TS)
    next_allowed_at: Mapped[datetime] = mapped_column(TS)


class Book(WebBase):
    __tablename__ = "web_books"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_number: Mapped[str] = mapped_column(String(16), unique=True)  # Knnnn: the delivery it becomes
    source: Mapped[str] = mapped_column(String(8))  # KBF | KBD | FT
    title: Mapped[str] = mapped_column(Text)  # KILDEANGIVELSE, e.g. "Vejby KB 1921-1925"
    parish: Mapped[str] = mapped_column(String(128))  # SOGN
    herred: Mapped[str | None] = mapped_column(String(128))
    amt: Mapped[str | None] = mapped_column(String(128))
    from_year: Mapped[int] = mapped_column(Integer)
    to_year: Mapped[int] = mapped_column(Integer)
    page_capacity: Mapped[int | None] = mapped_column(Integer)  # entries a page of the form holds
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS)
    # The review: keying -> ready (the transcriber is done) -> approved (a reviewer imported
    # it into the store as delivery ``delivery_id``); a reviewer can send it back to keying.
    status: Mapped[str] = mapped_column(String(16), default=BOOK_KEYING, server_default=BOOK_KEYING)
    status_by: Mapped[str | None] = mapped_column(String(64))
    status_at: Mapped[datetime | None] = mapped_column(TS)
    status_note: Mapped[str | None] = mapped_column(Text)
    delivery_id: Mapped[int | None] = mapped_column(BigInteger)  # store: deliveries.id


class Assignment(WebBase):
    __tablename__ = "web_assignments"
    __table_args__ = (Index("uq_web_assignments_book_user", "book_id", "user_id", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("web_books.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"), index=True)


class Scan(WebBase):
    __tablename__ = "web_scans"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    format: Mapped[str] = mapped_column(String(8))  # JPEG | PNG | TIFF
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(Text)  # relative to WORK/scans
    view_path: Mapped[str] = mapped_column(Text)  # what the browser shows (the original unless TIFF or huge)
    view_width: Mapped[int] = mapped_column(Integer)
    view_height: Mapped[int] = mapped_column(Integer)
    thumb_path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS)
    ocr: Mapped[dict | None] = mapped_column(JSON)  # this page's entry of ocr_pages(), cached by hash
    ocr_status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|failed|off
    ocr_at: Mapped[datetime | None] = mapped_column(TS)


class Page(WebBase):
    __tablename__ = "web_pages"
    __table_args__ = (Index("uq_web_pages_book_seq", "book_id", "seq", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("web_books.id"))
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, … in the order the scans were uploaded
    scan_sha256: Mapped[str] = mapped_column(ForeignKey("web_scans.sha256"))
    file_name: Mapped[str] = mapped_column(Text)  # as uploaded (with the frame for multi-page TIFF)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(TS)


class Record(WebBase):
    __tablename__ = "web_records"
    __table_args__ = (Index("uq_web_records_book_loebe_nr", "book_id", "loebe_nr", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("web_books.id"))
    loebe_nr: Mapped[int] = mapped_column(Integer)  # LOEBE_NR: 1, 2, … in keying order
    page_seq: Mapped[int | None] = mapped_column(Integer)  # the scan it was keyed from
    fields: Mapped[dict] = mapped_column(JSON)  # canonical column -> text as read
    provenance: Mapped[dict] = mapped_column(JSON)  # column -> {"how": typed|accepted|corrected, "from": …}
    notes: Mapped[dict] = mapped_column(JSON)  # column -> why a flagged reading was kept
    version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(TS)


class RecordVersion(WebBase):
    __tablename__ = "web_record_versions"
    __table_args__ = (Index("uq_web_record_versions_record_version", "record_id", "version", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("web_records.id"))
    version: Mapped[int] = mapped_column(Integer)
    fields: Mapped[dict] = mapped_column(JSON)
    provenance: Mapped[dict] = mapped_column(JSON)
    notes: Mapped[dict] = mapped_column(JSON)
    saved_by: Mapped[str] = mapped_column(String(64))
    saved_at: Mapped[datetime] = mapped_column(TS)


class Draft(WebBase):
    __tablename__ = "web_drafts"
    # one draft a person, book and record: the new record being keyed ("new") and a saved record
    # being corrected (its LOEBE_NR) are kept apart
    __table_args__ = (Index("uq_web_drafts_user_book_record", "user_id", "book_id", "draft_key", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"))
    book_id: Mapped[int] = mapped_column(ForeignKey("web_books.id"))
    loebe_nr: Mapped[int | None] = mapped_column(Integer)  # None: a record not saved yet
    draft_key: Mapped[str] = mapped_column(String(16))  # "new", or the LOEBE_NR as text
    base_version: Mapped[int | None] = mapped_column(Integer)
    page_seq: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[dict] = mapped_column(JSON)  # fields, provenance, notes, marks as the form had them
    saved_at: Mapped[datetime] = mapped_column(TS)


class Decision(WebBase):
    __tablename__ = "web_decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    finding_id: Mapped[int] = mapped_column(BigInteger, index=True)  # store: findings.id
    decision: Mapped[str] = mapped_column(String(16))  # corrected | book_is_right
    correction_id: Mapped[int | None] = mapped_column(BigInteger)  # store: corrections.id
    note: Mapped[str | None] = mapped_column(Text)
    who: Mapped[str] = mapped_column(String(64))
    made_at: Mapped[datetime] = mapped_column(TS)



def draft_key(loebe_nr: int | None) -> str:
    """The key of a draft: the new record being keyed, or the saved record being corrected."""
    return "new" if loebe_nr is None else str(loebe_nr)
