"""Autocomplete for names and places: spellings already keyed, and standard forms.

What is offered for a field:

* spellings of that kind of field (first names, surnames, places) already keyed, most
  frequent first, matching what has been typed so far (case-insensitive prefix). Reviewers
  and admins are offered the whole store (imported rows and every keyed record); a
  transcriber only the records of the books they may open, so no name or place keyed
  in another book can be listed by trying prefixes;
* for places, the parish register's names and variants; for names, the name database's
  spellings (both open to everyone);
* beside it, for a name, its standard spelling (grundnavn) from the name database, shown as
  information.

Nothing here changes a keyed value: the browser shows the list and the person picks or not.
The lists are read once per database and field kind and kept for ``SUGGEST_CACHE_SECONDS``;
reading them means a pass over every stored row (seconds on a national store), so the
application reads them in the background when it starts, and an expired list is still
served while a background thread reads the new one: no keystroke waits for that pass except
the very first, before the warm-up has finished.
"""

from __future__ import annotations

import bisect
import heapq
import logging
import threading
import time
from collections import Counter

from sqlalchemy import func, select

from ingest.store.models import STATUS_CURRENT, deliveries, raw_rows
from webentry.layout import form_fields
from webentry.models import Record

MAX_RESULTS = 8
_LOCK = threading.Lock()
_CACHE: dict[str, tuple[float, list[tuple[str, str, int]]]] = {}


def fields_of_kind(kind: str) -> set[str]:
    out = set()
    for source in ("KBF", "KBD", "FT"):
        out |= {f.name for f in form_fields(source) if f.suggest == kind}
    return out


def _keyed_counts(session, kind: str, book_ids: list[int] | None) -> Counter[str]:
    """Spellings keyed in the store: every current delivery and every web record, or, with
    ``book_ids``, only the web records of those books."""
    counts: Counter[str] = Counter()
    columns = sorted(fields_of_kind(kind))
    current = select(deliveries.c.id).where(deliveries.c.status == STATUS_CURRENT).scalar_subquery()
    for name in columns:
        if book_ids is None:
            value = raw_rows.c.fields[name].as_string()
            q = (select(value, func.count()).where(raw_rows.c.delivery_id.in_(current), value.is_not(None))
                 .group_by(value))
            for v, n in session.execute(q):
                if v and v.strip() and v.strip() not in ("-", "--", "?"):
                    counts[v.strip()] += n
        rv = Record.fields[name].as_string()
        q = select(rv, func.count()).where(rv.is_not(None))
        if book_ids is not None:
            if not book_ids:
                continue
            q = q.where(Record.book_id.in_(book_ids))
        for v, n in session.execute(q.group_by(rv)):
            if v and v.strip() and v.strip() not in ("-", "--", "?"):
                counts[v.strip()] += n
    return counts


def _reference_counts(kind: str) -> Counter[str]:
    """Spellings every user may see: the parish register's names for places, the name
    database's spellings for names (listed after what was keyed: count 0)."""
    counts: Counter[str] = Counter()
    try:
        if kind == "place":
            from validators.places import load_parish_register

            for p in load_parish_register().parishes.values():
                for text in (p.name, *p.variants):
                    if text:
                        counts[text] += 0
        else:
            from validators.names.database import load_name_database

            entries = load_name_database().entries
            wanted = entries[entries["kind"] == kind] if "kind" in entries else entries
            for col in ("variant", "grundnavn"):
                for text in wanted[col].dropna().astype(str):
                    if text.strip():
                        counts[text.strip().title()] += 0
    except Exception:  # reference data that cannot be read only means fewer offers
        pass
    return counts


def _sorted(counts: Counter[str]) -> list[tuple[str, str, int]]:
    # Sorted by folded spelling, so that a prefix is a range found by bisection.
    return sorted(((v.casefold(), v, n) for v, n in counts.items()), key=lambda t: (t[0], -t[2]))


def _known_values(session, kind: str) -> list[tuple[str, str, int]]:
    """(folded, value, count) of every spelling of this kind in the whole store."""
    counts = _keyed_counts(session, kind, None)
    for text in _reference_counts(kind):
        counts[text] += 0
    return _sorted(counts)


