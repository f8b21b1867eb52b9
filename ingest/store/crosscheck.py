"""The cross-source check over the store: the current births, deaths and censuses checked
against each other (``validators.crosscheck``), and its findings kept in ``findings`` beside
the import's own, where the QA queue, ``status`` and ``tables`` find them.

It runs after every import that stored a new delivery or version of KBF, KBD or FT (also in
an inbox pass), and as ``mgr-ingest crosscheck --work DIR``. Each run checks the whole set
of current deliveries again, so a delivery superseded by a new version takes its findings
with it and the findings still open are checked anew.

A finding is kept from one run to the next while the same two records are in question (its
``cross_key``: code, the record it is on and the record on the other side): it keeps its id,
and so the reviewer's decision on it, across re-deliveries; its delivery, message and score
are brought up to date. A finding no run raises any more is removed. The whole replacement
is one transaction: a check killed halfway leaves the findings of the run before, and the
next run completes it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import delete, func, insert, select, update

from ingest.pipeline import CROSS_CODES
from ingest.store.audit import audit
from ingest.store.database import Store
from ingest.store.importer import finish_run, start_run
from ingest.store.models import STATUS_CURRENT, check_key_sets, check_keys, deliveries, findings
from validators.crosscheck import cross_key

log = logging.getLogger("mgr_ingest.store.crosscheck")

CHECKED_SOURCES = ("KBF", "KBD", "FT")


@dataclass
class CrossRun:
    run_id: int | None
    counts: dict[str, int] = field(default_factory=dict)  # open findings by code after the run
    added: int = 0
    kept: int = 0
    removed: int = 0
    skipped: str | None = None  # why nothing was checked (no births, or nothing to check them against)
    mode: str = "full"  # or "incremental"
    read: int = 0  # deliveries checked: every current one, or those in question
    days: int = 0  # birth days an incremental check read

    def summary(self) -> dict:
        return {"findings": self.counts, "added": self.added, "kept": self.kept, "removed": self.removed,
                "skipped": self.skipped, "mode": self.mode, "deliveries": self.read, "days": self.days}


def _current_sources(store: Store) -> dict[str, int]:
    with store.reading() as conn:
        return {src: n for src, n in conn.execute(
            select(deliveries.c.source, func.count()).where(deliveries.c.status == STATUS_CURRENT)
            .group_by(deliveries.c.source))}


def _checkable(present: dict[str, int]) -> bool:
    """Births, and deaths or a census to check them against."""
    return bool(present.get("KBF")) and bool(present.get("KBD") or present.get("FT"))


FULL_SHARE = 0.25  # a check whose deliveries in question hold more of the store's rows than this reads everything


def _current_versions(conn) -> list:
    return list(conn.execute(select(deliveries.c.id, deliveries.c.entry_number, deliveries.c.source,
                                    deliveries.c.rows_stored)
                             .where(deliveries.c.status == STATUS_CURRENT,
                                    deliveries.c.source.in_(CHECKED_SOURCES))
                             .order_by(deliveries.c.entry_number, deliveries.c.id)))


def crosscheck_store(store: Store, *, options: dict | None = None, actor: str = "mgr-ingest",
                     touched: list[int] | None = None, since: datetime | None = None) -> CrossRun:
    """Check the store's current deliveries against each other and keep the findings.

    Without ``touched`` and ``since`` every current delivery is checked (``mgr-ingest
    crosscheck``).  With them the check is incremental: it reads the birth days the
    deliveries in question touch (``touched``: delivery ids, as an import gives them;
    ``since``: every delivery stored since then) and replaces only the findings on their
    records or on the records of those days.  Deliveries whose keys no longer hold (a
    correction, a decision, new reference data) are in question too."""
    present = _current_sources(store)
    run_id = start_run(store, "crosscheck", [])
    try:
        run = _check(store, run_id, present, options, actor, touched, since)
    except BaseException as exc:
        try:
            finish_run(store, run_id, "failed", None, type(exc).__name__)
        except Exception:  # noqa: BLE001 - the first error is the one to report
            log.debug("could not record the end of crosscheck run %s", run_id, exc_info=True)
        raise
    finish_run(store, run_id, "finished", run.summary())
    log.info("crosscheck (%s): %d findings open (%d new, %d kept, %d removed; %d deliveries read)", run.mode,
             sum(run.counts.values()), run.added, run.kept, run.removed, run.read)
    return run


def _check(store: Store, run_id: int, present: dict[str, int], options, actor, touched, since) -> CrossRun:
    from ingest.store import checkkeys

    reference = checkkeys.reference_fingerprint()
    with store.reading() as conn:
        versions = _current_versions(conn)
        wanted = checkkeys.fingerprints(conn, versions, reference)
        kept = checkkeys.kept_fingerprints(conn)
    current_ids = {v.id for v in versions}
    stale = [v for v in versions if kept.get(v.id) != wanted[v.id]]
    gone = sorted(set(kept) - current_ids)  # keys of versions no longer current
    incremental = (touched is not None or since is not None) and bool(kept)
    question: set[str] = set()
    old_days = _Days()
    if incremental:
        with store.reading() as conn:
            question = _in_question(conn, touched, since) | {v.entry_number for v in stale}
            for i in range(0, len(gone), 500):
                question |= {e for (e,) in conn.execute(select(check_key_sets.c.entry_number)
                                                        .where(check_key_sets.c.delivery_id.in_(gone[i:i + 500])))}
            # the days the records were on before: a record that moved or left may leave a
            # partner whose finding changes
            old_days = _days_of(conn, [v.id for v in stale] + gone)
        share = sum(v.rows_stored or 0 for v in versions if v.entry_number in question)
        incremental = share <= FULL_SHARE * max(1, sum(v.rows_stored or 0 for v in versions))
    checkkeys.refresh(store, stale, wanted, options)
    if not _checkable(present):
        run = _keep(store, run_id, [], actor, drop_sets=gone)
        run.skipped = "the check needs births (KBF) and deaths (KBD) or a census (FT) in the store"
        return run
    if not incremental:
        frames = _read_frames(store, versions, None)
        run = _keep(store, run_id, _findings(frames, None), actor, drop_sets=gone)
        run.mode, run.read = "full", len(versions)
        return run
    frames, records, ctx, days = _read_part(store, versions, question, old_days)
    run = _keep(store, run_id, _findings(frames, ctx), actor, drop_sets=gone, scope=(question, records))
    run.mode, run.read, run.days = "incremental", len(question), len(days)
    return run


def _in_question(conn, touched: list[int] | None, since: datetime | None) -> set[str]:
    """Entry numbers of the deliveries a check is about: those given, those stored since."""
    out: set[str] = set()
    for i in range(0, len(touched or ()), 500):
        out |= {e for (e,) in conn.execute(select(deliveries.c.entry_number)
                                           .where(deliveries.c.id.in_(touched[i:i + 500])))}
    if since is not None:
        out |= {e for (e,) in conn.execute(select(deliveries.c.entry_number)
                                           .where(deliveries.c.imported_at >= since,
                                                  deliveries.c.source.in_(CHECKED_SOURCES)))}
    return out


@dataclass
class _Days:
    """Birth days of some records, by source, and the (birth day, death day) of deaths."""
    kbf: set[int] = field(default_factory=set)
    kbd: set[int] = field(default_factory=set)
    ft: set[int] = field(default_factory=set)
    deaths: set[tuple[int, int]] = field(default_factory=set)

    def __or__(self, other: _Days) -> _Days:
        return _Days(self.kbf | other.kbf, self.kbd | other.kbd, self.ft | other.ft, self.deaths | other.deaths)


def _days_of(conn, ids: list[int]) -> _Days:
    out = _Days()
    for i in range(0, len(ids), 500):
        for source, day, died in conn.execute(select(check_keys.c.source, check_keys.c.day, check_keys.c.died)
                                              .where(check_keys.c.delivery_id.in_(ids[i:i + 500])).distinct()):
            {"KBF": out.kbf, "KBD": out.kbd, "FT": out.ft}[source].add(day)
            if source == "KBD" and died is not None and day >= 0:
                out.deaths.add((day, died))
    return out


READ_CHUNK = 100_000  # key rows parsed together


@dataclass
class _Pairs:
    """Deaths to read by (birth day, day of death): an index finds their birth days, and the
    exact pairs are kept (a row-value IN would make SQLite read the whole table)."""
    pairs: set[tuple[int, int]]


def _read_frames(store: Store, versions, where: list | None) -> dict[str, pd.DataFrame]:
    """The key rows of the current versions as one frame per source, in the order of the
    versions and of their rows. ``where``: lists of conditions on check_keys (or ``_Pairs``
    of deaths), each read in turn (a row read twice counts once); None reads every version's
    rows, one version at a time, parsed a chunk at a time (a national store is never held as
    text)."""
    from ingest.store import checkkeys

    tables: dict[str, list] = {s: [] for s in CHECKED_SOURCES}
    k = check_keys.c
    query = select(k.delivery_id, k.id, k.source, k.record, k.day, k.died)
    with store.reading() as conn:
        if where is None:
            pending: dict[str, list[str]] = {s: [] for s in CHECKED_SOURCES}
            for v in versions:
                pending[v.source].extend(conn.execute(select(check_keys.c.record)
                                                      .where(check_keys.c.delivery_id == v.id)
                                                      .order_by(check_keys.c.id)).scalars().all())
                if len(pending[v.source]) >= READ_CHUNK:
                    tables[v.source].append(checkkeys.parse(v.source, pending[v.source]))
                    pending[v.source] = []
            for source, texts in pending.items():
                if texts:
                    tables[source].append(checkkeys.parse(source, texts))
        else:
            order = {v.id: i for i, v in enumerate(versions)}
            rows: dict[str, dict[int, tuple]] = {s: {} for s in CHECKED_SOURCES}
            for cond in where:
                wanted = None
                if isinstance(cond, _Pairs):  # (birth day, day of death) pairs: by day, then exactly
                    wanted = cond.pairs
                    cond = (k.source == "KBD", k.day.in_(sorted({p[0] for p in cond.pairs})),
                            k.died.in_(sorted({p[1] for p in cond.pairs})))
                for delivery_id, key_id, source, record, day, died in conn.execute(query.where(*cond)).fetchall():
                    if delivery_id in order and (wanted is None or (day, died) in wanted):
                        rows[source][key_id] = (order[delivery_id], key_id, record)
            for source, got in rows.items():
                tables[source].append(checkkeys.parse(source, [r[2] for r in sorted(got.values())]))
    return {source: checkkeys.to_frame(source, parts) for source, parts in tables.items()}


def _swap_days(days: set[int]) -> set[int]:
    from validators.crosscheck import _swapped_int

    return {d for d in days if d >= 0} | {s for s in (_swapped_int(d) for d in days) if s >= 0}


def _read_part(store: Store, versions, question: set[str], old: _Days):
    """What an incremental check reads, so that every record it reads has all the records it
    is compared with beside it, and its findings come out as a check of everything would
    give them:

    * every record of the deliveries in question;
    * the births on every birth day one of those records, or a record of a version they
      replace, was on (or on it with day and month swapped): the births a death or census
      child may be, and the births a birth may be registered twice as;
    * the deaths and census children on the birth days of births in question (or of births
      that left), and the children a new book of births may have missed (born in its parish
      during its years): what may be one of those births, or missing from the book;
    * the deaths with the birth day and the day of death of a death in question: the same
      death registered twice.

    The whole store's book figures come with it (``validators.crosscheck.Context``)."""
    from validators.crosscheck import Context

    asked = [v.id for v in versions if v.entry_number in question]
    current = {v.id for v in versions}
    with store.reading() as conn:
        new = _days_of(conn, asked) | old
        birth_days = set(new.kbf)
        sets = [s for s in conn.execute(select(check_key_sets)) if s.delivery_id in current]
        for s in sets:
            if s.source == "KBF" and s.entry_number in question and s.parish and s.from_year is not None:
                birth_days |= {d for (d,) in conn.execute(
                    select(check_keys.c.day).where(check_keys.c.source.in_(("KBD", "FT")),
                                                   check_keys.c.parish == s.parish,
                                                   check_keys.c.day.between(s.from_year * 10000,
                                                                            s.to_year * 10000 + 1231)).distinct())}
        twice = frozenset(
            (source, entry, (other or {}).get("entry_number"))
            for source, entry, other in conn.execute(select(findings.c.source, findings.c.entry_number,
                                                            findings.c.other)
                                                     .where(findings.c.code == "BOOK_DELIVERED_TWICE"))
            if entry not in question and (other or {}).get("entry_number") not in question)
    births = sorted(_swap_days(birth_days))
    every = sorted(_swap_days(birth_days | new.kbd | new.ft))
    pairs = sorted(new.deaths)
    k = check_keys.c
    where = [(k.delivery_id.in_(asked[i:i + 500]),) for i in range(0, len(asked), 500)]
    where += [(k.source == "KBF", k.day.in_(every[i:i + 500])) for i in range(0, len(every), 500)]
    where += [(k.source == source, k.day.in_(births[i:i + 500]))
              for source in ("KBD", "FT") for i in range(0, len(births), 500)]
    where += [_Pairs(set(pairs[i:i + 400])) for i in range(0, len(pairs), 400)]
    frames = _read_frames(store, versions, where)
    records: set[tuple[str, str]] = set()
    for source, frame in frames.items():
        loebe = "BARN_LOEBE_NR" if source == "FT" else "LOEBE_NR"
        if len(frame):
            records |= {(str(e), str(n)) for e, n in zip(frame["INDTASTNINGSNUMMER"], frame[loebe]) if pd.notna(n)}
    spans = pd.DataFrame([(s.entry_number, s.from_year, s.to_year, s.parish) for s in sets
                          if s.source == "KBF" and s.parish and s.from_year is not None],
                         columns=["book", "from_year", "to_year", "parish"]).astype(
        {"from_year": "int64", "to_year": "int64"})
    ctx = Context(spans=spans, death_parishes={s.entry_number: s.parish for s in sets if s.source == "KBD" and s.parish},
                  sizes={(s.source, s.entry_number): s.counted for s in sets}, twice=twice)
    return frames, records, ctx, every


