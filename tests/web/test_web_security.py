"""The web application under attack, route by route.

* Every route of the application is in ``POLICY`` with who may use it; the test fails when
  a route is added without a line there, and calls every route and method as each of five
  people (not logged in, a transcriber without the book, the book's transcriber, a
  reviewer, an admin), expecting exactly the policy's answer.
* Every write (every method other than GET/HEAD/OPTIONS) is refused without the CSRF token.
* Every write that changes something leaves its line in the audit log.
* Session fixation and replay: a cookie from before the log-in is worth nothing after it,
  a cookie copied before a log-out is worth nothing after it, idle sessions end.
* Upload file names cannot steer where anything is written; scan URLs cannot leave the
  scan folder.
"""

from __future__ import annotations

import base64
import io
import json
import zlib

import pytest
from sqlalchemy import func, select, update
from web_support import PASSWORD, SCANS, Api, client_as, csrf_of, kbf_fields, login

pytest_plugins = ["web_support"]  # the web fixture: an application with users and a book

PUBLIC, LOGIN, BOOK, REVIEWER, ADMIN = "public", "login", "book", "reviewer", "admin"
# endpoint -> who may use it: PUBLIC (anyone), LOGIN (anyone logged in), BOOK (logged in and
# given the book: its transcriber, every reviewer and admin), REVIEWER (reviewers and
# admins), ADMIN.
POLICY = {
    "static": PUBLIC,
    "healthz": PUBLIC,
    "auth.login": PUBLIC,
    "language.choose": PUBLIC,
    "home": LOGIN,
    "auth.logout": LOGIN,
    "openapi_json": LOGIN,
    "books.index": LOGIN,
    "books.show": BOOK,
    "books.scan_file": BOOK,
    "entry.screen": BOOK,
    "entry.check_field": BOOK,
    "entry.check_record_api": BOOK,
    "entry.create_record": BOOK,
    "entry.record_api": BOOK,
    "entry.draft": BOOK,
    "entry.page_ocr": BOOK,
    "entry.section_last_api": BOOK,
    "entry.suggest_api": BOOK,
    "review.ready": BOOK,
    "review.approve": REVIEWER,
    "review.send_back": REVIEWER,
    "books.export": REVIEWER,
    "qa.queue": REVIEWER,
    "keying.figures": REVIEWER,
    "qa.detail": REVIEWER,
    "qa.skip": REVIEWER,
    "qa.resolve": REVIEWER,
    "books.new": ADMIN,
    "books.upload": ADMIN,
    "books.assign": ADMIN,
    "admin.users": ADMIN,
    "admin.change_user": ADMIN,
    "admin.imports": ADMIN,
    "admin.audit_view": ADMIN,
    "admin.record_history": ADMIN,
}
PEOPLE = ("anonymous", "tr2", "tr1", "rev1", "admin1")  # tr1 is given the book, tr2 is not
ALLOWED = {
    PUBLIC: set(PEOPLE),
    LOGIN: {"tr2", "tr1", "rev1", "admin1"},
    BOOK: {"tr1", "rev1", "admin1"},
    REVIEWER: {"rev1", "admin1"},
    ADMIN: {"admin1"},
}
READS = {"GET", "HEAD", "OPTIONS"}
# Writes that only read (the checks while typing), or only set a cookie in the browser (the
# language shown): no audit line expected.
READING_WRITES = {("entry.check_field", "POST"), ("entry.check_record_api", "POST"), ("language.choose", "POST")}


