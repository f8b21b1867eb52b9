"""Shared helpers of the web tests: an application on a fresh work folder, its users, a book,
and log-in/CSRF helpers for Flask's test client."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/ for conftest helpers
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "store"))  # the database fixture

from store_fixtures import db_url  # noqa: E402,F401,F811 - a fixture: SQLite, and PostgreSQL (in CI, always)

PASSWORD = "correct horse battery"
FAST_ARGON2 = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}
USERS = {"admin1": "admin", "rev1": "reviewer", "tr1": "transcriber", "tr2": "transcriber"}
SCANS = Path(__file__).resolve().parents[2] / "fixtures" / "scans"


def make_app(work: Path, **config):
    from webentry import create_app

    cfg = {"WORK": str(work), "TESTING": True, "SECRET_KEY": "test-secret", "ARGON2": FAST_ARGON2,
           "OCR_MODE": "off"}
    cfg.update(config)
    return create_app(cfg)


def add_users(app, users: dict[str, str] = USERS) -> None:
    from webentry.auth import create_user

    with app.extensions["mgr_sessions"]() as s:
        for name, role in users.items():
            create_user(s, name, role, PASSWORD, actor="test", params=FAST_ARGON2)
        s.commit()


def add_book(app, entry: str = "K2697", source: str = "KBF", assign: tuple[str, ...] = ("tr1",),
             page_capacity: int | None = None):
    from datetime import UTC, datetime

    from sqlalchemy import select

    from webentry.models import Assignment, Book, User

    with app.extensions["mgr_sessions"]() as s:
        book = Book(entry_number=entry, source=source, title="Vejby KB 1921-1925", parish="Vejby", herred="Holbo",
                    amt="Frederiksborg", from_year=1921, to_year=1925, page_capacity=page_capacity,
                    created_by="test", created_at=datetime.now(UTC))
        s.add(book)
        s.flush()
        for name in assign:
            uid = s.scalar(select(User.id).where(User.name == name))
            s.add(Assignment(book_id=book.id, user_id=uid))
        s.commit()
        return book.id


def csrf_of(client, path: str = "/books") -> str:
    html = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def login(client, name: str, password: str = PASSWORD):
    token = csrf_of(client, "/login")
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token})


class Api:
    """JSON calls with the CSRF header, as the entry screen makes them."""

    def __init__(self, client):
        self.client = client
        self.token = csrf_of(client)

    def _h(self):
        return {"X-CSRFToken": self.token}

    def get(self, url):
        return self.client.get(url)

    def post(self, url, body):
        return self.client.post(url, json=body, headers=self._h())

    def put(self, url, body):
        return self.client.put(url, json=body, headers=self._h())

    def delete(self, url):
        return self.client.delete(url, headers=self._h())


@pytest.fixture
def web(tmp_path, db_url):  # noqa: F811 - the fixture imported above
    """The application on a fresh store: once on SQLite, once on PostgreSQL."""
    app = make_app(tmp_path / "work", DB=db_url)
    add_users(app)
    book_id = add_book(app)
    app.config["BOOK_ID"] = book_id
    yield app
    app.extensions["mgr_store"].close()


def client_as(app, name: str):
    c = app.test_client()
    r = login(c, name)
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return c


def kbf_fields(entry: int, **over) -> dict:
    """The keyed fields of a plausible KBF record (what the form would send)."""
    from conftest import kbf_row

    row = kbf_row(entry, entry, **over)
    for key in ("INDTASTNINGSNUMMER", "KILDE", "LOEBE_NR", "KILDEANGIVELSE", "LOEBENR_KONTROL"):
        row.pop(key, None)
    return {k: v for k, v in row.items() if v}



@__import__("functools").cache
def _danish_catalogue() -> dict[str, str]:
    from babel.messages.pofile import read_po

    po = Path(__file__).resolve().parents[2] / "webentry" / "translations" / "da" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id}


def danish(text: str) -> str:
    """The Danish the pages show for an English message id (read from the catalogue, so that
    a test asserts what a Danish reader sees)."""
    return _danish_catalogue().get(text) or text


def upload_pages(app, book: int, names: tuple[str, ...]) -> list[int]:
    """Upload fixture scans to a book as an admin does; the pages' sequence numbers."""
    import io

    admin = client_as(app, "admin1")
    pages = [(io.BytesIO((SCANS / n).read_bytes()), n) for n in names]
    r = admin.post(f"/books/{book}/pages", data={"csrf_token": csrf_of(admin, f"/books/{book}"), "pages": pages},
                   content_type="multipart/form-data", headers={"Accept": "application/json"})
    return r.json["added"]


def labelled_scan(label: str, size: tuple[int, int] = (600, 800)) -> bytes:
    """A plain JPEG scan with ``label`` written on it: a scan of its own for each use (the
    same bytes would be one scan, read and stored once)."""
    import io

    from PIL import Image, ImageDraw

    img = Image.new("L", size, 250)
    ImageDraw.Draw(img).text((size[0] - 100, 30), label, fill=20)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def save_seen(api: Api, book: int, fields: dict, **body) -> dict:
    """Save a record as the entry screen does: warnings acknowledged once they are shown
    (errors need notes in ``body``); the saved record."""
    body = {"fields": fields, **body}
    r = api.post(f"/api/books/{book}/records", body)
    if r.status_code == 422:
        r = api.post(f"/api/books/{book}/records", {**body, "acknowledged": r.json["unseen"]})
    assert r.status_code == 201, r.get_data(as_text=True)[:400]
    return r.json["record"]
