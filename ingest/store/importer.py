"""Importing deliveries into the store: validate, archive, store each delivery in one transaction.

For every delivery found (a ``dok`` + data pair, or a lone file):

1. its files are copied into the archive (addressed by sha256) and the delivery's content
   hash is formed from its files' roles and hashes;
2. bytes already stored -> nothing is stored again; a ``DUPLICATE_DELIVERY`` finding is
   recorded against the version that holds them;
3. otherwise the delivery is read and validated. Deliveries are validated in batches
   (the engine's cost per call is high for 1,500 rows) but stored one by one: the
   version row, its files, raw rows, findings, rule corrections, the carried-over manual
   corrections and the superseding of the previous version commit together or not at all;
4. a delivery that yields no rows to store (unreadable, half a pair, unknown source) is
   recorded as ``rejected`` with its findings, so that the overview shows it too.

A killed import leaves every delivery either fully stored or not at all; importing the
same paths again stores what is missing and reports the rest as duplicates. In an inbox
pass (``ingest.inbox``) what should happen to the delivered files is recorded in the same
transaction and carried out after it, and again by the next pass if the process died in
between.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, func, insert, select, update

from ingest.pipeline import DeliverySummary, RunResult, _frame_for_engine, add_report_extras
from ingest.store import rawrows
from ingest.store.audit import audit, checkpoint, now
from ingest.store.corrections import carry_over
from ingest.store.database import Store, StoreError, StoreFull
from ingest.store.models import (
    KIND_RULE,
    STATUS_CURRENT,
    STATUS_REJECTED,
    STATUS_SUPERSEDED,
    corrections,
    deliveries,
    delivery_files,
    findings,
    runs,
)
from kiip_import import delivery as kiip_delivery
from kiip_import.delivery import Delivery, FileInfo, find_deliveries, load_candidate
from kiip_import.discovery import Candidate, LooseFile
from kiip_import.reader import display_name, open_regular
from validators.engine import validate_frame
from validators.findings import FINDING_COLUMNS, finding, to_records
from validators.sources import SOURCES

log = logging.getLogger("mgr_ingest.store")

BATCH_ROWS = 100_000  # rows validated together; each delivery is still stored on its own
RAW_COLUMNS = ("delivery_id", "row_no", "loebe_nr", "file_id", "line", "pos", "fields")

IMPORTED, NEW_VERSION, DUPLICATE, REJECTED, CHANGED = "imported", "new_version", "duplicate", "rejected", "changed"


@dataclass
class Outcome:
    """What happened to one delivery in a run."""

    entry_number: str
    status: str  # imported | new_version | duplicate | rejected | changed
    paths: list[Path]
    delivery_id: int | None = None
    version: int | None = None
    rows: int = 0
    counts: Counter = field(default_factory=Counter)
    message: str | None = None


@dataclass
class ImportRun:
    """The result of importing a set of paths: one outcome per delivery, and the run's
    findings in the pipeline's shape, ready for ``write_report`` and ``findings_json``."""

    run_id: int
    outcomes: list[Outcome]
    result: RunResult
    cross: object | None = None  # ingest.store.crosscheck.CrossRun, when the import was checked across sources

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def errors(self) -> int:
        return sum(o.counts.get("error", 0) for o in self.outcomes)

    def summary(self) -> dict:
        return {s: self.count(s) for s in (IMPORTED, NEW_VERSION, DUPLICATE, REJECTED, CHANGED)} | {
            "rows": sum(o.rows for o in self.outcomes if o.status in (IMPORTED, NEW_VERSION)),
            "errors": self.errors}


# --------------------------------------------------------------------------- runs

def start_run(store: Store, kind: str, paths: list) -> int:
    with store.transaction() as conn:
        run_id = conn.execute(insert(runs).values(
            kind=kind, started_at=now(), status="running", host=socket.gethostname()[:255], pid=os.getpid(),
            paths=[path_to_db(Path(p)) for p in paths])).inserted_primary_key[0]
        audit(conn, "run_started", run_id=run_id, kind=kind)
    return run_id


def finish_run(store: Store, run_id: int, status: str, summary: dict | None = None, message: str | None = None) -> None:
    with store.transaction() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(
            status=status, finished_at=now(), summary=summary, message=message))
        audit(conn, f"run_{status}", run_id=run_id, **(summary or {}))


