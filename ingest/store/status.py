"""The imports overview: every delivery version with its status and counts of findings."""

from __future__ import annotations

from sqlalchemy import func, select

from ingest.store.audit import as_utc
from ingest.store.database import Store
from ingest.store.models import STATUSES, deliveries, delivery_files, findings

SEVERITIES = ("error", "warning", "info")


def overview(store: Store) -> list[dict]:
    """One dict per stored delivery version, newest entry numbers last: entry number,
    version, sha256 (of the delivery: its files' roles and hashes), status, rows stored,
    findings by severity, and its files."""
    with store.reading() as conn:
        counts: dict[int, dict[str, int]] = {}
        for delivery_id, severity, n in conn.execute(
                select(findings.c.delivery_id, findings.c.severity, func.count())
                .group_by(findings.c.delivery_id, findings.c.severity)):
            if delivery_id is not None:
                counts.setdefault(delivery_id, {})[severity] = n
        files: dict[int, list[dict]] = {}
        for f in conn.execute(select(delivery_files).order_by(delivery_files.c.id)):
            files.setdefault(f.delivery_id, []).append(
                {"name": f.name, "role": f.role, "sha256": f.sha256, "size": f.size, "encoding": f.encoding,
                 "archive_path": f.archive_path})
        out = []
        for d in conn.execute(select(deliveries).order_by(deliveries.c.entry_number, deliveries.c.id)):
            found = counts.get(d.id, {})
            out.append({
                "entry_number": d.entry_number,
                "version": d.version,
                "sha256": d.content_sha256,
                "status": d.status,
                "source": d.source,
                "rows_stored": d.rows_stored,
                "findings": {s: int(found.get(s, 0)) for s in SEVERITIES},
                "imported_at": as_utc(d.imported_at).isoformat(timespec="seconds"),
                "run": d.run_id,
                "reason": d.reason,
                "files": files.get(d.id, []),
            })
    return out


def by_status(rows: list[dict]) -> dict[str, dict]:
    """Totals per status: deliveries, rows stored and findings by severity."""
    totals = {s: {"deliveries": 0, "rows_stored": 0, **dict.fromkeys(SEVERITIES, 0)} for s in STATUSES}
    for r in rows:
        t = totals.setdefault(r["status"], {"deliveries": 0, "rows_stored": 0, **dict.fromkeys(SEVERITIES, 0)})
        t["deliveries"] += 1
        t["rows_stored"] += r["rows_stored"]
        for s in SEVERITIES:
            t[s] += r["findings"][s]
    return totals


def format_overview(rows: list[dict]) -> str:
    """The overview as text for a terminal: totals by status, then each delivery."""
    totals = by_status(rows)
    lines = [f"{'status':<12}{'deliveries':>11}{'rows':>12}{'errors':>9}{'warnings':>10}{'notes':>8}"]
    for status, t in totals.items():
        lines.append(f"{status:<12}{t['deliveries']:>11,}{t['rows_stored']:>12,}{t['error']:>9,}"
                     f"{t['warning']:>10,}{t['info']:>8,}")
    if rows:
        lines += ["", f"{'entry':<10}{'version':>8}  {'status':<11}{'rows':>9}{'errors':>8}{'warnings':>10}"
                      f"{'notes':>7}  imported"]
        order = {s: i for i, s in enumerate(STATUSES)}
        for r in sorted(rows, key=lambda r: (order.get(r["status"], 9), r["entry_number"], r["version"] or 0)):
            f = r["findings"]
            version = "-" if r["version"] is None else str(r["version"])
            lines.append(f"{r['entry_number']:<10}{version:>8}  {r['status']:<11}{r['rows_stored']:>9,}"
                         f"{f['error']:>8,}{f['warning']:>10,}{f['info']:>7,}  {r['imported_at']}")
    else:
        lines += ["", "no deliveries imported yet"]
    return "\n".join(lines)


def cross_source(store: Store) -> dict:
    """The cross-source check's findings on current deliveries, by code: all of them, and
    those still open (no reviewer's decision in the web application's table, when the web
    application shares this database)."""
    from sqlalchemy import Column, MetaData, Table, inspect
    from sqlalchemy.types import BigInteger

    from ingest.store.crosscheck import CROSS_CODES
    from ingest.store.models import STATUS_CURRENT

    with store.reading() as conn:
        on_current = (select(findings.c.id, findings.c.code).join(deliveries, deliveries.c.id == findings.c.delivery_id)
                      .where(deliveries.c.status == STATUS_CURRENT, findings.c.code.in_(CROSS_CODES))).subquery()
        every = dict(conn.execute(select(on_current.c.code, func.count()).group_by(on_current.c.code)).all())
        open_ = dict(every)
        if inspect(conn).has_table("web_decisions"):
            decisions = Table("web_decisions", MetaData(), Column("finding_id", BigInteger))
            q = on_current
            decided = dict(conn.execute(select(q.c.code, func.count(func.distinct(q.c.id)))
                                        .join(decisions, decisions.c.finding_id == q.c.id).group_by(q.c.code)).all())
            open_ = {c: n - decided.get(c, 0) for c, n in every.items()}
    return {"open": sum(open_.values()), "open_by_code": {c: n for c, n in sorted(open_.items()) if n},
            "all_by_code": dict(sorted(every.items()))}
