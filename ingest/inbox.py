"""The inbox service: import what volunteers and staff drop in a folder, exactly once.

One pass (``run_pass``):

1. takes the work folder's lock (and PostgreSQL's advisory lock) or stops at once;
2. opens the store; an unreachable or full database stops the pass before anything moves;
3. finishes what a killed pass left undone: files of deliveries already committed are
   taken out of the inbox, rejected ones moved to quarantine;
4. looks at the inbox: files whose size or modification time change during a short
   settle interval are still being written and are left alone, and so is a delivery
   whose pair is incomplete (a ``dok`` file without its data file or the reverse) until
   ``pair_wait`` has passed since its last file arrived;
5. imports every complete delivery (``ingest.store.importer``), each in one transaction,
   which also records what to do with its files; after the commit the files leave the
   inbox: imported and duplicate deliveries into the archive (the bytes already sit there,
   addressed by sha256), unusable ones into ``quarantine/`` with a ``.reason.txt`` file
   beside each;
6. writes the pass's findings JSON and QA report under ``reports/``.

A pass killed at any moment leaves each delivery either stored with its files still in
the inbox (the next pass moves them) or not stored at all (the next pass imports it).

``schedule`` runs passes at a fixed interval in the foreground (APScheduler); under cron or
a systemd timer run ``mgr-ingest run --inbox DIR`` instead, as the README shows.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update

from ingest.logsafe import os_reason
from ingest.store.archive import file_sha256
from ingest.store.audit import audit, checkpoint
from ingest.store.database import Store, StoreError, open_store
from ingest.store.importer import (
    CHANGED,
    DUPLICATE,
    REJECTED,
    Importer,
    ImportRun,
    Outcome,
    finish_run,
    mark_interrupted_runs,
    path_from_db,
    start_run,
)
from ingest.store.lock import WorkLock
from ingest.store.models import deliveries, delivery_files
from kiip_import.discovery import pair_files

log = logging.getLogger("mgr_ingest.inbox")

DEFAULT_SETTLE_S = 5.0
DEFAULT_PAIR_WAIT_S = 24 * 3600.0
REASON_SUFFIX = ".reason.txt"


@dataclass
class PassSettings:
    inbox: Path
    work: Path = Path("mgr-work")
    db: str | None = None
    settle_s: float = DEFAULT_SETTLE_S  # a file must keep its size and mtime this long
    pair_wait_s: float = DEFAULT_PAIR_WAIT_S  # how long half a pair waits for the other half
    options: dict = field(default_factory=dict)  # validation options (page_capacity …)
    report: bool = True


@dataclass
class PassResult:
    run_id: int | None
    imported: int = 0
    new_versions: int = 0
    duplicates: int = 0
    quarantined: int = 0
    waiting: int = 0
    finished_from_before: int = 0
    errors: int = 0
    rows: int = 0
    report: Path | None = None
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.imported} imported, {self.new_versions} new versions, {self.duplicates} duplicates, "
                f"{self.quarantined} quarantined, {self.waiting} waiting; {self.rows:,} rows stored, "
                f"{self.errors} error findings")


# --------------------------------------------------------------------------- looking at the inbox

def _linked_folder(path: Path) -> bool:
    """``path`` is a symbolic link to a folder. Only the kind of its target is looked up:
    nothing in the folder is listed or read."""
    if not path.is_symlink():
        return False
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:  # dangling, a loop, or a target the service may not look at
        return False


def _inbox_files(inbox: Path, work: Path) -> tuple[list[Path], list[Path]]:
    """(CSV files in the inbox, symbolic links to folders in it), leaving out hidden files
    and folders (uploads in progress are often written as ``.name``) and anything inside the
    work folder."""
    work = work.resolve()
    files, linked = [], []
    for path in sorted(inbox.rglob("*")):  # never descends into a linked folder
        # A symbolic link is listed but never followed: the reader refuses a linked file, so
        # it ends in quarantine with a reason instead of waiting in the inbox for ever, and a
        # linked folder is reported (FOLDER_LINKED) and its link put in quarantine.
        is_linked_folder = _linked_folder(path)
        is_csv = path.suffix.lower() == ".csv" and (path.is_symlink() or path.is_file())
        if not (is_linked_folder or is_csv):
            continue
        rel = path.relative_to(inbox)
        if any(part.startswith(".") for part in rel.parts):
            continue
        try:
            (path.parent.resolve() / path.name).relative_to(work)
            continue  # the work folder lies inside the inbox: never read our own archive
        except ValueError:
            pass
        (linked if is_linked_folder else files).append(path)
    return files, linked


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.lstat()  # of a link itself, never of what it points at
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def settled_files(files: list[Path], settle_s: float) -> tuple[set[Path], set[Path]]:
    """(files that kept their size and mtime over ``settle_s`` seconds, files that did not)."""
    before = {p: _stat(p) for p in files}
    if settle_s > 0:
        time.sleep(settle_s)
    stable, moving = set(), set()
    for p in files:
        after = _stat(p)
        (stable if after is not None and after == before[p] else moving).add(p)
    return stable, moving


# --------------------------------------------------------------------------- moving files out of the inbox

def _quarantine_folder(entry: str, delivery_id: int) -> str:
    """``quarantine/<time>-<entry number>-<delivery id>``, relative to the work folder."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", entry)[:40]
    return f"quarantine/{stamp}-{safe}-{delivery_id}"