def mark_interrupted_runs(store: Store) -> int:
    """Runs still marked running belong to processes that died (the caller holds the lock)."""
    with store.transaction() as conn:
        stale = [r.id for r in conn.execute(select(runs.c.id).where(runs.c.status == "running"))]
        if stale:
            conn.execute(update(runs).where(runs.c.id.in_(stale)).values(
                status="interrupted", finished_at=now(), message="the process ended before the run finished"))
            for run_id in stale:
                audit(conn, "run_interrupted", run_id=run_id)
    return len(stale)


# --------------------------------------------------------------------------- the parts of one delivery

@dataclass
class _Arrival:
    """One delivery as found, with its archived files."""

    entry_number: str
    paths: list[Path]  # every file of the delivery, in the order stored
    roles: list[str]
    archived: list = field(default_factory=list)  # archive.Archived per path, None when unreadable
    mtimes: list = field(default_factory=list)
    content_sha256: str = ""
    candidate: Candidate | None = None
    loose: LooseFile | None = None
    delivery: Delivery | None = None
    raw: pa.Table | None = None


def _content_hash(roles: list[str], archived: list) -> str:
    """The delivery's identity: its files' roles and hashes (names and folders do not count)."""
    parts = sorted(f"{role}:{a.sha256 if a else 'unreadable'}" for role, a in zip(roles, archived))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _part_hash(content_sha256: str, entry_number: str) -> str:
    """The identity of one entry number's rows in a file that holds several."""
    return hashlib.sha256(f"{content_sha256}\npart:{entry_number}".encode()).hexdigest()


_RAW_PATH = "bytes:"


