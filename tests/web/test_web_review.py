"""The review of a keyed book: the transcriber marks it ready, a reviewer approves it into
the store (its findings join the QA queue), a change after approval reopens it, and a
reviewer can send it back with a note."""

from __future__ import annotations

from sqlalchemy import select
from web_support import Api, client_as, csrf_of, kbf_fields

pytest_plugins = ["web_support"]  # the web fixture: an application with users and a book


def _key_three(api, book):
    for n in (1, 2):
        assert api.post(f"/api/books/{book}/records", {"fields": kbf_fields(n)}).status_code == 201
    kept = api.post(f"/api/books/{book}/records", {"fields": kbf_fields(3, FOEDSELSDATO="19210231"),
                                                   "notes": {"FOEDSELSDATO": "står sådan i bogen"}})
    assert kept.status_code == 201


def _status(web, book):
    from webentry.models import Book

    with web.extensions["mgr_sessions"]() as s:
        b = s.get(Book, book)
        return b.status, b.delivery_id, b.status_note


def _current(web, entry="K2697"):
    from ingest.store.models import STATUS_CURRENT, deliveries, findings

    with web.extensions["mgr_store"].reading() as conn:
        d = conn.execute(select(deliveries).where(deliveries.c.entry_number == entry,
                                                  deliveries.c.status == STATUS_CURRENT)).first()
        codes = [] if d is None else list(conn.execute(select(findings.c.code, findings.c.loebe_nr)
                                                       .where(findings.c.delivery_id == d.id)))
    return d, codes


def _post(client, path, **form):
    return client.post(path, data={"csrf_token": csrf_of(client), **form})


def test_a_book_goes_from_keying_to_the_store_and_back(web):
    book = web.config["BOOK_ID"]
    tr1 = client_as(web, "tr1")
    api = Api(tr1)
    rev = client_as(web, "rev1")
    ready_form = f'action="/books/{book}/ready"'  # the "Mark ready for review" button
    assert ready_form not in tr1.get(f"/books/{book}").get_data(as_text=True)  # nothing keyed yet
    _key_three(api, book)
    assert ready_form in tr1.get(f"/books/{book}").get_data(as_text=True)

    assert _post(tr1, f"/books/{book}/approve").status_code == 403  # a transcriber cannot approve
    assert _post(tr1, f"/books/{book}/ready").status_code == 302
    assert _status(web, book)[0] == "ready"
    assert '<td class="status-ready">klar til gennemsyn</td>' in rev.get("/books").get_data(as_text=True)

    r = _post(rev, f"/books/{book}/approve")
    assert r.status_code == 302 and "/qa?book=K2697" in r.headers["Location"]
    delivery, codes = _current(web)
    assert delivery.version == 1 and delivery.rows_stored == 3
    assert ("DATE_INVALID", 3) in [tuple(c) for c in codes]  # the reading kept with a note, for the QA queue
    status, delivery_id, _note = _status(web, book)
    assert (status, delivery_id) == ("approved", delivery.id)
    assert "DATE_INVALID" in rev.get("/qa?book=K2697").get_data(as_text=True)

    # A change after approval: the store no longer holds what was keyed.
    record = api.get(f"/api/books/{book}/records/2").json["record"]
    changed = api.put(f"/api/books/{book}/records/2", {"fields": {**record["fields"], "FORNAVN": "Niels Peter"},
                                                       "version": record["version"]})
    assert changed.status_code == 200
    assert _status(web, book)[0] == "keying"
    assert _post(rev, f"/books/{book}/approve").status_code == 302  # refused: not ready
    assert _current(web)[0].version == 1
    assert _post(tr1, f"/books/{book}/ready").status_code == 302
    assert _post(rev, f"/books/{book}/approve").status_code == 302
    assert _current(web)[0].version == 2  # the change reached the store as the next version

    # Sent back with a note the transcriber sees.
    assert _post(rev, f"/books/{book}/return").status_code == 302  # no note: refused
    assert _status(web, book)[0] == "approved"
    assert _post(rev, f"/books/{book}/return", note="Side 3: tjek datoen").status_code == 302
    assert _status(web, book)[0] == "keying"
    assert "Side 3: tjek datoen" in tr1.get(f"/books/{book}").get_data(as_text=True)

    from ingest.store.models import audit_log

    with web.extensions["mgr_store"].reading() as conn:
        actions = [a for (a,) in conn.execute(select(audit_log.c.action).order_by(audit_log.c.id))]
    steps = [a for a in actions if a.startswith("book_")]
    assert steps == ["book_ready", "book_approved", "book_reopened", "book_ready", "book_approved", "book_returned"]


def test_approval_waits_for_a_running_import(web):
    from ingest.store import WorkLock

    book = web.config["BOOK_ID"]
    tr1 = client_as(web, "tr1")
    _key_three(Api(tr1), book)
    _post(tr1, f"/books/{book}/ready")
    rev = client_as(web, "rev1")
    store = web.extensions["mgr_store"]
    with WorkLock(store.work, store):  # an inbox pass is running
        r = _post(rev, f"/books/{book}/approve")
        assert r.status_code == 302
        page = rev.get(f"/books/{book}").get_data(as_text=True)
    assert "En import kører lige nu" in page
    assert _status(web, book)[0] == "ready"
    assert _current(web)[0] is None  # nothing half-imported
    assert not list(store.work.glob(".review-*"))  # no files left behind
