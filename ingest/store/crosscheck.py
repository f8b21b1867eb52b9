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
import tempfile
from dataclasses import dataclass, field

from sqlalchemy import delete, func, insert, select, update

from ingest.pipeline import CROSS_CODES
from ingest.store.audit import audit
from ingest.store.database import Store
from ingest.store.importer import finish_run, start_run
from ingest.store.models import STATUS_CURRENT, deliveries, findings
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

    def summary(self) -> dict:
        return {"findings": self.counts, "added": self.added, "kept": self.kept, "removed": self.removed,
                "skipped": self.skipped}


def _current_sources(store: Store) -> dict[str, int]:
    with store.reading() as conn:
        return {src: n for src, n in conn.execute(
            select(deliveries.c.source, func.count()).where(deliveries.c.status == STATUS_CURRENT)
            .group_by(deliveries.c.source))}


def _checkable(present: dict[str, int]) -> bool:
    """Births, and deaths or a census to check them against."""
    return bool(present.get("KBF")) and bool(present.get("KBD") or present.get("FT"))


def crosscheck_store(store: Store, *, options: dict | None = None, actor: str = "mgr-ingest") -> CrossRun:
    """Check the store's current deliveries against each other and keep the findings."""
    from ingest.store.clean import write_rebuilt

    present = _current_sources(store)
    run_id = start_run(store, "crosscheck", [])
    result = None
    try:
        if _checkable(present):
            with tempfile.TemporaryDirectory(prefix="mgr-crosscheck-") as tmp:
                # the clean tables as `tables` writes them (today's rules, corrections laid
                # over), only what the check reads
                files = write_rebuilt(store, tmp, [s for s in CHECKED_SOURCES if present.get(s)],
                                      options=options)
                result = files.cross
        found = list(result.findings) if result is not None else []
        run = _keep(store, run_id, found, actor)
        if result is None:
            run.skipped = "the check needs births (KBF) and deaths (KBD) or a census (FT) in the store"
    except BaseException as exc:
        try:
            finish_run(store, run_id, "failed", None, type(exc).__name__)
        except Exception:  # noqa: BLE001 - the first error is the one to report
            log.debug("could not record the end of crosscheck run %s", run_id, exc_info=True)
        raise
    finish_run(store, run_id, "finished", run.summary())
    log.info("crosscheck: %d findings open (%d new, %d kept, %d removed)", sum(run.counts.values()), run.added,
             run.kept, run.removed)
    return run


def _keep(store: Store, run_id: int, found: list[dict], actor: str) -> CrossRun:
    """Replace the cross-source findings with ``found`` in one transaction, keeping the id of
    every finding that is still raised."""
    run = CrossRun(run_id)
    with store.transaction() as conn:
        current = dict(conn.execute(select(deliveries.c.entry_number, deliveries.c.id)
                                    .where(deliveries.c.status == STATUS_CURRENT)).all())
        wanted: dict[str, dict] = {}
        for f in found:
            delivery_id = current.get(f.get("entry_number"))
            if delivery_id is None:  # on no current delivery: nothing to show it on
                continue
            wanted.setdefault(cross_key(f), {**f, "delivery_id": delivery_id})
        old = {key: fid for fid, key in conn.execute(select(findings.c.id, findings.c.cross_key)
                                                     .where(findings.c.code.in_(CROSS_CODES)))}
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
        for f in wanted.values():
            run.counts[f["code"]] = run.counts.get(f["code"], 0) + 1
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
        return crosscheck_store(store, options=options)
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
