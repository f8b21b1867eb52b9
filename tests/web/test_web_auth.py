"""Log-in, the log-in delay, sessions, CSRF and security headers."""

from __future__ import annotations

import re

from sqlalchemy import select
from web_support import PASSWORD, Api, client_as, csrf_of, login, make_app

pytest_plugins = ["web_support"]  # the web fixture: an application with users and a book


def test_password_is_hashed_with_argon2(web):
    from webentry.models import User

    with web.extensions["mgr_sessions"]() as s:
        user = s.scalar(select(User).where(User.name == "tr1"))
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_login_and_logout(web):
    c = web.test_client()
    assert c.get("/books").status_code == 302  # to the log-in page
    r = login(c, "tr1")
    assert r.status_code == 302 and r.headers["Location"].endswith("/books")
    assert c.get("/books").status_code == 200
    token = csrf_of(c)
    assert c.post("/logout", data={"csrf_token": token}).status_code == 302
    assert c.get("/books").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_answer(web):
    c = web.test_client()
    a = login(c, "tr1", "wrong password!!")
    b = login(c, "nobody", "wrong password!!")
    assert a.status_code == b.status_code == 401
    assert "Forkert brugernavn eller adgangskode" in a.get_data(as_text=True)  # Danish: the default language
    assert "Forkert brugernavn eller adgangskode" in b.get_data(as_text=True)


def _answers(web, name, password, times):
    c = web.test_client()
    out = []
    for _ in range(times):
        r = login(c, name, password)
        m = re.search(r'class="error-box"[^>]*>([^<]*)<', r.get_data(as_text=True))
        out.append((r.status_code, m.group(1) if m else None))
    return out


def _time_passes(web, seconds=3600):
    """Move every log-in delay into the past (no clocks in tests)."""
    from datetime import timedelta

    from webentry.models import LoginThrottle

    with web.extensions["mgr_sessions"]() as s:
        for row in s.scalars(select(LoginThrottle)):
            row.next_allowed_at = row.next_allowed_at - timedelta(seconds=seconds)
            row.last_failed_at = row.last_failed_at - timedelta(seconds=seconds)
        s.commit()


def test_failed_logins_slow_down_and_never_tell_which_names_exist(web):
    """A known name, an unknown name and a deactivated account get the same answers, in the
    same order, for the same attempts; nothing says "locked"; the owner is never locked out."""
    from webentry.models import User

    with web.extensions["mgr_sessions"]() as s:
        s.scalar(select(User).where(User.name == "tr2")).active = False
        s.commit()
    known = _answers(web, "tr1", "not the password", 6)
    _time_passes(web)  # the address's own count must not colour the next series
    unknown = _answers(web, "nobody-here", "not the password", 6)
    _time_passes(web)
    inactive = _answers(web, "tr2", "not the password", 6)
    assert known == unknown == inactive
    statuses = [code for code, _text in known]
    assert statuses[:3] == [401, 401, 401] and 429 in statuses  # three free tries, then a wait
    assert all("locked" not in text.lower() for _code, text in known)
    # The owner with the right password: told to wait (like everyone), then let in. No lock-out.
    _answers(web, "tr1", "not the password", 5)
    assert login(web.test_client(), "tr1").status_code == 429
    _time_passes(web)
    assert login(web.test_client(), "tr1").status_code == 302