def _findings(frames: dict[str, pd.DataFrame], ctx) -> list[dict]:
    from validators.crosscheck import crosscheck

    kbf, kbd, ft = frames.get("KBF"), frames.get("KBD"), frames.get("FT")
    if kbf is None or kbf.empty:
        return []
    kbd = kbd if kbd is not None and len(kbd) else None
    ft = ft if ft is not None and len(ft) else None
    if kbd is None and ft is None:
        return []
    return list(crosscheck(kbf, kbd, ft_children=ft, context=ctx).findings)


def _in_scope(key: str, scope: tuple[set[str], set[tuple[str, str]]]) -> bool:
    """Whether a kept finding (by its cross key: code|entry|running number|other source|other
    entry|other running number) is one an incremental check decides again: one on a
    delivery in question, or one whose records were all read (a record read has every record
    it is compared with beside it)."""
    question, records = scope
    parts = key.split("|")
    if len(parts) != 6:
        return True
    _, entry, loebe, _, other_entry, other_loebe = parts
    if entry in question or other_entry in question:
        return True
    if not loebe:  # on a book (a birth never keyed): decided again when the other record was read
        return (other_entry, other_loebe) in records
    return (entry, loebe) in records and (other_entry, other_loebe) in records


def _keep(store: Store, run_id: int, found: list[dict], actor: str, *, drop_sets: list[int] = (),
          scope: tuple[set[str], set[tuple[str, str]]] | None = None) -> CrossRun:
    """Replace the cross-source findings with ``found`` in one transaction, keeping the id of
    every finding that is still raised; with ``scope`` (an incremental check) only the
    findings in its scope are replaced. The keys of versions no longer current go in the
    same transaction."""
    from ingest.store.checkkeys import drop_sets as drop_keys

    run = CrossRun(run_id)
    with store.transaction() as conn:
        drop_keys(conn, list(drop_sets))
        current = dict(conn.execute(select(deliveries.c.entry_number, deliveries.c.id)
                                    .where(deliveries.c.status == STATUS_CURRENT)).all())
        wanted: dict[str, dict] = {}
        for f in found:
            delivery_id = current.get(f.get("entry_number"))
            if delivery_id is None:  # on no current delivery: nothing to show it on
                continue
            wanted.setdefault(cross_key(f), {**f, "delivery_id": delivery_id})
        old = {key: fid for fid, key in conn.execute(select(findings.c.id, findings.c.cross_key)
                                                     .where(findings.c.code.in_(CROSS_CODES)))
               if scope is None or key is None or _in_scope(key, scope)}
        gone = [fid for key, fid in old.items() if key not in wanted]
        for i in range(0, len(gone), 500):
            conn.execute(delete(findings).where(findings.c.id.in_(gone[i:i + 500])))
        run.removed = len(gone)
        rows = []
        for key, f in wanted.items():
            values = dict(delivery_id=f["delivery_id"], run_id=run_id, code=f["code"], severity=f["severity"],
                          source=f.get("source"), entry_number=f.get("entry_number"), file=f.get("file"),
                          line=f.get("line"), loebe_nr=f.get("loebe_nr"), field=f.get("field"), page=f.get("page"),
                          message=f["message"], suggestion=f.get("suggestion"), auto_fix=bool(f.get("auto_fix")),
                          other=f.get("other"), score=f.get("score"), rule_version=f.get("rule_version"),
                          cross_key=key)
            if key in old:
                conn.execute(update(findings).where(findings.c.id == old[key]).values(**values))
                run.kept += 1
            else:
                rows.append(values)
        if rows:
            conn.execute(insert(findings), rows)
        run.added = len(rows)
        for code, n in conn.execute(select(findings.c.code, func.count()).where(findings.c.code.in_(CROSS_CODES))
                                    .group_by(findings.c.code)):
            run.counts[code] = n
        audit(conn, "crosscheck", actor=actor, run_id=run_id, added=run.added, kept=run.kept, removed=run.removed,
              **{code.lower(): n for code, n in sorted(run.counts.items())})
    return run