KINDS = ("fornavn", "efternavn", "place")
_REFRESHING: set[tuple[str, str]] = set()
log = logging.getLogger(__name__)


def _key(session, kind: str) -> tuple[str, str]:
    return (session.get_bind().url.render_as_string(hide_password=True), kind)


def _read_into_cache(factory, key: tuple[str, str]) -> None:
    try:
        with factory() as session:
            values = _known_values(session, key[1])
        with _LOCK:
            _CACHE[key] = (time.monotonic(), values)
    except Exception as exc:  # the old list (if any) stays; the next lookup tries again
        log.warning("autocomplete list %s could not be read: %s", key[1], type(exc).__name__)
    finally:
        with _LOCK:
            _REFRESHING.discard(key)


def _refresh_in_background(factory, key: tuple[str, str]) -> None:
    with _LOCK:
        if key in _REFRESHING:
            return
        _REFRESHING.add(key)
    threading.Thread(target=_read_into_cache, args=(factory, key), name="mgr-suggest", daemon=True).start()


def known_values(session, kind: str, ttl: float, factory=None) -> list[tuple[str, str, int]]:
    """The spellings of this kind, from the cache while fresh; an expired list is served as
    it is while ``factory`` (a session maker) reads the new one in the background."""
    key = _key(session, kind)
    now = time.monotonic()
    with _LOCK:
        hit = _CACHE.get(key)
    if hit and now - hit[0] < ttl:
        return hit[1]
    if hit and factory is not None:
        _refresh_in_background(factory, key)
        return hit[1]
    values = _known_values(session, kind)
    with _LOCK:
        _CACHE[key] = (now, values)
    return values


def warm_up(factory) -> None:
    """Read every kind's list in the background (at application start)."""
    with factory() as session:
        keys = [_key(session, kind) for kind in KINDS]
    for key in keys:
        _refresh_in_background(factory, key)


def forget() -> None:
    with _LOCK:
        _CACHE.clear()


def standard_name(value: str, kind: str, sex: str | None = None) -> str | None:
    """The name database's standard spelling of a keyed name, when it differs."""
    if kind not in ("fornavn", "efternavn") or not value.strip():
        return None
    try:
        from validators.names.database import load_name_database

        db = load_name_database()
        std = db.standardise(value, kind, sex if sex in ("M", "K") else None)
    except Exception:
        return None
    if not std:
        return None
    return std if std.casefold() != value.strip().casefold() else None


def _scoped_values(session, kind: str, book_ids: list[int]) -> list[tuple[str, str, int]]:
    """What a transcriber may be offered: their own books' records and the reference lists."""
    counts = _keyed_counts(session, kind, book_ids)
    with _LOCK:
        ref = _REFERENCE.get(kind)
    if ref is None:
        ref = _reference_counts(kind)
        with _LOCK:
            _REFERENCE[kind] = ref
    for text in ref:
        counts[text] += 0
    return _sorted(counts)


_REFERENCE: dict[str, Counter[str]] = {}


def suggest(session, field: str, typed: str, *, ttl: float, sex: str | None = None, factory=None,
            book_ids: list[int] | None = None) -> dict:
    """Spellings starting with ``typed``. ``book_ids`` limits what was keyed to those books'
    records (a transcriber's own books); None offers the whole store (reviewers, admins)."""
    kinds = [k for k in ("fornavn", "efternavn", "place") if field in fields_of_kind(k)]
    if not kinds:
        return {"values": [], "standard": None}
    kind = kinds[0]
    folded = (typed or "").strip().casefold()
    values = []
    if folded:
        known = (known_values(session, kind, ttl, factory) if book_ids is None
                 else _scoped_values(session, kind, book_ids))
        lo = bisect.bisect_left(known, (folded,))
        hi = bisect.bisect_left(known, (folded + "\U0010ffff",))
        best = heapq.nsmallest(MAX_RESULTS, (t for t in known[lo:hi] if t[0] != folded), key=lambda t: (-t[2], t[0]))
        values = [{"value": v, "count": n} for _f, v, n in best]
    return {"values": values, "standard": standard_name(typed or "", kind, sex)}
