"""Role boundaries: who may read and write what."""

from __future__ import annotations

import pytest
from web_support import Api, add_book, client_as, kbf_fields

ADMIN_PAGES = ["/admin/users", "/admin/imports", "/admin/audit", "/books/new"]

pytest_plugins = ["web_support"]  # the web fixture: an application with users and a book


@pytest.fixture
def two_books(web):
    other = add_book(web, entry="K2698", assign=("tr2",))
    return web.config["BOOK_ID"], other


def test_transcriber_sees_only_assigned_books(web, two_books):
    mine, theirs = two_books
    c = client_as(web, "tr1")
    html = c.get("/books").get_data(as_text=True)
    assert "K2697" in html and "K2698" not in html
    assert c.get(f"/books/{mine}").status_code == 200
    assert c.get(f"/books/{mine}/entry").status_code == 200
    for path in (f"/books/{theirs}", f"/books/{theirs}/entry", f"/books/{theirs}/entry?r=1"):
        assert c.get(path).status_code == 404, path


def test_transcriber_cannot_use_the_json_api_of_another_transcribers_book(web, two_books):
    mine, theirs = two_books
    other = Api(client_as(web, "tr2"))
    assert other.post(f"/api/books/{theirs}/records", {"fields": kbf_fields(1)}).status_code == 201
    api = Api(client_as(web, "tr1"))
    calls = [
        api.get(f"/api/books/{theirs}/records/1"),
        api.put(f"/api/books/{theirs}/records/1", {"fields": kbf_fields(1), "version": 1}),
        api.post(f"/api/books/{theirs}/records", {"fields": kbf_fields(2)}),
        api.post(f"/api/books/{theirs}/check/field", {"field": "KOEN", "value": "M"}),
        api.post(f"/api/books/{theirs}/check/record", {"fields": kbf_fields(2)}),
        api.get(f"/api/books/{theirs}/draft"),
        api.put(f"/api/books/{theirs}/draft", {"fields": {}}),
        api.get(f"/api/books/{theirs}/section-last"),
        api.get(f"/api/books/{theirs}/pages/1/ocr"),
        api.get(f"/api/suggest?book={theirs}&field=FORNAVN&q=H"),
    ]
    for r in calls:
        assert r.status_code == 404, (r.request.path, r.status_code)
        assert r.is_json
    assert api.get(f"/api/books/{mine}/draft").status_code == 200


def test_transcriber_cannot_open_admin_or_review_pages(web):
    c = client_as(web, "tr1")
    for path in ADMIN_PAGES + ["/qa", f"/books/{web.config['BOOK_ID']}/export"]:
        assert c.get(path).status_code == 403, path
    api = Api(c)
    assert c.post("/admin/users", data={"csrf_token": api.token, "name": "x", "role": "admin",
                                        "password": "long enough pw"}).status_code == 403
    assert c.post(f"/books/{web.config['BOOK_ID']}/pages", data={"csrf_token": api.token}).status_code == 403
    assert c.post(f"/books/{web.config['BOOK_ID']}/assign", data={"csrf_token": api.token, "user_id": "1"}
                  ).status_code == 403
    assert c.post("/qa/1/resolve", data={"csrf_token": api.token, "decision": "book_is_right"}).status_code == 403


def test_reviewer_sees_every_book_and_the_qa_queue_but_no_admin_page(web, two_books):
    c = client_as(web, "rev1")
    html = c.get("/books").get_data(as_text=True)
    assert "K2697" in html and "K2698" in html
    assert c.get("/qa").status_code == 200
    assert c.get(f"/books/{two_books[1]}/entry").status_code == 200
    assert c.get(f"/books/{two_books[1]}/export").status_code == 200
    for path in ADMIN_PAGES:
        assert c.get(path).status_code == 403, path


def test_admin_reaches_everything(web, two_books):
    c = client_as(web, "admin1")
    for path in ADMIN_PAGES + ["/qa", f"/books/{two_books[1]}", f"/books/{two_books[1]}/export"]:
        assert c.get(path).status_code == 200, path


def test_api_without_login_answers_401_json(web):
    c = web.test_client()
    r = c.get(f"/api/books/{web.config['BOOK_ID']}/draft")
    assert r.status_code == 401 and r.json["error"] == "ikke logget ind"


def test_scans_are_served_only_to_who_may_open_the_book(web, two_books):
    from web_support import SCANS, csrf_of

    admin = client_as(web, "admin1")
    token = csrf_of(admin, f"/books/{two_books[1]}")
    with open(SCANS / "kbf_clean_p0037.jpg", "rb") as fh:
        r = admin.post(f"/books/{two_books[1]}/pages", data={"csrf_token": token, "pages": (fh, "p37.jpg")},
                       headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.json["added"] == [1]
    from sqlalchemy import select

    from webentry.models import Page

    with web.extensions["mgr_sessions"]() as s:
        sha = s.scalar(select(Page.scan_sha256).where(Page.book_id == two_books[1]))
    assert client_as(web, "tr2").get(f"/scans/{sha}/thumb").status_code == 200
    assert client_as(web, "tr1").get(f"/scans/{sha}/view").status_code == 404