def _move(path: Path, target_folder: Path) -> Path:
    target_folder.mkdir(parents=True, exist_ok=True)
    target = target_folder / path.name
    n = 1
    # Never overwrite (not even a quarantined link whose target is gone): a second file of
    # the same name gets a number.
    while target.exists() or target.is_symlink():
        target = target_folder / f"{path.stem}.{n}{path.suffix}"
        n += 1
    shutil.move(str(path), str(target))
    return target


def _write_reason(target_folder: Path, name: str, reason: str) -> None:
    target_folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    (target_folder / f"{name}{REASON_SUFFIX}").write_text(
        f"{name} was put in quarantine by mgr-ingest on {stamp}.\n\nWhy:\n{reason}\n\n"
        "Nothing was imported from it. Fix the delivery and drop the corrected files in the inbox again.\n",
        encoding="utf-8")


def _still_the_same(path: Path, sha256: str, mtime_ns: int | None, was_read: bool = True) -> bool:
    """The file at ``path`` is the one that was imported (not a new file of the same name).
    A file that could not be read then (a link, no permission) is known by its time alone."""
    st = _stat(path)
    if st is None:
        return False
    if mtime_ns is not None and st[1] != mtime_ns:
        return False
    if not was_read or path.is_symlink():
        return True  # never read through a link
    try:
        return file_sha256(path) == sha256
    except OSError:
        return False


def finish_inbox_actions(store: Store, run_id: int, only: list[int] | None = None) -> tuple[int, set[Path]]:
    """Carry out the recorded file moves of committed deliveries not yet done. Safe to
    repeat: a file already gone is skipped. Returns how many deliveries were finished, and
    the inbox files that could not be moved (they stay, and are not read as new arrivals)."""
    done = 0
    stuck: set[Path] = set()
    with store.reading() as conn:
        query = select(deliveries).where(deliveries.c.inbox_action.is_not(None), deliveries.c.inbox_done.is_(False))
        if only is not None:
            query = query.where(deliveries.c.id.in_(only))
        pending = list(conn.execute(query.order_by(deliveries.c.id)))
        files = {d.id: list(conn.execute(select(delivery_files).where(delivery_files.c.delivery_id == d.id)
                                         .order_by(delivery_files.c.id))) for d in pending}
    for d in pending:
        moved, failed = [], []
        target = None
        if d.inbox_action == "quarantine":
            target = store.work / (d.inbox_target or _quarantine_folder(d.entry_number, d.id))
        for f in files[d.id]:
            source = path_from_db(f.source_path)
            if not _still_the_same(source, f.sha256, f.source_mtime_ns, was_read=bool(f.archive_path)):
                continue  # moved already, or replaced by a newer file of the same name
            try:
                if d.inbox_action == "archive" and not f.archive_path:
                    # A file of a stored delivery that could not be read (a link, say): it
                    # is not in the archive, so it goes to quarantine, never away.
                    aside = store.work / _quarantine_folder(d.entry_number, d.id)
                    if not (aside / f"{f.name}{REASON_SUFFIX}").exists():
                        _write_reason(aside, f.name, "this file could not be read (see the delivery's "
                                                     "FILE_UNREADABLE finding); the rest of the delivery was imported")
                    _move(source, aside)
                elif d.inbox_action == "archive":
                    if not store.archive.holds(f.archive_path, f.sha256):
                        raise OSError(f"{f.name} is not in the archive")
                    source.unlink()  # the archive holds these exact bytes
                else:
                    if not (target / f"{f.name}{REASON_SUFFIX}").exists():
                        _write_reason(target, f.name, d.reason or "the delivery could not be used")
                    _move(source, target)
            except OSError as exc:
                log.warning("delivery %s (store id %s): file %s stays in the inbox: %s", d.entry_number, d.id,
                            f.id, os_reason(exc))
                failed.append(source)
                continue
            moved.append(f.name)
            checkpoint("moving", d.entry_number)
        if failed:
            stuck.update(failed)
            continue  # tried again by the next pass
        with store.transaction() as conn:
            conn.execute(update(deliveries).where(deliveries.c.id == d.id).values(
                inbox_done=True, inbox_target=target.relative_to(store.work).as_posix() if target else None))
            audit(conn, "files_archived" if d.inbox_action == "archive" else "files_quarantined", run_id=run_id,
                  entry_number=d.entry_number, delivery_id=d.id, files=moved)
        done += 1
    return done, stuck