def touches_checked_sources(outcomes) -> bool:
    """Whether an import stored anything the check reads (a new delivery or version)."""
    from ingest.store.importer import IMPORTED, NEW_VERSION

    return any(o.status in (IMPORTED, NEW_VERSION) and getattr(o, "source", None) in CHECKED_SOURCES
               for o in outcomes)


def after_import(store: Store, imported, options: dict | None = None) -> CrossRun | None:
    """The check after an import (``import_paths``, an inbox pass, a book approved on the
    web): when it stored a new delivery or version of a source the check reads, and there
    are births and deaths to check (or findings of an earlier check to bring up to date).
    A failing check never undoes the import: it is logged by its error class and the next
    import or ``mgr-ingest crosscheck`` repeats it."""
    from ingest.store.importer import IMPORTED, NEW_VERSION

    if (options or {}).get("crosscheck") is False:
        return None
    ids = [o.delivery_id for o in imported.outcomes if o.status in (IMPORTED, NEW_VERSION) and o.delivery_id]
    if not ids:
        return None
    with store.reading() as conn:
        touched = {s for (s,) in conn.execute(select(deliveries.c.source).where(deliveries.c.id.in_(ids)).distinct())}
        earlier = conn.execute(select(findings.c.id).where(findings.c.code.in_(CROSS_CODES)).limit(1)).first()
    if not touched & set(CHECKED_SOURCES):
        return None
    present = _current_sources(store)
    if not _checkable(present) and earlier is None:
        return None
    try:
        return crosscheck_store(store, options=options, touched=ids)
    except Exception as exc:  # noqa: BLE001 - the import stands; the check is repeated later
        log.warning("crosscheck after import failed (%s); the next import or `mgr-ingest crosscheck` repeats it",
                    type(exc).__name__)
        return None