def test_unknown_names_cost_the_same_hash_work(web, monkeypatch):
    from argon2 import PasswordHasher

    calls = []
    real = PasswordHasher.verify

    def counted(self, hash_, password):
        calls.append(hash_[:9])
        return real(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    c = web.test_client()
    for name in ("tr1", "no-such-person"):
        calls.clear()
        assert login(c, name, "not the password").status_code == 401
        assert calls == ["$argon2id"], name  # one Argon2id verification either way


def test_admin_page_and_cli_clear_the_delay(web):
    from ingest.cli import main as cli_main
    from webentry.models import User

    _answers(web, "tr1", "not the password", 5)
    assert login(web.test_client(), "tr1").status_code == 429
    admin = client_as(web, "admin1")
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "bremset efter mislykkede login" in page and page.count(">Lås op<") == 1  # only for the one slowed down
    with web.extensions["mgr_sessions"]() as s:
        uid = s.scalar(select(User.id).where(User.name == "tr1"))
    token = csrf_of(admin, "/admin/users")
    admin.post(f"/admin/users/{uid}", data={"csrf_token": token, "action": "unlock"})
    assert login(web.test_client(), "tr1").status_code == 302
    # The same from the command line: mgr-ingest user unlock NAME, on the same store
    _answers(web, "tr1", "not the password", 5)
    assert login(web.test_client(), "tr1").status_code == 429
    work, db = str(web.config["WORK"]), web.extensions["mgr_store"].url.render_as_string(hide_password=False)
    assert cli_main(["user", "unlock", "TR1", "--work", work, "--db", db]) == 0
    assert login(web.test_client(), "tr1").status_code == 302


def test_user_passwd_command_sets_the_password_and_ends_sessions(web, tmp_path):
    from ingest.cli import main as cli_main

    c = client_as(web, "tr1")
    pw = tmp_path / "pw.txt"
    pw.write_text("another long password\n", encoding="utf-8")
    work, db = str(web.config["WORK"]), web.extensions["mgr_store"].url.render_as_string(hide_password=False)
    assert cli_main(["user", "passwd", "tr1", "--password-file", str(pw), "--work", work, "--db", db]) == 0
    assert c.get("/books").status_code == 302  # the old session ended
    assert login(web.test_client(), "tr1").status_code == 401
    assert login(web.test_client(), "tr1", "another long password").status_code == 302
    assert cli_main(["user", "passwd", "nobody", "--password-file", str(pw), "--work", work, "--db", db]) == 2


def test_user_names_are_unique_whatever_their_case(web):
    from webentry.auth import AccountError, create_user

    with web.extensions["mgr_sessions"]() as s:
        try:
            create_user(s, "TR1", "transcriber", "a long enough password", actor="test")
        except AccountError as exc:
            assert "exists already" in str(exc)
        else:
            raise AssertionError("TR1 was created beside tr1")
    admin = client_as(web, "admin1")
    token = csrf_of(admin, "/admin/users")
    r = admin.post("/admin/users", data={"csrf_token": token, "name": "Admin1", "role": "reviewer",
                                         "password": "a long enough password"}, follow_redirects=True)
    assert "findes allerede en bruger ved navn" in r.get_data(as_text=True)
    assert login(web.test_client(), "TR1").status_code == 302  # the same person, typed in capitals


def test_a_typed_secret_never_reaches_the_audit_log(web):
    from webentry.models import User  # noqa: F401 - the web tables are loaded

    secret = "Sommer2026!hemmelig"
    login(web.test_client(), secret, "whatever it is")  # a password typed into the name field
    with web.extensions["mgr_store"].reading() as conn:
        from sqlalchemy import text

        rows = [tuple(str(v) for v in r) for r in conn.execute(text("SELECT * FROM audit_log")).all()]
    assert rows and not any(secret in v for r in rows for v in r)
    assert any(v.startswith("unknown:") for r in rows for v in r)


def test_open_redirect_after_login_is_refused(web):
    for target in ("//evil.example/x", "/%09/127.0.0.1:8767/pwned", "%2F%09%2F127.0.0.1:8767%2Fpwned",
                   "/%0A/x", "/%5C%5Cevil.example", "https://evil.example/", "/%0D%0ALocation:%20//evil"):
        c = web.test_client()
        token = csrf_of(c, "/login")
        r = c.post(f"/login?next={target}", data={"name": "tr1", "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 302, (target, r.status_code)
        assert r.headers["Location"] in ("/books", "http://localhost/books"), (target, r.headers["Location"])
    c = web.test_client()
    token = csrf_of(c, "/login")
    r = c.post("/login?next=/qa%3Fcode%3DDATE_INVALID", data={"name": "tr1", "password": PASSWORD,
                                                                "csrf_token": token})
    assert r.headers["Location"].endswith("/qa?code=DATE_INVALID")


def test_a_copied_cookie_dies_in_another_browser(web):
    c = web.test_client()
    token = csrf_of(c, "/login")
    ua = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156"}
    c.post("/login", data={"name": "tr1", "password": PASSWORD, "csrf_token": token}, headers=ua)
    assert c.get("/books", headers=ua).status_code == 200
    # the same cookie from another browser (and another claimed address): ended for good
    other = {"User-Agent": "curl/8.0", "X-Forwarded-For": "203.0.113.9"}
    assert c.get("/books", headers=other).status_code == 302
    assert c.get("/books", headers=ua).status_code == 302


def test_forwarded_for_is_not_trusted_without_a_proxy(web):
    """Failed log-ins from one connection count against it whatever X-Forwarded-For says."""
    c = web.test_client()
    answers = []
    for i in range(12):
        token = csrf_of(c, "/login")
        r = c.post("/login", data={"name": f"someone{i}", "password": "x", "csrf_token": token},
                   headers={"X-Forwarded-For": f"198.51.100.{i}"})
        answers.append(r.status_code)
    assert answers[:10] == [401] * 10 and answers[-1] == 429


def test_open_sessions_per_person_are_capped(web):
    cap = web.config["MAX_SESSIONS_PER_USER"]
    clients = [client_as(web, "tr1") for _ in range(cap + 1)]
    assert clients[0].get("/books").status_code == 302  # the oldest ended
    assert all(c.get("/books").status_code == 200 for c in clients[1:])


def test_password_change_ends_other_sessions(web):
    from webentry.auth import set_password
    from webentry.models import User

    c = client_as(web, "tr1")
    assert c.get("/books").status_code == 200
    with web.extensions["mgr_sessions"]() as s:
        user = s.scalar(select(User).where(User.name == "tr1"))
        set_password(s, user, "a brand new password", actor="test", params=web.config["ARGON2"])
        s.commit()
    assert c.get("/books").status_code == 302


def test_forms_without_csrf_token_are_refused(web):
    c = web.test_client()
    r = c.post("/login", data={"name": "tr1", "password": PASSWORD})
    assert r.status_code == 400
    admin = client_as(web, "admin1")
    r = admin.post("/books/new", data={"entry_number": "K3000", "source": "KBF", "title": "x", "parish": "y",
                                       "from_year": "1921", "to_year": "1925"})
    assert r.status_code == 400


def test_json_writes_need_the_csrf_header(web):
    c = client_as(web, "tr1")
    book = web.config["BOOK_ID"]
    body = {"fields": {"KILDE_SIDE": "1"}}
    assert c.post(f"/api/books/{book}/records", json=body).status_code == 400
    assert c.put(f"/api/books/{book}/draft", json=body).status_code == 400
    assert c.post(f"/api/books/{book}/check/field", json={"field": "KOEN", "value": "M"}).status_code == 400
    bad = c.put(f"/api/books/{book}/draft", json=body, headers={"X-CSRFToken": "forged"})
    assert bad.status_code == 400 and "CSRF" in bad.json["error"]
    api = Api(c)
    assert api.put(f"/api/books/{book}/draft", body).status_code == 200


def test_security_headers(web):
    c = web.test_client()
    r = c.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert r.headers["Cache-Control"] == "no-store"
    cookie = r.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_no_inline_script_in_pages(web):
    c = client_as(web, "admin1")
    for path in ("/books", f"/books/{web.config['BOOK_ID']}", f"/books/{web.config['BOOK_ID']}/entry",
                 "/admin/users", "/admin/imports", "/admin/audit", "/qa"):
        html = c.get(path).get_data(as_text=True)
        for chunk in html.split("<script")[1:]:
            head = chunk.split(">", 1)[0]
            assert "src=" in head or 'type="application/json"' in head, (path, head)
        assert " style=" not in html, path


def test_audit_log_names_logins_and_failures(web):
    from ingest.store.models import audit_log

    c = web.test_client()
    login(c, "tr1", "wrong password!!")
    login(c, "tr1")
    with web.extensions["mgr_store"].reading() as conn:
        actions = [r.action for r in conn.execute(select(audit_log.c.action, audit_log.c.actor)
                                                   .where(audit_log.c.actor == "tr1"))]
    assert "login_failed" in actions and "login" in actions


def test_cli_user_add_with_password_file(tmp_path, capsys):
    from webentry.cli import main

    pw = tmp_path / "pw"
    pw.write_text("a long enough password\n")
    assert main(["user", "add", "chief", "--role", "admin", "--work", str(tmp_path / "w"), "--password-file",
                 str(pw)]) == 0
    assert "a long enough password" not in capsys.readouterr().out
    pw.write_text("short\n")
    assert main(["user", "add", "other", "--role", "admin", "--work", str(tmp_path / "w"), "--password-file",
                 str(pw)]) == 2
    assert "at least" in capsys.readouterr().err
    app = make_app(tmp_path / "w")
    try:
        c = app.test_client()
        assert login(c, "chief", "a long enough password").status_code == 302
    finally:
        app.extensions["mgr_store"].close()


def test_cli_user_add_without_terminal_asks_for_a_file(tmp_path, capsys, monkeypatch):
    import io

    from webentry.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["user", "add", "x", "--role", "reviewer", "--work", str(tmp_path / "w")]) == 2
    assert "--password-file" in capsys.readouterr().err


def test_cli_registers_serve_and_user():
    import argparse

    from webentry.cli import register

    p = argparse.ArgumentParser()
    commands = register(p.add_subparsers(dest="command"))
    assert set(commands) == {"serve", "user"}
    args = p.parse_args(["serve", "--host", "127.0.0.1", "--port", "8001", "--work", "w"])
    assert args.port == 8001 and args.host == "127.0.0.1"