# --------------------------------------------------------------------------- one pass

def run_pass(settings: PassSettings, *, store: Store | None = None) -> PassResult:
    """One pass over the inbox (see the module's docstring). Raises ``StoreError`` (database
    unreachable or full) or ``LockHeld`` with a one-line message."""
    inbox = Path(settings.inbox)
    if not inbox.is_dir():
        raise StoreError(f"the inbox {inbox} is not a folder")
    work = Path(settings.work)
    own_store = store is None
    if store is None:
        store = open_store(work, settings.db)
    try:
        with WorkLock(work, store):
            return _locked_pass(store, settings, inbox)
    finally:
        if own_store:
            store.close()


def _locked_pass(store: Store, settings: PassSettings, inbox: Path) -> PassResult:
    mark_interrupted_runs(store)
    store.archive.clear_incoming()  # half-copies of a killed pass; the lock says no one writes them now
    run_id = start_run(store, "inbox", [inbox])
    result = PassResult(run_id)
    try:
        result.finished_from_before, stuck = finish_inbox_actions(store, run_id)
        result.notes += [f"{p} could not be taken out of the inbox" for p in sorted(stuck)]
        files, linked_folders = _inbox_files(inbox, store.work)
        files = [p for p in files if p not in stuck]
        linked_folders = [p for p in linked_folders if p not in stuck]
        stable, moving = settled_files(files, settings.settle_s)
        # Paired as listed: never through find_deliveries, which enters a path that is a folder
        # (a linked folder named like a file would lead it out of the inbox).
        candidates, loose = pair_files(sorted(stable)) if stable else ([], [])
        ready, waiting = [], []
        for cand in candidates:
            parts = [p for p in (cand.dok, cand.data) if p is not None]
            if cand.dok is None or cand.data is None:
                newest = max((_stat(p.path) or (0, 0))[1] for p in parts) / 1e9
                if time.time() - newest < settings.pair_wait_s:
                    waiting.append(cand)
                    continue
            ready.append(cand)
        result.waiting = len(waiting) + len(moving)
        for cand in waiting:
            log.info("delivery %s waits for the other file of its pair", cand.key)

        def after_commit(outcome: Outcome) -> None:
            _after_commit(store, run_id, outcome)

        importer = Importer(store, run_id, options=settings.options, inbox_actions=True, after_commit=after_commit)
        try:
            imported = importer.import_found(ready, loose, linked_folders)
        except StoreError as exc:
            _record_failure(store, run_id, importer, str(exc))
            raise
        _tally(result, imported)
        from ingest.store.crosscheck import after_import

        imported.cross = after_import(store, imported, settings.options)
        if settings.report and imported.outcomes:
            result.report = write_run_report(store, run_id, imported)
        finish_run(store, run_id, "finished", _summary(result))
        return result
    except StoreError:
        raise
    except BaseException as exc:
        _record_failure(store, run_id, None, f"{type(exc).__name__}: {exc}")
        raise


