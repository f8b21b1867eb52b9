"""The keying figures: time per record and the share of values the screen offered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from web_support import Api, add_book, client_as, kbf_fields

pytest_plugins = ["web_support"]  # the web fixture: an application with users and a book


def test_time_per_record_and_accepted_values(web):
    from webentry.keying import keying_figures
    from webentry.models import Record, RecordVersion

    book = web.config["BOOK_ID"]
    other = add_book(web, entry="K2698", assign=("tr2",))
    api = Api(client_as(web, "tr1"))
    saves = [
        (kbf_fields(1), {}),
        (kbf_fields(2), {"KILDE_SIDE": {"how": "accepted", "from": "carried"},
                         "FORNAVN": {"how": "accepted", "from": "autocomplete", "suggested": "Niels"}}),
        (kbf_fields(3), {"KILDE_LOEBE_NR": {"how": "accepted", "from": "proposed"},
                         "FOEDSELSDATO": {"how": "corrected", "from": "ocr"}}),
    ]
    for fields, provenance in saves:
        assert api.post(f"/api/books/{book}/records", {"fields": fields, "provenance": provenance}).status_code == 201
    tr2 = Api(client_as(web, "tr2"))
    assert tr2.post(f"/api/books/{other}/records", {"fields": kbf_fields(1, INDTASTNINGSNUMMER="K2698")}).status_code == 201
    # The saves happened at known moments: 40 s between the first two, then a 15-minute break.
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with web.extensions["mgr_sessions"]() as s:
        ids = {r.loebe_nr: r.id for r in s.scalars(select(Record).where(Record.book_id == book))}
        for n, at in ((1, t0), (2, t0 + timedelta(seconds=40)), (3, t0 + timedelta(minutes=15, seconds=40))):
            s.execute(update(RecordVersion).where(RecordVersion.record_id == ids[n]).values(saved_at=at))
        s.commit()
        people, books, total = keying_figures(s)
    tr1 = people["tr1"]
    assert (tr1.records, tr1.gaps, tr1.median_seconds) == (3, [40.0], 40.0)  # the break is not keying
    assert tr1.accepted == {"carried": 1, "autocomplete": 1, "proposed": 1}
    assert tr1.corrected == 1
    n_values = sum(len(f) for f, _p in saves)
    assert tr1.values == n_values and tr1.typed == n_values - 4
    assert round(tr1.accepted_share, 4) == round(3 / n_values, 4)
    assert people["tr2"].records == 1 and people["tr2"].gaps == []
    assert total.records == 4 and books[book].records == 3

    page = client_as(web, "rev1").get("/keying")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "tr1" in html and "K2698" in html
    assert "Niels" not in html and "Hansen" not in html  # figures only, no keyed value
    assert client_as(web, "tr1").get("/keying").status_code == 403
