"""Backup and restore of a store: the database and the work folder's files in one tar file.

``mgr-ingest backup --work DIR [--db URL] --to FILE.tar`` writes:

``db/mgr.sqlite``      for SQLite, a consistent copy made with SQLite's online backup API
                       (readers and the web application may go on meanwhile);
``db/tables/*.jsonl``  for PostgreSQL, every table of the store's schema exported through
                       SQLAlchemy inside one repeatable-read transaction, one JSON object per
                       row, so that it can be restored into PostgreSQL or SQLite alike;
``files/…``            every file of the work folder (the archive, quarantine, reports …),
                       except the database itself, its lock and half-written temporary files;
``manifest.json``      last: the format, the schema revisions, each table's columns and row
                       count, and the sha256 and size of every other member.

The work folder's lock is held while the backup is made, so no import or inbox pass runs
in between. ``mgr-ingest restore FILE.tar --work NEWDIR [--db URL]`` checks every checksum
(and that every archived file's bytes hash to its name) before it writes anything, restores
into a staging folder next to NEWDIR, loads the database (the SQLite copy as it is when the
target is SQLite and the copy is one, else table by table through SQLAlchemy), checks the
row counts and that every file the database names is in the archive with its hash, and only
then moves the staging folder into place. NEWDIR must be empty or absent, and a target
database must not hold store rows already.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import shutil
import sqlite3
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath

from sqlalchemy import MetaData, Table, create_engine, insert, inspect, select, text
from sqlalchemy import types as satypes

from ingest.store.database import DEFAULT_DB_NAME, Store, StoreError, open_store, resolve_url, upgrade
from ingest.store.lock import LOCK_NAME, WorkLock

log = logging.getLogger("mgr_ingest.backup")

FORMAT = "mgr-ingest-backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "db/mgr.sqlite"
TABLES_DIR = "db/tables"
FILES_DIR = "files"
STORE_VERSION_TABLE = "alembic_version"
WEB_VERSION_TABLE = "webentry_alembic_version"
CHUNK = 1 << 20
BATCH = 5_000


class BackupError(Exception):
    """The backup or restore cannot be done; the message is one line for the user."""


@dataclass
class Done:
    path: Path | None
    work: Path | None
    tables: int
    rows: int
    files: int
    bytes: int


# --------------------------------------------------------------------------- values in JSON

def _plain(value):
    """A database value as JSON (read back by the target column's type)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _typed(value, column):
    """A JSON value back into what ``column`` holds."""
    if value is None:
        return None
    typ = column.type
    if isinstance(typ, satypes.DateTime) and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo or not getattr(typ, "timezone", False) else parsed.replace(tzinfo=UTC)
    if isinstance(typ, satypes.Date) and isinstance(value, str):
        return date.fromisoformat(value)
    if isinstance(typ, satypes.LargeBinary) and isinstance(value, str):
        return base64.b64decode(value)
    if isinstance(typ, satypes.Numeric) and isinstance(value, str) and not isinstance(typ, satypes.Float):
        return Decimal(value)
    if isinstance(typ, satypes.Boolean):
        return bool(value)
    return value


def _describe(table: Table) -> list[dict]:
    """A table's columns by generic type, enough to make it again where no migration does."""
    out = []
    for c in table.columns:
        try:
            generic = c.type.as_generic()
        except NotImplementedError:
            generic = satypes.Text()
        out.append({"name": c.name, "type": type(generic).__name__, "length": getattr(generic, "length", None),
                    "timezone": getattr(generic, "timezone", None), "nullable": bool(c.nullable),
                    "primary_key": bool(c.primary_key)})
    return out


_GENERIC = {"Integer": satypes.Integer, "BigInteger": satypes.BigInteger, "SmallInteger": satypes.SmallInteger,
            "Boolean": satypes.Boolean, "Date": satypes.Date, "Float": satypes.Float, "Numeric": satypes.Numeric,
            "JSON": satypes.JSON, "LargeBinary": satypes.LargeBinary, "Text": satypes.Text,
            "Interval": satypes.Interval, "Time": satypes.Time, "Uuid": satypes.Uuid}


def _column_type(desc: dict):
    name = desc["type"]
    if name in ("String", "Unicode", "Enum"):
        return satypes.String(desc.get("length")) if desc.get("length") else satypes.Text()
    if name == "DateTime":
        return satypes.DateTime(timezone=bool(desc.get("timezone")))
    return _GENERIC.get(name, satypes.Text)()


# --------------------------------------------------------------------------- checksummed tar

class _Hashing(io.RawIOBase):
    """A file read through, hashing what passes."""

    def __init__(self, fh):
        self.fh = fh
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.fh.read(len(buffer))
        self.digest.update(data)
        buffer[: len(data)] = data
        return len(data)


def _add_file(tar: tarfile.TarFile, path: Path, arcname: str, members: dict) -> int:
    st = path.lstat()
    if stat.S_ISLNK(st.st_mode):  # quarantined links stay links; never read through
        info = tarfile.TarInfo(arcname)
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(path)
        info.mtime = int(st.st_mtime)
        tar.addfile(info)
        members[arcname] = {"link": info.linkname}
        return 0
    info = tarfile.TarInfo(arcname)
    info.size = st.st_size
    info.mtime = int(st.st_mtime)
    info.mode = stat.S_IMODE(st.st_mode)
    with open(path, "rb") as fh:
        hashing = _Hashing(fh)
        tar.addfile(info, io.BufferedReader(hashing, CHUNK))
    members[arcname] = {"sha256": hashing.digest.hexdigest(), "size": st.st_size}
    return st.st_size


def _arcname(relative: Path) -> str:
    return f"{FILES_DIR}/{relative.as_posix()}"


def _work_files(work: Path, db_files: set[Path]) -> list[Path]:
    """The work folder's files worth keeping: not the database, its lock or temporary files."""
    out = []
    for path in sorted(work.rglob("*")):
        rel = path.relative_to(work)
        if path.resolve() in db_files or rel.as_posix() == LOCK_NAME:
            continue
        if path.name.startswith(".incoming-") or path.name.endswith((".partial", ".tmp")):
            continue
        if path.is_symlink() or path.is_file():
            out.append(path)
    return out


# --------------------------------------------------------------------------- backup

def _sqlite_path(store: Store) -> Path | None:
    return Path(store.url.database).resolve() if store.dialect == "sqlite" and store.url.database else None


def _revision(conn, table: str) -> str | None:
    if not inspect(conn).has_table(table):
        return None
    return conn.execute(text(f"SELECT version_num FROM {table}")).scalar()


def _export_tables(store: Store, folder: Path) -> dict:
    """Every table of the store's schema as JSON lines, from one consistent snapshot."""
    tables = {}
    with store.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        meta = MetaData()
        meta.reflect(bind=conn)
        folder.mkdir(parents=True, exist_ok=True)
        for table in meta.sorted_tables:
            order = [c for c in table.primary_key.columns] or list(table.columns)
            count = 0
            with (folder / f"{table.name}.jsonl").open("w", encoding="utf-8") as out:
                result = conn.execution_options(yield_per=BATCH).execute(select(table).order_by(*order))
                for row in result.mappings():
                    out.write(json.dumps({k: _plain(v) for k, v in row.items()}, ensure_ascii=False) + "\n")
                    count += 1
            tables[table.name] = {"rows": count, "columns": _describe(table)}
        conn.rollback()
    return tables


def _sqlite_snapshot(source: Path, target: Path) -> dict:
    """SQLite's online backup API: a consistent copy while others may read and write."""
    src = sqlite3.connect(source, timeout=60)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        problem = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if problem != "ok":
            raise BackupError(f"the database copy failed SQLite's integrity check: {problem}")
        names = [r[0] for r in dst.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {name: {"rows": dst.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]} for name in names}
    finally:
        dst.close()
        src.close()


def backup(work: Path | str, db: str | None, target: Path | str) -> Done:
    work, target = Path(work), Path(target)
    if not work.is_dir():
        raise BackupError(f"there is no work folder {work}")
    if target.exists():
        raise BackupError(f"{target} exists already; name a new file")
    if not target.parent.is_dir():
        raise BackupError(f"cannot write {target}: folder {target.parent} does not exist")
    try:
        target.parent.resolve().relative_to(work.resolve())
        raise BackupError(f"write the backup outside the work folder {work}")
    except ValueError:
        pass
    if db is None and not os.environ.get("MGR_DB_URL") and not (work / DEFAULT_DB_NAME).exists():
        raise BackupError(f"no store in {work}")
    try:
        store = open_store(work, db, migrate=False)
    except StoreError as exc:
        raise BackupError(str(exc)) from None
    partial = target.with_name(f".{target.name}.partial")
    try:
        with WorkLock(work, store), tempfile.TemporaryDirectory(prefix=".mgr-backup-", dir=target.parent) as tmp:
            staging = Path(tmp)
            with store.engine.connect() as conn:
                revisions = {"store": _revision(conn, STORE_VERSION_TABLE), "web": _revision(conn, WEB_VERSION_TABLE)}
            members: dict[str, dict] = {}
            db_file = _sqlite_path(store)
            with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
                if db_file is not None:
                    tables = _sqlite_snapshot(db_file, staging / "mgr.sqlite")
                    _add_file(tar, staging / "mgr.sqlite", SQLITE_MEMBER, members)
                    db_files = {db_file, Path(f"{db_file}-wal"), Path(f"{db_file}-shm"), Path(f"{db_file}-journal")}
                else:
                    tables = _export_tables(store, staging / "tables")
                    for name in sorted(tables):
                        _add_file(tar, staging / "tables" / f"{name}.jsonl", f"{TABLES_DIR}/{name}.jsonl", members)
                    db_files = set()
                files = size = 0
                for path in _work_files(work, {p.resolve() for p in db_files}):
                    size += _add_file(tar, path, _arcname(path.relative_to(work)), members)
                    files += 1
                _check_archive_names(members)
                manifest = {"format": FORMAT, "made": datetime.now(UTC).isoformat(timespec="seconds"),
                            "dialect": store.dialect, "revisions": revisions, "tables": tables,
                            "members": members}
                data = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(data)
                info.mtime = int(datetime.now(UTC).timestamp())
                tar.addfile(info, io.BytesIO(data))
            with open(partial, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"cannot write the backup {target}: {exc.strerror or exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        store.close()
    rows = sum(t["rows"] for t in tables.values())
    log.info("backup written: %d tables, %d rows, %d files", len(tables), rows, files)
    return Done(target, work, len(tables), rows, files, size)


def _check_archive_names(members: dict) -> None:
    """Archived files are named by their sha256: a file whose bytes say otherwise is damaged."""
    for name, m in members.items():
        parts = PurePosixPath(name).parts
        if len(parts) == 4 and parts[:2] == (FILES_DIR, "archive") and "sha256" in m:
            if PurePosixPath(parts[3]).stem != m["sha256"]:
                raise BackupError(f"the archived file {parts[3]} does not hold the bytes its name says")


# --------------------------------------------------------------------------- restore

def _safe_member(name: str) -> PurePosixPath:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise BackupError(f"the backup holds an unsafe path: {name!r}")
    return p


def _verify(tar: tarfile.TarFile) -> dict:
    """The manifest, once every member's bytes match it (nothing is written before)."""
    try:
        info = tar.getmember(MANIFEST)
        manifest = json.loads(tar.extractfile(info).read().decode("utf-8"))
    except (KeyError, ValueError, UnicodeDecodeError):
        raise BackupError("not a backup made by mgr-ingest (no readable manifest.json)") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r} (this version reads {FORMAT})")
    expected = dict(manifest["members"])
    for member in tar:
        if member.name == MANIFEST:
            continue
        _safe_member(member.name)
        want = expected.pop(member.name, None)
        if want is None:
            raise BackupError(f"the backup holds {member.name}, which its manifest does not list")
        if member.issym():
            if want.get("link") != member.linkname:
                raise BackupError(f"the link {member.name} differs from the manifest")
            continue
        if not member.isfile():
            raise BackupError(f"the backup holds {member.name}, which is not a file")
        digest = hashlib.sha256()
        fh = tar.extractfile(member)
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
        if digest.hexdigest() != want.get("sha256") or member.size != want.get("size"):
            raise BackupError(f"checksum mismatch for {member.name}: the backup is damaged")
    if expected:
        raise BackupError(f"the backup lacks {sorted(expected)[0]} (and {len(expected) - 1} more)"
                          if len(expected) > 1 else f"the backup lacks {next(iter(expected))}")
    _check_archive_names(manifest["members"])
    return manifest


def _prepare_work(work: Path) -> Path:
    if work.exists() and (not work.is_dir() or any(work.iterdir())):
        raise BackupError(f"{work} is not empty; restore into a new folder")
    work.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{work.name}.restoring-", dir=work.parent))


def _extract_files(tar: tarfile.TarFile, staging: Path) -> tuple[int, int]:
    files = size = 0
    for member in tar:
        parts = _safe_member(member.name).parts
        if parts[0] != FILES_DIR or len(parts) < 2:
            continue
        target = staging.joinpath(*parts[1:])
        target.parent.mkdir(parents=True, exist_ok=True)
        if member.issym():
            os.symlink(member.linkname, target)  # a quarantined link, restored as a link
        else:
            with tar.extractfile(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
            os.chmod(target, member.mode & 0o777 or 0o644)
            os.utime(target, (member.mtime, member.mtime))
            size += member.size
        files += 1
    return files, size


def _target_is_sqlite(db: str | None, staging: Path) -> bool:
    return resolve_url(db, staging).get_backend_name() == "sqlite"


def _load_rows(engine, manifest: dict, reader) -> int:
    """Insert every table's rows (the migrations made the tables; any other table is made
    from its description) in an order that satisfies the foreign keys."""
    meta = MetaData()
    meta.reflect(bind=engine)
    wanted = [n for n in manifest["tables"] if n not in (STORE_VERSION_TABLE, WEB_VERSION_TABLE)]
    missing = [n for n in wanted if n not in meta.tables]
    if missing:
        extra = MetaData()
        for name in missing:
            cols = manifest["tables"][name].get("columns")
            if not cols:
                raise BackupError(f"the target database has no table {name} and the backup does not describe it")
            from sqlalchemy import Column

            Table(name, extra, *[Column(c["name"], _column_type(c), primary_key=c["primary_key"],
                                        nullable=c["nullable"]) for c in cols])
        extra.create_all(engine)
        meta = MetaData()
        meta.reflect(bind=engine)
    total = 0
    with engine.begin() as conn:
        for table in meta.sorted_tables:
            if table.name not in wanted:
                continue
            have = conn.execute(select(table).limit(1)).first()
            if have is not None:
                raise BackupError(f"the target database holds rows in {table.name} already; restore into an "
                                  "empty database")
            batch = []
            for row in reader(table.name):
                batch.append({k: _typed(v, table.c[k]) for k, v in row.items() if k in table.c})
                if len(batch) >= BATCH:
                    conn.execute(insert(table), batch)
                    total += len(batch)
                    batch = []
            if batch:
                conn.execute(insert(table), batch)
                total += len(batch)
        if conn.dialect.name == "postgresql":
            for table in meta.sorted_tables:
                if table.name in wanted and "id" in table.c and table.c["id"].primary_key:
                    conn.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE((SELECT max(id) FROM {table.name}), 1), "
                        f"(SELECT max(id) FROM {table.name}) IS NOT NULL) "
                        f"WHERE pg_get_serial_sequence('{table.name}', 'id') IS NOT NULL"))
    return total