def path_to_db(path: Path) -> str:
    """A path as text the database takes. Paths that are not UTF-8 (Linux allows any bytes)
    are kept exactly, as ``bytes:`` + their bytes in hex, so that a pass can still move them."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _RAW_PATH + os.fsencode(path).hex()
    return text


def path_from_db(text: str) -> Path:
    if text.startswith(_RAW_PATH):
        try:
            return Path(os.fsdecode(bytes.fromhex(text[len(_RAW_PATH):])))
        except ValueError:
            pass
    return Path(text)


def _where(path: Path) -> Path:
    """The absolute place of ``path`` itself: its folder resolved, a link's target never
    (a pass moves or removes what is recorded here, and must not touch a link's target)."""
    return path.parent.resolve() / path.name


def _fit_columns(table, row: dict) -> dict:
    """Texts cut to the length of their column: a finding may name a header cell of any
    length, and PostgreSQL refuses what does not fit (SQLite would store it whole). A
    finding whose message came out empty gets its code's title rather than failing the
    delivery's transaction."""
    if "message" in table.c and not row.get("message"):
        from validators.catalogue import CATALOGUE

        code = row.get("code")
        row["message"] = CATALOGUE[code].title if code in CATALOGUE else str(code)
    for name, value in row.items():
        if isinstance(value, str) and name in table.c:
            length = getattr(table.c[name].type, "length", None)
            if length and len(value) > length:
                row[name] = value[: length - 1] + "…"
    return row


ENTRY_NUMBER_MAX = deliveries.c.entry_number.type.length


def _raw_table(d: Delivery) -> pa.Table | None:
    names = {f.name for f in dataclasses.fields(Delivery)}
    if "table" in names:
        return getattr(d, "table", None)
    return None if d.frame is None else rawrows.as_arrow(d.frame)


def _storable(d: Delivery, raw: pa.Table | None) -> bool:
    return d.source in SOURCES and SOURCES[d.source].supported and raw is not None


def _rejection_reason(d: Delivery) -> str:
    """Why nothing could be stored, from the delivery's own findings (errors first)."""
    for severity in ("error", "warning"):
        said = [f for f in d.findings if f["severity"] == severity]
        if said:
            return "\n".join(f"{f['code']}: {f['message']}" for f in said)
    if d.source and d.source in SOURCES and not SOURCES[d.source].supported:
        return f"{d.source} deliveries cannot be validated by this version"
    return "the delivery holds no rows that can be stored"


# --------------------------------------------------------------------------- the importer

class Importer:
    """Imports deliveries for one run. ``after_commit(outcome, arrival)`` is called after each
    delivery's transaction (the inbox moves the files there)."""

    def __init__(self, store: Store, run_id: int, *, options: dict | None = None, inbox_actions: bool = False,
                 after_commit: Callable[[Outcome], None] | None = None, batch_rows: int = BATCH_ROWS):
        self.store = store
        self.run_id = run_id
        self.options = dict(options or {})
        self.options.setdefault("when", now().isoformat(timespec="seconds"))
        self.inbox_actions = inbox_actions
        self.after_commit = after_commit
        self.batch_rows = batch_rows
        self.outcomes: list[Outcome] = []
        self.result = RunResult(started=self.options["when"], deliveries=[],
                                findings=pd.DataFrame(columns=FINDING_COLUMNS))
        self._finding_parts: list[pd.DataFrame] = []
        self._batches: dict[str, list[_Arrival]] = {}
        self._batch_rows: Counter = Counter()
        self._pending_hashes: set[str] = set()

    # ---------------------------------------------------------------- entry points

    def import_found(self, candidates: list[Candidate], loose: list[LooseFile],
                     linked_folders: list[Path] = ()) -> ImportRun:
        for cand in candidates:
            paths = [p.path for p in (cand.dok, cand.data) if p is not None] + [p.path for p in cand.extra]
            roles = [p.role for p in (cand.dok, cand.data) if p is not None] + ["extra"] * len(cand.extra)
            self._arrive(_Arrival(cand.key, paths, roles, candidate=cand))
        for item in loose:
            self._arrive(_Arrival(display_name(Path(item.path.stem)), [item.path], ["unknown"], loose=item))
        self.flush_all()
        for folder in linked_folders:
            self._refuse_linked_folder(folder)
        return self.finish()

    def _refuse_linked_folder(self, path: Path) -> None:
        """A symbolic link to a folder, found by an inbox pass: never entered. It is recorded
        as a rejected delivery with a ``FOLDER_LINKED`` finding (so that the run's report and
        the overview show it), and the link itself - never what it points at - goes to
        quarantine with the other rejected deliveries' files."""
        name = display_name(path)
        d = Delivery(entry_number=name, source=None)
        d.files.append(FileInfo(name, str(path), "folder", "", 0, None))
        d.add("FOLDER_LINKED", f"{name} is a symbolic link to a folder; links are never followed, so nothing "
                               "in it was read, imported or moved", file=name)
        arrival = _Arrival(name, [path], ["folder"], delivery=d)
        try:
            arrival.mtimes.append(path.lstat().st_mtime_ns)  # of the link itself
        except OSError:
            arrival.mtimes.append(None)
        arrival.archived.append(None)
        arrival.content_sha256 = _content_hash(arrival.roles, arrival.archived)
        self._store_rejected(arrival)

    def finish(self) -> ImportRun:
        parts = [p for p in self._finding_parts if len(p)]
        if parts:
            frame = pd.concat(parts, ignore_index=True)
            order = {"error": 0, "warning": 1, "info": 2}
            self.result.findings = frame.assign(
                _sev=frame["severity"].map(order), _ln=pd.to_numeric(frame["line"], errors="coerce"),
            ).sort_values(["entry_number", "file", "_ln", "_sev", "code"], kind="stable", na_position="first").drop(
                columns=["_sev", "_ln"]).reset_index(drop=True)
        return ImportRun(self.run_id, self.outcomes, self.result)

    # ---------------------------------------------------------------- arrival

    def _arrive(self, arrival: _Arrival) -> None:
        for path in arrival.paths:
            try:
                st = path.lstat()  # a link's own time: its target is never looked at
                arrival.mtimes.append(st.st_mtime_ns)
            except OSError:
                arrival.mtimes.append(None)
            arrival.archived.append(self._archive(path))
        arrival.content_sha256 = _content_hash(arrival.roles, arrival.archived)
        checkpoint("archived", arrival.entry_number)
        if arrival.content_sha256 in self._pending_hashes:
            self.flush_all()  # the twin waiting in a batch must be stored before this one is judged
        if self._record_if_duplicate(arrival):
            return
        if arrival.candidate is not None:
            loaded = [load_candidate(arrival.candidate)]
        else:
            loaded = kiip_delivery.load_loose_file(arrival.loose)
        if len(loaded) == 1:
            self._take(arrival, loaded[0])
            return
        # One census file holding rows of several entry numbers: each is a delivery of its
        # own, known by the file's bytes and its entry number (so that the same file again
        # stores nothing twice, part by part).
        for d in loaded:
            part = dataclasses.replace(arrival, entry_number=d.entry_number,
                                       content_sha256=_part_hash(arrival.content_sha256, d.entry_number))
            if part.content_sha256 in self._pending_hashes:
                self.flush_all()
            if not self._record_if_duplicate(part):
                self._take(part, d)

    def _take(self, arrival: _Arrival, d: Delivery) -> None:
        arrival.delivery = d
        arrival.entry_number = d.entry_number
        read = {_where(Path(f.path)): f.sha256 for f in d.files}
        for path, archived in zip(arrival.paths, arrival.archived):
            sha = read.get(_where(path))
            if archived is not None and sha is not None and sha != archived.sha256:
                self._outcome(Outcome(d.entry_number, CHANGED, arrival.paths,
                                      message=f"{display_name(path)} changed while it was being read; left for the next run"))
                return
        raw = _raw_table(d)
        if len(d.entry_number) > ENTRY_NUMBER_MAX:
            # Cutting it short could make it another delivery's number: never store it so.
            d.add("ENTRY_NUMBER_FORMAT", f"the entry number is {len(d.entry_number)} characters long "
                  f"(at most {ENTRY_NUMBER_MAX}); the delivery cannot be stored", file=d.data_file or d.dok_file,
                  field="INDTASTNINGSNUMMER")
            self._store_rejected(arrival)
            return
        if not _storable(d, raw):
            self._store_rejected(arrival)
            return
        arrival.raw = raw
        source = d.source
        batch = self._batches.setdefault(source, [])
        if any(a.entry_number == d.entry_number for a in batch):
            self.flush(source)  # set rules group by entry number: one version per batch
            batch = self._batches.setdefault(source, [])
        batch.append(arrival)
        self._pending_hashes.add(arrival.content_sha256)
        self._batch_rows[source] += d.rows
        if self._batch_rows[source] >= self.batch_rows:
            self.flush(source)

    def _archive(self, path: Path):
        try:
            os.close(open_regular(path))
        except OSError:
            return None  # unreadable, a link or not a file: the loader reports FILE_UNREADABLE
        try:
            return self.store.archive.put(path)
        except OSError as exc:
            if exc.errno in (28, 122):  # ENOSPC, EDQUOT
                raise StoreFull(f"the archive folder {self.store.archive.root} is full: {exc.strerror}") from None
            raise StoreError(f"cannot write to the archive folder {self.store.archive.root}: "
                             f"{exc.strerror or exc}") from None

    def _record_if_duplicate(self, arrival: _Arrival) -> bool:
        if any(a is None for a in arrival.archived):
            return False
        with self.store.transaction() as conn:
            q = select(deliveries.c.id, deliveries.c.entry_number, deliveries.c.version, deliveries.c.source)
            q = q.where(deliveries.c.content_sha256 == arrival.content_sha256)
            if self.inbox_actions:
                # from an inbox a refused delivery is stored again, so that its files go to
                # quarantine; given to import, the same refused bytes are not stored twice
                q = q.where(deliveries.c.status != STATUS_REJECTED)
            stored = conn.execute(q.order_by(deliveries.c.id)).first()
            if stored is None:
                return False
            names = ", ".join(display_name(p) for p in arrival.paths)
            row = finding("DUPLICATE_DELIVERY",
                          f"{names}: the same bytes were imported before as {stored.entry_number} "
                          f"version {stored.version}; nothing was stored again",
                          source=stored.source, entry_number=stored.entry_number, file=display_name(arrival.paths[-1]))
            # The same bytes again are a no-op for the store: no finding is added to the stored
            # delivery (its notes and the QA queue stay as they were); the run's report and the
            # audit log say that they came again.
            audit(conn, "duplicate_delivery", run_id=self.run_id, entry_number=stored.entry_number,
                  delivery_id=stored.id, files=[display_name(p) for p in arrival.paths])
        outcome = Outcome(stored.entry_number, DUPLICATE, arrival.paths, delivery_id=stored.id,
                          version=stored.version, counts=Counter(info=1))
        summary = DeliverySummary(stored.entry_number, stored.source,
                                  [{"name": display_name(p), "role": r, "sha256": a.sha256, "size": a.size, "encoding": None}
                                   for p, r, a in zip(arrival.paths, arrival.roles, arrival.archived)],
                                  0, 0, {}, Counter(info=1))
        self.result.deliveries.append(summary)
        self._finding_parts.append(pd.DataFrame([row], columns=FINDING_COLUMNS))
        self._outcome(outcome)
        return True

    def _outcome(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        log.info("delivery %s: %s (version %s, %d rows)", outcome.entry_number, outcome.status,
                 outcome.version, outcome.rows)
        if self.after_commit is not None:
            self.after_commit(outcome)

    # ---------------------------------------------------------------- validation in batches

    def flush_all(self) -> None:
        for source in list(self._batches):
            self.flush(source)

    def flush(self, source: str) -> None:
        batch = self._batches.pop(source, [])
        self._batch_rows[source] = 0
        if batch:
            self._validate_and_store(source, batch)

    def _validate_and_store(self, source: str, batch: list[_Arrival]) -> None:
        frames = [_frame_for_engine(a.delivery) for a in batch]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
        del frames
        try:
            res = validate_frame(frame, SOURCES[source], self.options)
        except Exception as exc:  # noqa: BLE001 - a bug in a check must not jam the inbox
            del frame
            if len(batch) > 1:
                for arrival in batch:  # find the delivery that trips it; the others go ahead
                    self._validate_and_store(source, [arrival])
                return
            arrival = batch[0]
            log.error("delivery %s: the validators failed (%s); kept aside", arrival.entry_number,
                      type(exc).__name__)
            log.debug("validator failure", exc_info=True)
            self._pending_hashes.discard(arrival.content_sha256)
            self._store_rejected(arrival, reason=(
                f"the checks failed on this delivery ({type(exc).__name__}): a fault in mgr-ingest, not in the "
                "files. Keep them here and report it; drop them in the inbox again once it is fixed."))
            return
        del frame
        engine_findings = res.findings.drop(columns=["_row"])
        by_entry = {e: g for e, g in engine_findings.groupby("entry_number", sort=False)} if len(
            engine_findings) else {}
        rule_fixes = ({e: g for e, g in res.corrections.groupby("INDTASTNINGSNUMMER", sort=False)}
                      if len(res.corrections) else {})
        self._report_extras(res, source)
        for arrival in batch:
            d = arrival.delivery
            found = by_entry.get(d.entry_number, pd.DataFrame(columns=FINDING_COLUMNS))
            self._store_version(arrival, found, rule_fixes.get(d.entry_number))
            self._pending_hashes.discard(arrival.content_sha256)
            arrival.delivery = arrival.raw = None

    def _report_extras(self, res, source: str) -> None:
        """Gaps, duplicate pairs and entries per month for the run's QA report."""
        add_report_extras(self.result, res, source)

    # ---------------------------------------------------------------- storing

    def _summary(self, d: Delivery, rows: int, counts: Counter) -> DeliverySummary:
        return DeliverySummary(d.entry_number, d.source, [f.as_dict() for f in d.files], rows, d.physical_rows,
                               d.meta, counts)

    def _insert_files(self, conn: Connection, delivery_id: int, arrival: _Arrival) -> dict[str, int]:
        d = arrival.delivery
        info = {_where(Path(f.path)): f for f in d.files} if d is not None else {}
        ids = {}
        for path, role, archived, mtime in zip(arrival.paths, arrival.roles, arrival.archived, arrival.mtimes):
            f = info.get(_where(path))
            row = dict(delivery_id=delivery_id, name=display_name(path), role=f.role if f else role,
                       sha256=archived.sha256 if archived else (f.sha256 if f else ""),
                       size=archived.size if archived else (f.size if f else 0),
                       encoding=f.encoding if f else None,
                       archive_path=archived.relative_path if archived else "",
                       source_path=path_to_db(_where(path)), source_mtime_ns=mtime)
            ids[display_name(path)] = conn.execute(insert(delivery_files).values(**row)).inserted_primary_key[0]
        return ids

    def _insert_findings(self, conn: Connection, delivery_id: int, rows: list[dict]) -> None:
        if rows:
            conn.execute(insert(findings), [_fit_columns(findings, dict(r, delivery_id=delivery_id, run_id=self.run_id))
                                            for r in rows])

    def _store_rejected(self, arrival: _Arrival, reason: str | None = None) -> None:
        d = arrival.delivery
        reason = reason or _rejection_reason(d)
        counts = Counter(f["severity"] for f in d.findings)
        try:
            with self.store.transaction() as conn:
                delivery_id = conn.execute(insert(deliveries).values(
                    entry_number=d.entry_number[:64], version=None, source=d.source, status=STATUS_REJECTED,
                    content_sha256=arrival.content_sha256, imported_at=now(), run_id=self.run_id,
                    supersedes_id=None, rows_stored=0, physical_rows=d.physical_rows, meta=d.meta or {},
                    columns=[], extra_columns=list(d.extra_columns), reason=reason,
                    inbox_action="quarantine" if self.inbox_actions else None,
                    inbox_target=None, inbox_done=not self.inbox_actions)).inserted_primary_key[0]
                self._insert_files(conn, delivery_id, arrival)
                self._insert_findings(conn, delivery_id, d.findings)
                audit(conn, "delivery_rejected", run_id=self.run_id, entry_number=d.entry_number,
                      delivery_id=delivery_id, codes=sorted({f["code"] for f in d.findings}))
        except StoreError:
            raise
        self.result.deliveries.append(self._summary(d, 0, counts))
        if d.findings:
            self._finding_parts.append(pd.DataFrame(d.findings, columns=FINDING_COLUMNS))
        self._outcome(Outcome(d.entry_number, REJECTED, arrival.paths, delivery_id=delivery_id, counts=counts,
                              message=reason))

    def _store_version(self, arrival: _Arrival, engine_findings: pd.DataFrame, rule_fixes: pd.DataFrame | None) -> None:
        d = arrival.delivery
        source = SOURCES[d.source]
        table = arrival.raw
        columns = rawrows.delivered_columns(table, source.columns)
        extras = [c for c in d.extra_columns if c in table.column_names]
        texts = rawrows.encode_rows(table, columns + extras)
        keys = rawrows.record_keys(table)
        lines = table.column("_line").to_pylist()
        positions = table.column("_pos").to_pylist() if "_pos" in table.column_names else list(
            range(1, table.num_rows + 1))
        file_names = table.column("_file").to_pylist() if "_file" in table.column_names else [d.data_file] * len(texts)
        found = list(d.findings) + to_records(engine_findings)
        when = now()
        with self.store.transaction() as conn:
            if conn.dialect.name == "postgresql":
                # Versions of one entry number are numbered one at a time, whoever imports them.
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (d.entry_number,))
            previous = conn.execute(select(deliveries.c.id, deliveries.c.version).where(
                deliveries.c.entry_number == d.entry_number, deliveries.c.status == STATUS_CURRENT)).first()
            last_version = conn.execute(select(func.max(deliveries.c.version)).where(
                deliveries.c.entry_number == d.entry_number)).scalar() or 0
            version = last_version + 1
            if previous is not None:
                conn.execute(update(deliveries).where(deliveries.c.id == previous.id).values(status=STATUS_SUPERSEDED))
            delivery_id = conn.execute(insert(deliveries).values(
                entry_number=d.entry_number, version=version, source=d.source, status=STATUS_CURRENT,
                content_sha256=arrival.content_sha256, imported_at=when, run_id=self.run_id,
                supersedes_id=previous.id if previous is not None else None, rows_stored=len(texts),
                physical_rows=d.physical_rows, meta=d.meta or {}, columns=columns, extra_columns=extras,
                reason=None, inbox_action="archive" if self.inbox_actions else None, inbox_target=None,
                inbox_done=not self.inbox_actions)).inserted_primary_key[0]
            file_ids = self._insert_files(conn, delivery_id, arrival)
            data_file_id = file_ids.get(d.data_file) or next(iter(file_ids.values()))
            self._insert_raw_rows(conn, [
                (delivery_id, i, keys[i], file_ids.get(file_names[i], data_file_id), int(lines[i]), int(positions[i]),
                 texts[i]) for i in range(len(texts))])
            if previous is not None:
                carried = carry_over(conn, old_id=previous.id, new_id=delivery_id, entry_number=d.entry_number,
                                     source=d.source, table=table, keys=keys, file_name=d.data_file,
                                     run_id=self.run_id)
                found.append(finding(
                    "DELIVERY_NEW_VERSION",
                    f"version {version} replaces version {previous.version}: {carried.carried} manual "
                    f"correction(s) carried over, {carried.conflicts + carried.gone} left for a person, "
                    f"{carried.settled} already in the new export",
                    source=d.source, entry_number=d.entry_number, file=d.data_file))
                found.extend(carried.findings)
                audit(conn, "delivery_superseded", run_id=self.run_id, entry_number=d.entry_number,
                      delivery_id=previous.id, superseded_by=delivery_id)
            self._insert_findings(conn, delivery_id, found)
            self._insert_rule_corrections(conn, delivery_id, d.entry_number, rule_fixes)
            audit(conn, "delivery_imported", run_id=self.run_id, entry_number=d.entry_number,
                  delivery_id=delivery_id, version=version, rows=len(texts), findings=len(found))
            checkpoint("in-transaction", d.entry_number)
        checkpoint("committed", d.entry_number)
        counts = Counter(f["severity"] for f in found)
        self.result.deliveries.append(self._summary(d, len(texts), counts))
        if found:
            self._finding_parts.append(pd.DataFrame(found, columns=FINDING_COLUMNS))
        self._outcome(Outcome(d.entry_number, NEW_VERSION if previous is not None else IMPORTED, arrival.paths,
                              delivery_id=delivery_id, version=version, rows=len(texts), counts=counts))

    def _insert_raw_rows(self, conn: Connection, rows: list[tuple]) -> None:
        if not rows:
            return
        if conn.dialect.name == "postgresql":
            cursor = conn.connection.driver_connection.cursor()
            try:
                with cursor.copy(f"COPY raw_rows ({', '.join(RAW_COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            finally:
                cursor.close()
        else:
            marks = ", ".join("?" for _ in RAW_COLUMNS)
            conn.exec_driver_sql(f"INSERT INTO raw_rows ({', '.join(RAW_COLUMNS)}) VALUES ({marks})", rows)

    def _insert_rule_corrections(self, conn: Connection, delivery_id: int, entry_number: str,
                                 fixes: pd.DataFrame | None) -> None:
        if fixes is None or not len(fixes):
            return
        made_at = now()

        def text(value):
            return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)

        def number(value):
            return None if value is None or pd.isna(value) else int(value)

        conn.execute(insert(corrections), [
            dict(delivery_id=delivery_id, entry_number=entry_number, loebe_nr=number(r.LOEBE_NR), field=r.field,
                 old_value=text(r.old_value), new_value=text(r.new_value), kind=KIND_RULE, rule=text(r.rule),
                 who="rule", made_at=made_at, why=text(r.why), file=text(r.file), line=number(r.line),
                 carried_from_id=None)
            for r in fixes.itertuples(index=False)])


# --------------------------------------------------------------------------- the public function

def import_paths(store: Store, paths, *, options: dict | None = None, kind: str = "import") -> ImportRun:
    """Validate and store every delivery found under ``paths`` (files or folders).

    Each delivery is stored in one transaction; the same bytes twice are stored once (a
    ``DUPLICATE_DELIVERY`` finding); a new export of an entry number already stored becomes
    its next version, with manual corrections carried over (see ``ingest.store.corrections``).
    """
    paths = [Path(p) for p in paths]
    candidates, loose, problems = find_deliveries(paths)
    run_id = start_run(store, kind, paths)
    importer = Importer(store, run_id, options=options)
    try:
        outcome = importer.import_found(candidates, loose)
    except StoreError as exc:
        _finish_quietly(store, run_id, "failed", importer, str(exc))
        raise
    except BaseException as exc:
        _finish_quietly(store, run_id, "failed", importer, f"{type(exc).__name__}")
        raise
    outcome.result.problems = problems
    finish_run(store, run_id, "finished", outcome.summary())
    from ingest.store.crosscheck import after_import

    outcome.cross = after_import(store, outcome, options)  # births, deaths and censuses against each other
    return outcome


def _finish_quietly(store: Store, run_id: int, status: str, importer: Importer, message: str) -> None:
    """Record how a run ended when it failed; the database may be the reason it failed."""
    try:
        summary = ImportRun(run_id, importer.outcomes, importer.result).summary()
        finish_run(store, run_id, status, summary, message)
    except Exception:  # noqa: BLE001 - the original error is the one to report
        log.debug("could not record the end of run %s", run_id, exc_info=True)
