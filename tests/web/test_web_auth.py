"""Log-in, lock-out, sessions, CSRF and security headers."""

from __future__ import annotations

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
    assert "Wrong user name or password" in a.get_data(as_text=True)
    assert "Wrong user name or password" in b.get_data(as_text=True)


def test_account_locks_after_repeated_failures_and_admin_unlocks(web):
    c = web.test_client()
    for _ in range(web.config["LOCKOUT_ATTEMPTS"]):
        login(c, "tr1", "not the password")
    r = login(c, "tr1")  # the right password no longer helps
    assert r.status_code == 401 and "locked" in r.get_data(as_text=True)
    admin = client_as(web, "admin1")
    from webentry.models import User

    with web.extensions["mgr_sessions"]() as s:
        uid = s.scalar(select(User.id).where(User.name == "tr1"))
    token = csrf_of(admin, "/admin/users")
    admin.post(f"/admin/users/{uid}", data={"csrf_token": token, "action": "unlock"})
    assert login(web.test_client(), "tr1").status_code == 302


def test_open_redirect_after_login_is_refused(web):
    c = web.test_client()
    token = csrf_of(c, "/login")
    r = c.post("/login?next=//evil.example/x", data={"name": "tr1", "password": PASSWORD, "csrf_token": token})
    assert r.headers["Location"].endswith("/books")


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