@pytest.fixture
def site(web, tmp_path):
    """The web fixture with everything a route needs: a scanned page, a keyed record, a store
    finding, and the ids that go into the URLs."""
    from conftest import kbf_row, write_delivery

    from ingest.store import import_paths
    from ingest.store.models import findings
    from webentry.models import Scan, User

    book = web.config["BOOK_ID"]
    admin = client_as(web, "admin1")
    token = csrf_of(admin, f"/books/{book}")
    jpeg = (SCANS / "kbf_clean_p0037.jpg").read_bytes()
    r = admin.post(f"/books/{book}/pages", data={"csrf_token": token, "pages": [(io.BytesIO(jpeg), "p37.jpg")]},
                   content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert r.json["added"] == [1]
    api = Api(client_as(web, "tr1"))
    assert api.post(f"/api/books/{book}/records", {"fields": kbf_fields(1), "page_seq": 1}).status_code == 201
    rows = [kbf_row(i, i) for i in range(1, 5)]
    rows[1]["FOEDSELSDATO"] = "19210231"
    write_delivery(tmp_path / "in", rows)
    import_paths(web.extensions["mgr_store"], [tmp_path / "in"])
    with web.extensions["mgr_store"].reading() as conn:
        finding = conn.execute(select(findings.c.id).where(findings.c.code == "DATE_INVALID")).scalar()
    with web.extensions["mgr_sessions"]() as s:
        sha = s.scalar(select(Scan.sha256))
        tr2 = s.scalar(select(User.id).where(User.name == "tr2"))
    return {"book_id": book, "loebe_nr": 1, "seq": 1, "sha": sha, "kind": "thumb", "finding_id": finding,
            "user_id": tr2, "entry_number": "K2697", "filename": "css/app.css"}


def _rules(app):
    return [r for r in app.url_map.iter_rules()]


def _url(rule, ids) -> str:
    path = rule.rule
    for arg in rule.arguments:
        path = path.replace(f"<{arg}>", str(ids[arg]))
        for conv in ("id", "path", "int"):
            path = path.replace(f"<{conv}:{arg}>", str(ids[arg]))
    assert "<" not in path, path
    if rule.endpoint == "entry.suggest_api":
        path += f"?book={ids['book_id']}&field=FORNAVN&q=A"
    return path


def _login_refused(response) -> bool:
    if response.status_code == 401:
        return True
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")


def _call(client, method, url, token):
    if method in READS:
        return client.open(url, method=method)
    if url.startswith("/api/"):
        return client.open(url, method=method, json={}, headers={"X-CSRFToken": token})
    return client.open(url, method=method, data={"csrf_token": token})


def test_every_route_has_a_policy(web):
    endpoints = {r.endpoint for r in _rules(web)}
    assert endpoints - set(POLICY) == set(), "routes without a line in POLICY"
    assert set(POLICY) - endpoints == set(), "POLICY names routes that are gone"


def test_role_matrix_route_by_route(web, site):
    clients = {"anonymous": web.test_client()}
    for name in PEOPLE[1:]:
        clients[name] = client_as(web, name)
    tokens = {name: csrf_of(c, "/login" if name == "anonymous" else "/books") for name, c in clients.items()}
    calls = []
    # Log-out last: it ends the session the other calls need.
    rules = sorted(_rules(web), key=lambda r: r.endpoint == "auth.logout")
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = _url(rule, site)
            policy = POLICY[rule.endpoint]
            for person in PEOPLE:
                if rule.endpoint == "auth.login" and method == "POST":
                    continue  # a log-in attempt is not a matter of roles (tests of its own)
                r = _call(clients[person], method, url, tokens[person])
                calls.append((rule.endpoint, method, person, r.status_code))
                where = f"{method} {url} as {person}: {r.status_code}"
                assert r.status_code < 500, where
                if person in ALLOWED[policy] and rule.endpoint == "auth.logout":
                    assert r.status_code == 302 and _login_refused(clients[person].get("/books")), where
                elif person in ALLOWED[policy]:
                    assert not _login_refused(r) and r.status_code not in (403, 404), where
                elif person == "anonymous":
                    assert _login_refused(r), where
                    if url.startswith("/api/"):
                        assert r.status_code == 401 and r.is_json, where
                elif policy == BOOK:
                    assert r.status_code == 404, where  # not even told that the book exists
                else:
                    assert r.status_code == 403, where
    # Every route with every method was tried by all five.
    assert len(calls) >= 5 * (len(POLICY) - 1)
    from conftest import SUMMARY_LINES

    SUMMARY_LINES.append(f"web role matrix: {len(calls)} calls ({len({(e, m) for e, m, _p, _s in calls})} "
                         f"route-methods x 5 people), each answered as the policy says")


def test_every_write_needs_the_csrf_token(web, site):
    admin = client_as(web, "admin1")
    tried = 0
    for rule in _rules(web):
        for method in sorted(rule.methods - READS):
            url = _url(rule, site)
            if url.startswith("/api/"):
                r = admin.open(url, method=method, json={"fields": {}})
            else:
                r = admin.open(url, method=method, data={"anything": "1"})
            assert r.status_code == 400, (method, url, r.status_code)
            assert "CSRF" in r.get_data(as_text=True), (method, url)
            tried += 1
    # A token from another session does not do either.
    other = web.test_client()
    foreign = csrf_of(other, "/login")
    r = admin.post("/admin/users", data={"csrf_token": foreign, "name": "x1", "role": "admin",
                                         "password": "long enough pw"})
    assert r.status_code == 400
    assert tried == len({(r.endpoint, m) for r in _rules(web) for m in r.methods - READS}) >= 14


def test_every_write_is_in_the_audit_log(web, site):
    """Each write route, used as meant, adds its line to the audit log naming the actor."""
    from ingest.store.models import audit_log

    book = site["book_id"]
    admin = client_as(web, "admin1")
    reviewer = client_as(web, "rev1")
    tr1 = Api(client_as(web, "tr1"))
    a_tok, r_tok = csrf_of(admin, "/admin/users"), csrf_of(reviewer, "/qa")
    jpeg = (SCANS / "kbf_clean_p0038.jpg").read_bytes()
    writes = [
        ("books.new", "POST", "admin1", "book_registered",
         lambda: admin.post("/books/new", data={"csrf_token": a_tok, "entry_number": "K2701", "source": "KBF",
                                                "title": "Ørby KB", "parish": "Ørby", "from_year": "1921",
                                                "to_year": "1925"})),
        ("books.upload", "POST", "admin1", "pages_uploaded",
         lambda: admin.post(f"/books/{book}/pages", content_type="multipart/form-data",
                            data={"csrf_token": a_tok, "pages": [(io.BytesIO(jpeg), "p38.jpg")]})),
        ("books.assign", "POST", "admin1", "book_assigned",
         lambda: admin.post(f"/books/{book}/assign", data={"csrf_token": a_tok, "user_id": site["user_id"]})),
        ("admin.users", "POST", "admin1", "user_added",
         lambda: admin.post("/admin/users", data={"csrf_token": a_tok, "name": "tr9", "role": "transcriber",
                                                  "password": "long enough pw"})),
        ("admin.change_user", "POST", "admin1", "user_unlocked",
         lambda: admin.post(f"/admin/users/{site['user_id']}", data={"csrf_token": a_tok, "action": "unlock"})),
        ("qa.resolve", "POST", "rev1", "finding_resolved",
         lambda: reviewer.post(f"/qa/{site['finding_id']}/resolve",
                               data={"csrf_token": r_tok, "decision": "book_is_right", "note": "as written"})),
        ("entry.create_record", "POST", "tr1", "record_added",
         lambda: tr1.post(f"/api/books/{book}/records", {"fields": kbf_fields(2)})),
        ("entry.record_api", "PUT", "tr1", "record_changed",
         lambda: tr1.put(f"/api/books/{book}/records/1", {"fields": kbf_fields(1, FORNAVN="Hans Peter"),
                                                         "version": 1})),
        ("entry.draft", "PUT", "tr1", "draft_saved",
         lambda: tr1.put(f"/api/books/{book}/draft", {"fields": {"FORNAVN": "Ane"}})),
        ("entry.draft", "DELETE", "tr1", "draft_discarded", lambda: tr1.delete(f"/api/books/{book}/draft")),
        ("review.ready", "POST", "tr1", "book_ready",
         lambda: tr1.client.post(f"/books/{book}/ready", data={"csrf_token": tr1.token})),
        ("review.approve", "POST", "rev1", "book_approved",
         lambda: reviewer.post(f"/books/{book}/approve", data={"csrf_token": r_tok})),
        ("review.send_back", "POST", "rev1", "book_returned",
         lambda: reviewer.post(f"/books/{book}/return", data={"csrf_token": r_tok, "note": "page 3 again"})),
        ("auth.login", "POST", "tr2", "login", lambda: login(web.test_client(), "tr2")),
        ("auth.logout", "POST", "tr1", "logout",
         lambda: tr1.client.post("/logout", data={"csrf_token": tr1.token})),
    ]
    covered = {(endpoint, method) for endpoint, method, *_ in writes}
    every_write = {(r.endpoint, m) for r in _rules(web) for m in r.methods - READS}
    assert every_write - covered - READING_WRITES == set(), "write routes without an audit check"

    store = web.extensions["mgr_store"]
    for endpoint, method, actor, action, call in writes:
        with store.reading() as conn:
            before = conn.execute(select(func.max(audit_log.c.id))).scalar() or 0
        r = call()
        assert r.status_code < 400, (endpoint, method, r.status_code)
        with store.reading() as conn:
            new = conn.execute(select(audit_log.c.action, audit_log.c.actor).where(audit_log.c.id > before)).all()
        assert (action, actor) in [tuple(x) for x in new], (endpoint, method, new)
    # The export is a read that leaves a line too: who took the book's data out.
    with store.reading() as conn:
        before = conn.execute(select(func.max(audit_log.c.id))).scalar()
    assert reviewer.get(f"/books/{book}/export").status_code == 200
    with store.reading() as conn:
        assert conn.execute(select(audit_log.c.action).where(audit_log.c.id > before)).scalars().all() == \
            ["book_exported"]


# --------------------------------------------------------------------------- sessions

def _cookie(client) -> str | None:
    c = client.get_cookie("mgr_session")
    return c.value if c else None


def _with_cookie(web, value: str):
    c = web.test_client()
    c.set_cookie("mgr_session", value)
    return c


def test_a_cookie_from_before_the_login_is_worth_nothing_after_it(web):
    """Session fixation: an attacker plants their own (anonymous) session cookie in the
    victim's browser, the victim logs in; the planted cookie must not become a logged-in one."""
    victim = web.test_client()
    victim.get("/login")
    planted = _cookie(victim)
    assert planted
    assert login(victim, "tr1").status_code == 302
    after = _cookie(victim)
    assert after != planted
    assert victim.get("/books").status_code == 200
    attacker = _with_cookie(web, planted)
    r = attacker.get("/books")
    assert _login_refused(r)


def test_a_copied_cookie_is_dead_after_logout(web):
    victim = client_as(web, "tr1")
    stolen = _cookie(victim)
    thief = _with_cookie(web, stolen)
    assert thief.get("/books").status_code == 200  # while the victim is logged in, it works …
    assert victim.post("/logout", data={"csrf_token": csrf_of(victim)}).status_code == 302
    assert _login_refused(thief.get("/books"))  # … and not after the log-out
    assert thief.get(f"/api/books/{web.config['BOOK_ID']}/draft").status_code == 401


def test_the_cookie_carries_no_name_and_its_session_is_server_side(web):
    from webentry.models import WebSession

    c = client_as(web, "tr1")
    value = _cookie(c)
    payload = value.split(".")[0] if not value.startswith(".") else value.split(".")[1]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if value.startswith("."):
        raw = zlib.decompress(raw)
    session = json.loads(raw)
    assert "tr1" not in raw.decode("utf-8", "replace")
    token = session["_user_id"]
    with web.extensions["mgr_sessions"]() as s:
        rows = list(s.scalars(select(WebSession)))
    assert len(rows) == 1 and rows[0].ended_at is None
    assert token not in rows[0].token_sha256  # only the hash is stored


def test_idle_and_expired_sessions_end(web):
    from datetime import UTC, datetime, timedelta

    from webentry.models import WebSession

    idle = client_as(web, "tr1")
    old = client_as(web, "tr2")
    tr1, tr2 = _uid(web, "tr1"), _uid(web, "tr2")
    with web.extensions["mgr_sessions"]() as s:
        now = datetime.now(UTC)
        s.execute(update(WebSession).where(WebSession.user_id == tr1)
                  .values(last_seen_at=now - timedelta(minutes=web.config["SESSION_IDLE_MINUTES"] + 1)))
        s.execute(update(WebSession).where(WebSession.user_id == tr2)
                  .values(created_at=now - web.config["PERMANENT_SESSION_LIFETIME"] - timedelta(minutes=1),
                          last_seen_at=now))
        s.commit()
    assert _login_refused(idle.get("/books"))
    assert _login_refused(old.get("/books"))
    with web.extensions["mgr_sessions"]() as s:
        reasons = {r.user_id: r.end_reason for r in s.scalars(select(WebSession))}
    assert reasons == {tr1: "idle", tr2: "expired"}


def test_admin_ends_the_sessions_of_a_person(web):
    tr1 = client_as(web, "tr1")
    admin = client_as(web, "admin1")
    html = admin.get("/admin/users").get_data(as_text=True)
    assert '<input type="hidden" name="action" value="sessions">' in html  # the "End sessions" button
    r = admin.post(f"/admin/users/{_uid(web, 'tr1')}", data={"csrf_token": csrf_of(admin, "/admin/users"),
                                                             "action": "sessions"})
    assert r.status_code == 302
    assert _login_refused(tr1.get("/books"))
    assert admin.get("/books").status_code == 200


def test_session_cookie_flags(tmp_path):
    from web_support import add_users, make_app

    app = make_app(tmp_path / "w", SESSION_COOKIE_SECURE=True)
    add_users(app)
    c = app.test_client()
    token = csrf_of(c, "/login")
    r = c.post("/login", data={"name": "tr1", "password": PASSWORD, "csrf_token": token})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    app.extensions["mgr_store"].close()


def _uid(web, name):
    from webentry.models import User

    with web.extensions["mgr_sessions"]() as s:
        return s.scalar(select(User.id).where(User.name == name))


# --------------------------------------------------------------------------- file names and paths

@pytest.mark.parametrize("name", ["../../../../evil.jpg", "..\\..\\evil.jpg", "/etc/evil.jpg",
                                  "C:\\Windows\\evil.jpg", "sub/../../evil.jpg", "ev\x00il.jpg\x07"])
def test_upload_names_cannot_steer_where_files_go(web, name):
    from webentry.models import Page

    work = web.config["WORK"]
    before = {p for p in work.parent.rglob("*")}
    admin = client_as(web, "admin1")
    book = web.config["BOOK_ID"]
    jpeg = (SCANS / "kbf_clean_p0037.jpg").read_bytes()
    r = admin.post(f"/books/{book}/pages", data={"csrf_token": csrf_of(admin, f"/books/{book}"),
                                                 "pages": [(io.BytesIO(jpeg), name)]},
                   content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.json["added"] == [1]
    new = {p for p in work.parent.rglob("*")} - before
    scans = work / "scans"
    outside = [p for p in new if scans not in p.parents and p != scans and p.suffix not in ("-wal", "-shm")
               and not p.name.startswith("mgr.sqlite")]
    assert outside == []
    assert not any("evil" in p.name for p in new)
    with web.extensions["mgr_sessions"]() as s:
        shown = s.scalar(select(Page.file_name))
    # Only the last part is kept, without separators or control characters. (Werkzeug
    # releases differ on backslashes in the multipart header: some keep them, which leaves
    # "evil.jpg" here, some drop them, which leaves "....evil.jpg"; both are only shown.)
    assert shown.endswith("evil.jpg") and not set(shown) & set("/\\") and shown.isprintable()
    assert shown in admin.get(f"/books/{book}").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/scans/..%2F..%2Fmgr.sqlite/view", "/scans/../../mgr.sqlite/view",
                                  "/scans/" + "0" * 64 + "/../../web-secret.key",
                                  "/scans/" + "a" * 64 + "/view", "/static/../web-secret.key",
                                  "/static/..%2F..%2Fweb-secret.key"])