def _jsonl_reader(tar: tarfile.TarFile):
    def rows(name: str):
        member = tar.getmember(f"{TABLES_DIR}/{name}.jsonl")
        with tar.extractfile(member) as fh:
            for line in io.TextIOWrapper(fh, encoding="utf-8"):
                if line.strip():
                    yield json.loads(line)
    return rows


def _sqlite_reader(path: Path):
    engine = create_engine(f"sqlite:///{path}")
    meta = MetaData()
    meta.reflect(bind=engine)

    def rows(name: str):
        table = meta.tables[name]
        order = list(table.primary_key.columns) or list(table.columns)
        with engine.connect() as conn:
            for row in conn.execution_options(yield_per=BATCH).execute(select(table).order_by(*order)).mappings():
                yield {k: _plain(v) for k, v in row.items()}
    return rows, engine


def _bring_schema(store: Store, revisions: dict) -> None:
    """The target's tables at the backup's revisions, so that its rows fit them."""
    if revisions.get("store"):
        upgrade(store.engine, revisions["store"])
    else:
        upgrade(store.engine)
    if revisions.get("web"):
        try:
            from webentry.db import upgrade_web
        except ImportError:
            return  # made from the manifest's description instead
        upgrade_web(store, revisions["web"])


def _count_rows(engine, manifest: dict) -> None:
    with engine.connect() as conn:
        for name, t in manifest["tables"].items():
            if name in (STORE_VERSION_TABLE, WEB_VERSION_TABLE):
                continue
            got = conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar()
            if got != t["rows"]:
                raise BackupError(f"{name} holds {got} rows after the restore, the backup {t['rows']}")


