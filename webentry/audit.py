"""Every write of the web application goes to the store's audit log: who, what, old, new, when.

The audit log is shared with the importer and is meant to hold keys, never person data.
So a record's values are not written into it: the entry names the record (book entry
number, LOEBE_NR), the fields that changed and the record versions before and after;
``web_record_versions`` holds the values of each version (see ``webentry.records``).
Settings of users and books are not person data of the register and are written in full.
"""

from __future__ import annotations

from ingest.store.audit import audit


def write(session, action: str, *, actor: str, target: str | None = None, old=None, new=None,
          entry_number: str | None = None, **detail) -> None:
    """Append one audit entry inside the session's transaction (committed with it)."""
    extra = dict(detail)
    if target is not None:
        extra["target"] = target
    if old is not None:
        extra["old"] = old
    if new is not None:
        extra["new"] = new
    extra["via"] = "web"
    audit(session.connection(), action, actor=actor, entry_number=entry_number, **extra)