def reviewer_decisions(conn) -> dict[str, str]:
    """The reviewers' "one person or two" on cross-source findings (cross key -> decision),
    from the web application's decisions when it shares this database; the newest counts."""
    from sqlalchemy import Column, DateTime, MetaData, String, Table, inspect
    from sqlalchemy.types import BigInteger

    if not inspect(conn).has_table("web_decisions"):
        return {}
    web = Table("web_decisions", MetaData(), Column("id", BigInteger), Column("finding_id", BigInteger),
                Column("decision", String(16)), Column("made_at", DateTime(timezone=True)))
    out: dict[str, str] = {}
    for key, said in conn.execute(select(findings.c.cross_key, web.c.decision)
                                  .join(web, web.c.finding_id == findings.c.id)
                                  .where(findings.c.cross_key.is_not(None),
                                         web.c.decision.in_(("same_person", "two_persons")))
                                  .order_by(web.c.id)):
        out[key] = said
    return out


# "same birth as line 12 (LOEBE_NR 11)": the earlier record a duplicate inside one delivery
# is compared with (validators.set_rules, validators.ft_rules)
_DUPLICATE_OF = re.compile(r"\(LOEBE_NR (\d+)\)")


def confirmed_copies(conn, entry_numbers: list[str] | None = None) -> dict[tuple[str, int], int]:
    """The records a reviewer confirmed as keyed twice inside one delivery (a
    ``DUPLICATE_RECORD`` finding decided as one person): (entry number, running number of
    the copy) -> running number of the record it copies. Keyed by running numbers, so the
    decision holds for every later version that still has both records; the newest decision
    on a pair counts (decided again as two persons, the record is no copy)."""
    from sqlalchemy import Column, MetaData, String, Table, inspect
    from sqlalchemy.types import BigInteger

    if not inspect(conn).has_table("web_decisions"):
        return {}
    web = Table("web_decisions", MetaData(), Column("id", BigInteger), Column("finding_id", BigInteger),
                Column("decision", String(16)))
    query = (select(findings.c.entry_number, findings.c.loebe_nr, findings.c.message, web.c.decision)
             .join(web, web.c.finding_id == findings.c.id)
             .where(findings.c.code == "DUPLICATE_RECORD", findings.c.loebe_nr.is_not(None),
                    web.c.decision.in_(("same_person", "two_persons")))
             .order_by(web.c.id))
    if entry_numbers is not None:
        query = query.where(findings.c.entry_number.in_(entry_numbers))
    said: dict[tuple[str, int, int], str] = {}
    for entry, loebe, message, decision in conn.execute(query):
        m = _DUPLICATE_OF.search(message or "")
        if m:
            said[(entry, int(loebe), int(m.group(1)))] = decision
    return {(entry, loebe): original for (entry, loebe, original), decision in said.items()
            if decision == "same_person"}
