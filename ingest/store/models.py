"""The store's tables, declared once for SQLAlchemy and for the Alembic migrations.

What a table holds, and the one rule that matters for each:

``runs``             one row per import or inbox pass (who started it, when, how it ended).
``deliveries``       one row per *version* of a delivery that reached the store. A version is
                     never changed after its transaction, except that its ``status`` moves from
                     ``current`` to ``superseded`` when a newer version of the same entry number
                     arrives (or to ``withdrawn``, with the reason, when an archivist takes it
                     back), and its inbox bookkeeping (``inbox_done``) is ticked off.
``delivery_files``   the files of a version: name as delivered, role, sha256, size, encoding
                     found, and where the archive keeps the bytes.
``raw_rows``         every data row exactly as keyed (a JSON object of canonical column ->
                     keyed text, empty fields left out), with its file, physical line and the
                     record key ``loebe_nr``. Raw rows are never updated.
``findings``         every finding of every import, in the FINDINGS.md shape, tied to the version
                     and the run that reported it.
``corrections``      changes laid over raw values: ``rule`` (made by a systematic rule at import)
                     or ``manual`` (made by a person). Keyed by (entry number, LOEBE_NR, field).
``audit_log``        append-only account of what happened; triggers refuse UPDATE and DELETE.
``check_key_sets``   per version of a KBF, KBD or FT delivery: the fingerprint of what its
                     cross-source match keys were made from (rules, reference data, the
                     version's manual corrections and decisions), and the book's figures the
                     cross-source check needs whole (birth years, parish, records counted).
``check_keys``       the columns the cross-source check compares, one row per record (a census:
                     per child), by birth day; a cache rebuilt from the rows above whenever its
                     fingerprint no longer holds, so the check reads only the days it needs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so that later migrations can refer to them on both databases.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only gives INTEGER PRIMARY KEY columns their automatic row ids; PostgreSQL wants BIGINT.
BigId = BigInteger().with_variant(Integer, "sqlite")

STATUS_CURRENT, STATUS_SUPERSEDED, STATUS_REJECTED = "current", "superseded", "rejected"
STATUS_WITHDRAWN = "withdrawn"  # taken back by an archivist (``mgr-ingest withdraw``); its rows stay stored
STATUSES = (STATUS_CURRENT, STATUS_SUPERSEDED, STATUS_WITHDRAWN, STATUS_REJECTED)
KIND_RULE, KIND_MANUAL = "rule", "manual"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # import | inbox
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))  # running | finished | failed | interrupted
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    paths: Mapped[list] = mapped_column(JSON)  # what the run was asked to read
    summary: Mapped[dict | None] = mapped_column(JSON)  # counts by outcome
    message: Mapped[str | None] = mapped_column(Text)  # why it stopped, when it did not finish


class DeliveryVersion(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        Index("uq_deliveries_entry_version", "entry_number", "version", unique=True),
        # The same bytes are stored once; rejected arrivals are receipts and may repeat.
        Index("uq_deliveries_content_stored", "content_sha256", unique=True,
              sqlite_where=text("status <> 'rejected'"), postgresql_where=text("status <> 'rejected'")),
        Index("ix_deliveries_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_number: Mapped[str] = mapped_column(String(64))
    version: Mapped[int | None] = mapped_column(Integer)  # 1, 2, … per entry number; none when rejected
    source: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    content_sha256: Mapped[str] = mapped_column(String(64))  # over the files' roles and hashes
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    rows_stored: Mapped[int] = mapped_column(Integer)
    physical_rows: Mapped[int] = mapped_column(Integer)
    meta: Mapped[dict] = mapped_column(JSON)  # the dok file's metadata row
    columns: Mapped[list] = mapped_column(JSON)  # canonical columns the data header held
    extra_columns: Mapped[list] = mapped_column(JSON)  # header cells the source does not know
    reason: Mapped[str | None] = mapped_column(Text)  # why a rejected delivery could not be stored
    # Inbox bookkeeping: what to do with the delivered files once the transaction committed
    # ("archive": they are in the archive, remove them from the inbox; "quarantine": move them
    # there with a reason file) and whether it was done. A pass finishes any left undone.
    inbox_action: Mapped[str | None] = mapped_column(String(16))
    inbox_target: Mapped[str | None] = mapped_column(Text)  # quarantine folder, relative to the work folder
    inbox_done: Mapped[bool] = mapped_column(Boolean, default=False)


class DeliveryFile(Base):
    __tablename__ = "delivery_files"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    name: Mapped[str] = mapped_column(Text)  # as delivered
    role: Mapped[str] = mapped_column(String(16))  # dok | fd | dd | ft | extra | unknown
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    encoding: Mapped[str | None] = mapped_column(String(32))
    archive_path: Mapped[str] = mapped_column(Text)  # relative to the archive folder
    source_path: Mapped[str] = mapped_column(Text)  # where it was found
    source_mtime_ns: Mapped[int | None] = mapped_column(BigInteger)


class RawRow(Base):
    __tablename__ = "raw_rows"
    __table_args__ = (Index("uq_raw_rows_delivery_row", "delivery_id", "row_no", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))
    row_no: Mapped[int] = mapped_column(Integer)  # 0-based, in the order of the file
    loebe_nr: Mapped[int | None] = mapped_column(Integer)  # the record key within the delivery
    file_id: Mapped[int] = mapped_column(ForeignKey("delivery_files.id"))
    line: Mapped[int] = mapped_column(Integer)  # physical line in the file, 1-based
    pos: Mapped[int] = mapped_column(Integer)  # position among the file's data rows, 1-based
    fields: Mapped[dict] = mapped_column(JSON)


class StoredFinding(Base):
    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(8))
    source: Mapped[str | None] = mapped_column(String(8))
    entry_number: Mapped[str | None] = mapped_column(Text)
    file: Mapped[str | None] = mapped_column(Text)
    line: Mapped[int | None] = mapped_column(Integer)
    loebe_nr: Mapped[int | None] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(128))
    page: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    suggestion: Mapped[str | None] = mapped_column(Text)
    auto_fix: Mapped[bool] = mapped_column(Boolean)
    # cross-source findings only (ingest.store.crosscheck): the record on the other side, the
    # match score, the thresholds' version, and a key that is the same while the same two
    # records are in question
    other: Mapped[dict | None] = mapped_column(JSON)
    score: Mapped[float | None] = mapped_column(Float)
    rule_version: Mapped[str | None] = mapped_column(String(32))
    cross_key: Mapped[str | None] = mapped_column(Text)


class Correction(Base):
    __tablename__ = "corrections"
    __table_args__ = (Index("ix_corrections_key", "entry_number", "loebe_nr", "field"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)  # the version it applies to
    entry_number: Mapped[str] = mapped_column(String(64))
    loebe_nr: Mapped[int | None] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(128))
    old_value: Mapped[str | None] = mapped_column(Text)  # the raw value as keyed
    new_value: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(8))  # rule | manual
    rule: Mapped[str | None] = mapped_column(String(64))  # finding code, for rule corrections
    who: Mapped[str] = mapped_column(String(255))  # "rule" or the person
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    why: Mapped[str | None] = mapped_column(Text)
    file: Mapped[str | None] = mapped_column(Text)
    line: Mapped[int | None] = mapped_column(Integer)
    carried_from_id: Mapped[int | None] = mapped_column(ForeignKey("corrections.id"))


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    entry_number: Mapped[str | None] = mapped_column(String(64))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    detail: Mapped[dict | None] = mapped_column(JSON)  # keys and counts only, never person data


class CheckKeySet(Base):
    __tablename__ = "check_key_sets"

    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(8))
    entry_number: Mapped[str] = mapped_column(String(64), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    records: Mapped[int] = mapped_column(Integer)  # rows kept in check_keys
    counted: Mapped[int] = mapped_column(Integer)  # records with a birth date and a sex
    parish: Mapped[str | None] = mapped_column(Text)  # KBF: birth parish of the book; KBD: parish of death
    from_year: Mapped[int | None] = mapped_column(Integer)  # KBF: the birth years the book covers
    to_year: Mapped[int | None] = mapped_column(Integer)


class CheckKey(Base):
    __tablename__ = "check_keys"
    __table_args__ = (Index("ix_check_keys_source_day", "source", "day"),
                      Index("ix_check_keys_source_parish_day", "source", "parish", "day"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    source: Mapped[str] = mapped_column(String(8))
    loebe_nr: Mapped[int | None] = mapped_column(Integer)
    day: Mapped[int] = mapped_column(Integer)  # birth date as yyyymmdd, -1 when there is none
    died: Mapped[int | None] = mapped_column(Integer)  # KBD: death date as yyyymmdd (a death registered twice)
    parish: Mapped[str | None] = mapped_column(Text)  # birth parish code
    record: Mapped[str] = mapped_column(Text)  # JSON object of the compared columns


runs = Run.__table__
deliveries = DeliveryVersion.__table__
delivery_files = DeliveryFile.__table__
raw_rows = RawRow.__table__
findings = StoredFinding.__table__
corrections = Correction.__table__
audit_log = AuditEntry.__table__
check_key_sets = CheckKeySet.__table__
check_keys = CheckKey.__table__