def test_scan_and_static_urls_cannot_leave_their_folders(web, path):
    c = client_as(web, "admin1")
    r = c.get(path)
    assert r.status_code == 404, (path, r.status_code)
    assert b"web-secret" not in r.data and b"SQLite format" not in r.data


@pytest.mark.parametrize("query", ["r=%C2%B2", "r=99999999999999999999", "page=%C2%B2", "page=-1", "r=1e3"])
def test_odd_numbers_in_urls_are_not_internal_errors(web, query):
    c = client_as(web, "tr1")
    r = c.get(f"/books/{web.config['BOOK_ID']}/entry?{query}")
    assert r.status_code in (200, 404), (query, r.status_code)
    assert c.get("/books/99999999999999999999999").status_code == 404
    api = Api(c)
    assert api.get("/api/suggest?book=%C2%B2&field=FORNAVN&q=A").status_code == 404
    assert api.get(f"/api/books/{web.config['BOOK_ID']}/pages/1/ocr?before=%C2%B2").status_code == 404


def _fresh_schema(url: str) -> str:
    import uuid
    from pathlib import Path

    from sqlalchemy import create_engine, text
    from store_fixtures import _with_schema

    from ingest.store.database import resolve_url

    base = url.split("?", 1)[0]
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(resolve_url(base, Path(".")))
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return _with_schema(base, schema)


def test_a_restored_store_has_no_live_session(web, tmp_path):
    """A backup holds the session table; after a restore no cookie from before works."""
    from web_support import make_app

    from ingest.backup import backup, restore

    c = client_as(web, "tr1")
    cookie = _cookie(c)
    db = web.config.get("DB")
    backup(web.config["WORK"], db, tmp_path / "b.tar")
    target_db = _fresh_schema(db) if db else None  # PostgreSQL: restored into an empty schema
    restore(tmp_path / "b.tar", tmp_path / "restored", target_db)
    again = make_app(tmp_path / "restored", DB=target_db)
    try:
        from webentry.models import WebSession

        with again.extensions["mgr_sessions"]() as s:
            rows = list(s.scalars(select(WebSession)))
        assert rows and {r.end_reason for r in rows} == {"restore"}
        replay = again.test_client()
        replay.set_cookie("mgr_session", cookie)
        assert _login_refused(replay.get("/books"))
    finally:
        again.extensions["mgr_store"].close()