def _after_commit(store: Store, run_id: int, outcome: Outcome) -> None:
    if outcome.status == CHANGED:
        return
    if outcome.status == DUPLICATE:
        # Nothing was stored; the archive already holds these bytes under their hash.
        with store.reading() as conn:
            known = {f.sha256 for f in conn.execute(select(delivery_files.c.sha256, delivery_files.c.archive_path)
                                                    .where(delivery_files.c.delivery_id == outcome.delivery_id))}
        for path in outcome.paths:
            try:
                if not path.is_symlink() and path.exists() and file_sha256(path) in known:
                    path.unlink()
            except OSError as exc:
                log.warning("delivery %s: a duplicate file stays in the inbox: %s", outcome.entry_number,
                            os_reason(exc))
        return
    if outcome.delivery_id is not None:
        finish_inbox_actions(store, run_id, only=[outcome.delivery_id])
        # A file that could not be moved is tried again by the next pass, which skips it
        # as an arrival because its delivery's move is still pending.


def _tally(result: PassResult, imported: ImportRun) -> None:
    for o in imported.outcomes:
        if o.status == "imported":
            result.imported += 1
        elif o.status == "new_version":
            result.new_versions += 1
        elif o.status == DUPLICATE:
            result.duplicates += 1
        elif o.status == REJECTED:
            result.quarantined += 1
        elif o.status == CHANGED:
            result.waiting += 1
        result.rows += o.rows
        result.errors += o.counts.get("error", 0)


def _summary(result: PassResult) -> dict:
    return {"imported": result.imported, "new_versions": result.new_versions, "duplicates": result.duplicates,
            "quarantined": result.quarantined, "waiting": result.waiting, "rows": result.rows,
            "errors": result.errors, "finished_from_before": result.finished_from_before}


def _record_failure(store: Store, run_id: int, importer, message: str) -> None:
    try:
        finish_run(store, run_id, "failed", None, message)
    except Exception:  # noqa: BLE001 - the database may be why the pass failed
        log.debug("could not record the failure of run %s", run_id, exc_info=True)


def write_run_report(store: Store, run_id: int, imported: ImportRun) -> Path | None:
    """``reports/<time>-run<id>/findings.json`` and ``report.html``; a report that cannot be
    written is logged, it never undoes the imports."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    folder = store.work / "reports" / f"{stamp}-run{run_id}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "findings.json").open("w", encoding="utf-8") as fh:
            json.dump(imported.result.findings_json(), fh, ensure_ascii=False, indent=1)
        from ingest.report import write_report

        write_report(imported.result, folder)
    except Exception as exc:  # noqa: BLE001
        log.error("run %s: its report could not be written (%s)", run_id, os_reason(exc))
        log.debug("report failure", exc_info=True)
        return None
    return folder


# --------------------------------------------------------------------------- scheduling

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> float:
    """``15m`` -> 900.0; accepts s, m, h, d and plain seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text or "")
    if not m or float(m[1]) <= 0:
        raise ValueError(f"not an interval: {text!r} (examples: 30s, 15m, 1h)")
    return float(m[1]) * _UNITS[m[2] or "s"]


def schedule(settings: PassSettings, every_s: float, *, passes: int | None = None,
             on_pass: Callable[[PassResult | Exception], None] | None = None) -> int:
    """Run a pass now and then every ``every_s`` seconds, in the foreground, until stopped
    (SIGINT/SIGTERM) or after ``passes`` passes. A pass that is still running when the next
    is due is not doubled up (the scheduler skips, the lock would refuse). Returns the
    number of passes run."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    scheduler = BlockingScheduler(timezone=UTC)
    count = 0

    def one_pass() -> None:
        nonlocal count
        count += 1
        try:
            outcome: PassResult | Exception = run_pass(settings)
        except Exception as exc:  # noqa: BLE001 - one failed pass must not stop the schedule
            outcome = exc
        if on_pass is not None:
            on_pass(outcome)
        if passes is not None and count >= passes:
            scheduler.shutdown(wait=False)

    scheduler.add_job(one_pass, IntervalTrigger(seconds=every_s, timezone=UTC), id="inbox-pass",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(UTC), misfire_grace_time=None)

    def stop(_signum, _frame):
        scheduler.shutdown(wait=False)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        scheduler.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return count


__all__ = ["PassResult", "PassSettings", "finish_inbox_actions", "parse_interval", "run_pass", "schedule",
           "settled_files", "write_run_report"]
