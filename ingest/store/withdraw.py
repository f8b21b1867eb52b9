"""Taking a delivery back: ``mgr-ingest withdraw ENTRY --why TEXT``.

An archivist withdraws the current version of an entry number when it should never have
been used (delivered under the wrong entry number, the wrong book scanned, a test export).
Nothing is deleted: the version's rows, files and findings stay in the store, its status
becomes ``withdrawn`` with the reason, and it leaves the clean tables, the QA queue and the
cross-source check. The check runs at once on the days its records touched, so the findings
it was part of go with it and the records it was paired with are decided again (a birth
that was a copy of one of its records is the original again). A new export of the entry
number later becomes its next version; the same bytes again stay withdrawn (the store keeps
one copy of any bytes).

The reason is kept in the store (``deliveries.reason``), never in the logs: it is free text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select, update

from ingest.store.audit import audit
from ingest.store.database import Store
from ingest.store.models import STATUS_CURRENT, STATUS_WITHDRAWN, deliveries

log = logging.getLogger("mgr_ingest.store.withdraw")


class NothingToWithdraw(ValueError):
    """No current version of that entry number; the message says so."""


@dataclass
class Withdrawn:
    entry_number: str
    delivery_id: int
    version: int | None
    source: str | None
    cross: object | None = None  # the cross-source check that followed (ingest.store.crosscheck.CrossRun)


def withdraw(store: Store, entry_number: str, *, why: str, actor: str = "mgr-ingest",
             crosscheck: bool = True) -> Withdrawn:
    """Withdraw the current version of ``entry_number`` (one transaction), then check the
    sources against each other on the days its records were on."""
    from ingest.store.crosscheck import CHECKED_SOURCES, crosscheck_store

    why = (why or "").strip()
    if not why:
        raise NothingToWithdraw("say why the delivery is withdrawn (--why)")
    with store.transaction() as conn:
        row = conn.execute(select(deliveries.c.id, deliveries.c.version, deliveries.c.source)
                           .where(deliveries.c.entry_number == entry_number,
                                  deliveries.c.status == STATUS_CURRENT)).first()
        if row is None:
            raise NothingToWithdraw(f"{entry_number}: no current delivery of this entry number in the store")
        conn.execute(update(deliveries).where(deliveries.c.id == row.id)
                     .values(status=STATUS_WITHDRAWN, reason=f"withdrawn: {why}"))
        audit(conn, "delivery_withdrawn", actor=actor, entry_number=entry_number, delivery_id=row.id,
              version=row.version)
    log.info("delivery %s version %s withdrawn", entry_number, row.version)
    done = Withdrawn(entry_number, row.id, row.version, row.source)
    if crosscheck and row.source in CHECKED_SOURCES:
        done.cross = crosscheck_store(store, touched=[row.id], actor=actor)
    return done