def _check_archive(store: Store) -> None:
    from ingest.store.models import delivery_files

    with store.reading() as conn:
        for f in conn.execute(select(delivery_files.c.archive_path, delivery_files.c.sha256)
                              .where(delivery_files.c.archive_path != "")):
            if not store.archive.holds(f.archive_path, f.sha256):
                raise BackupError(f"the restored archive lacks {f.archive_path} (or its bytes differ)")


def _end_web_sessions(store: Store) -> None:
    """A restored store carries no live log-in: the web application's open sessions end
    (their cookies would otherwise work again against the restored copy)."""
    with store.engine.begin() as conn:
        if not inspect(conn).has_table("web_sessions"):
            return
        sessions = Table("web_sessions", MetaData(), autoload_with=conn)
        conn.execute(sessions.update().where(sessions.c.ended_at.is_(None))
                     .values(ended_at=datetime.now(UTC), end_reason="restore"))


def restore(backup_file: Path | str, work: Path | str, db: str | None = None) -> Done:
    backup_file, work = Path(backup_file), Path(work)
    if not backup_file.is_file():
        raise BackupError(f"{backup_file}: no such file")
    try:
        tar = tarfile.open(backup_file, "r:")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{backup_file} is not a readable tar file ({exc})") from None
    with tar:
        try:
            manifest = _verify(tar)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"{backup_file} is damaged ({type(exc).__name__})") from None
        staging = _prepare_work(work)
        try:
            files, size = _extract_files(tar, staging)
            archive_dir = staging / "archive"
            if archive_dir.is_dir():
                for p in archive_dir.rglob("*"):
                    if p.is_file() and not p.is_symlink():
                        os.chmod(p, 0o444)
            tables = manifest["tables"]
            sqlite_copy = SQLITE_MEMBER in manifest["members"]
            if sqlite_copy and db is None and _target_is_sqlite(db, staging):
                target = staging / DEFAULT_DB_NAME
                with tar.extractfile(tar.getmember(SQLITE_MEMBER)) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
                store = open_store(staging, None, migrate=True)
                rows = sum(t["rows"] for t in tables.values())
            else:
                store = open_store(staging, db, migrate=False)
                try:
                    _bring_schema(store, manifest.get("revisions") or {})
                    if sqlite_copy:
                        with tempfile.TemporaryDirectory(prefix=".mgr-restore-", dir=work.parent) as tmp:
                            copy = Path(tmp) / "copy.sqlite"
                            with tar.extractfile(tar.getmember(SQLITE_MEMBER)) as src, open(copy, "wb") as out:
                                shutil.copyfileobj(src, out, CHUNK)
                            reader, engine = _sqlite_reader(copy)
                            try:
                                rows = _load_rows(store.engine, manifest, reader)
                            finally:
                                engine.dispose()
                    else:
                        rows = _load_rows(store.engine, manifest, _jsonl_reader(tar))
                    upgrade(store.engine)  # and on to this version's newest schema
                except BaseException:
                    store.close()
                    raise
            try:
                _count_rows(store.engine, manifest)
                _check_archive(store)
                _end_web_sessions(store)
            finally:
                store.close()
            if work.exists():
                work.rmdir()  # empty, checked above
            os.replace(staging, work)
        except StoreError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise BackupError(str(exc)) from None
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise BackupError(f"cannot restore into {work}: {exc.strerror or exc}") from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    log.info("restored %d tables, %d rows, %d files", len(tables), rows, files)
    return Done(None, work, len(tables), rows, files, size)


__all__ = ["BackupError", "Done", "backup", "restore"]
