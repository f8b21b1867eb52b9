"""Users, passwords, log-in and roles.

* Passwords are hashed with Argon2id (argon2-cffi); a hash made with older parameters is
  renewed at the next successful log-in.
* Log-in reveals nothing: a wrong password, an unknown name and a deactivated account get
  the same message, status and work (an unknown name is checked against a dummy hash). No
  account is ever locked: failures are counted per typed name and per client address
  (``web_login_throttle``, both as hashes, whether the name exists or not), and past a few
  failures the next attempt must wait, longer each time up to ``THROTTLE_MAX_SECONDS``;
  an attempt before then is answered "wait" without looking at the password. The count
  is forgotten after ``THROTTLE_WINDOW_MINUTES`` without failures, at a successful log-in
  (the name's count), and by ``mgr-ingest user unlock NAME`` or the Users page.
* User names are unique whatever their case (``Alice`` is ``alice``).
* Sessions live on the server (``web_sessions``): the signed cookie carries only a random
  token, and the table keeps its SHA-256. A log-in always starts a new session (a cookie
  planted before the log-in is worth nothing after it: no session fixation); a log-out ends
  the session for good, so a copied cookie cannot be replayed; a session idle for
  ``SESSION_IDLE_MINUTES`` or older than ``PERMANENT_SESSION_LIFETIME`` ends; a password
  change, a role change or a deactivation ends every session of that person. A session is
  bound to the browser that logged in (a hash of its User-Agent): the cookie used from
  another browser ends it. A person has at most ``MAX_SESSIONS_PER_USER`` open sessions;
  a new log-in ends the oldest. The client address is the connection's, or with
  ``serve --proxy`` the one the proxy puts in X-Forwarded-For; never a header otherwise.
* Roles: ``transcriber`` keys the books assigned to them; ``reviewer`` sees every book and
  resolves QA findings; ``admin`` can do everything, and alone manages users, books and
  imports.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from sqlalchemy import select

from webentry import audit
from webentry.db import db, write_session
from webentry.models import (
    ROLE_ADMIN,
    ROLE_REVIEWER,
    ROLE_TRANSCRIBER,
    ROLES,
    Assignment,
    Book,
    LoginThrottle,
    User,
    WebSession,
)

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Log in to continue.")
login_manager.localize_callback = str  # the lazy text, in the language of the request
# Flask-Login's own protection is off: it only compares a hash of the address and agent
# kept in the signed cookie, and with a permanent session merely marks it non-fresh. The
# binding that holds is ours: the agent hash in the session row (``_session_verdict``).
login_manager.session_protection = None

NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzæøå0123456789._-")


class AccountError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else (value if value.tzinfo else value.replace(tzinfo=UTC))


def hasher(params: dict | None = None) -> PasswordHasher:
    return PasswordHasher(**(params or {}))


_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash(ph: PasswordHasher) -> str:
    key = repr((ph.time_cost, ph.memory_cost, ph.parallelism))
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = ph.hash(secrets.token_hex(16))
    return _DUMMY_HASHES[key]


@dataclass
class LoginUser:
    """The logged-in person as Flask-Login sees them (detached from any database session)."""

    id: int
    name: str
    role: str
    token: str  # the session's token (the cookie's only content about the person)
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return self.token

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    @property
    def sees_all_books(self) -> bool:
        return self.role in (ROLE_ADMIN, ROLE_REVIEWER)

    @property
    def can_review(self) -> bool:
        return self.role in (ROLE_ADMIN, ROLE_REVIEWER)


TOUCH_SECONDS = 60  # last_seen_at is written at most once a minute per session


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def agent_hash(agent: str | None) -> str:
    return hashlib.sha256((agent or "").encode("utf-8", "replace")).hexdigest()


def start_session(session, user: User, agent: str | None = None, max_open: int = 5) -> str:
    """A new server-side session for ``user`` from the browser ``agent`` (the caller commits);
    the oldest open sessions end so that at most ``max_open`` stay open. Returns its token."""
    token = secrets.token_urlsafe(32)
    when = _now()
    open_ids = list(session.scalars(select(WebSession.id).where(WebSession.user_id == user.id,
                                                                WebSession.ended_at.is_(None))
                                    .order_by(WebSession.created_at.desc(), WebSession.id.desc())))
    too_many = open_ids[max(0, max_open - 1):]
    if too_many:
        from sqlalchemy import update

        session.execute(update(WebSession).where(WebSession.id.in_(too_many))
                        .values(ended_at=when, end_reason="cap"))
    session.add(WebSession(token_sha256=token_hash(token), user_id=user.id, user_nonce=user.session_nonce,
                           created_at=when, last_seen_at=when, agent_sha256=agent_hash(agent)))
    return token


def end_sessions(session, *, user_id: int | None = None, token: str | None = None, reason: str) -> int:
    """End the open sessions of a person, or the one with this token; how many ended."""
    from sqlalchemy import update

    q = update(WebSession).where(WebSession.ended_at.is_(None))
    if token is not None:
        q = q.where(WebSession.token_sha256 == token_hash(token))
    elif user_id is not None:
        q = q.where(WebSession.user_id == user_id)
    else:
        raise ValueError("say whose sessions end")
    return session.execute(q.values(ended_at=_now(), end_reason=reason)).rowcount or 0


def _session_verdict(row: WebSession, user: User | None, now: datetime) -> str | None:
    """Why this session can no longer be used, or None while it can."""
    cfg = current_app.config
    if user is None or not user.active:
        return "admin"
    if not secrets.compare_digest(row.user_nonce, user.session_nonce):
        return "password"
    if now - _aware(row.created_at) > cfg["PERMANENT_SESSION_LIFETIME"]:
        return "expired"
    if now - _aware(row.last_seen_at) > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):
        return "idle"
    if row.agent_sha256 is not None and not secrets.compare_digest(
            row.agent_sha256, agent_hash(request.headers.get("User-Agent"))):
        return "agent"
    return None


@login_manager.user_loader
def _load_user(token: str) -> LoginUser | None:
    if not token or len(token) > 128:
        return None
    s = db()
    row = s.scalar(select(WebSession).where(WebSession.token_sha256 == token_hash(token)))
    if row is None or row.ended_at is not None:
        return None
    user = s.get(User, row.user_id)
    now = _now()
    reason = _session_verdict(row, user, now)
    if reason is not None or (now - _aware(row.last_seen_at)).total_seconds() > TOUCH_SECONDS:
        # The request's own session may be a reading one: these small writes go apart.
        with write_session() as w:
            if reason is not None:
                end_sessions(w, token=token, reason=reason)
            else:
                w.execute(WebSession.__table__.update().where(WebSession.id == row.id).values(last_seen_at=now))
            w.commit()
    if reason is not None:
        return None
    return LoginUser(id=user.id, name=user.name, role=user.role, token=token)


@login_manager.unauthorized_handler
def _unauthorized():
    if request.path.startswith("/api/"):
        return {"error": _("not logged in")}, 401
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


# --------------------------------------------------------------------------- accounts

def check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 64 or not set(name.lower()) <= NAME_CHARS:
        raise AccountError(_("a user name is 1-64 letters, digits, '.', '_' or '-'"))
    return name


def check_password(password: str, min_length: int) -> None:
    if len(password or "") < min_length:
        raise AccountError(_("a password needs at least %(n)s characters", n=min_length))
    if password.strip() != password:
        raise AccountError(_("a password may not begin or end with blanks"))


def create_user(session, name: str, role: str, password: str, *, actor: str, min_length: int = 10,
                params: dict | None = None) -> User:
    """Add a user (the caller commits); raises AccountError for a bad name, role or password."""
    name = check_name(name)
    if role not in ROLES:
        raise AccountError(_("role must be one of %(roles)s", roles=", ".join(ROLES)))
    check_password(password, min_length)
    found = find_user(session, name)
    if found is not None:
        raise AccountError(_("a user named %(name)s exists already (names are the same whatever their case)",
                             name=found.name))
    user = User(name=name, name_key=name_key(name), role=role, password_hash=hasher(params).hash(password),
                active=True, failed_logins=0, session_nonce=secrets.token_hex(8), created_at=_now())
    session.add(user)
    session.flush()
    audit.write(session, "user_added", actor=actor, target=f"user:{name}", new={"role": role})
    return user


def name_key(name: str) -> str:
    return (name or "").strip().casefold()[:64]


def find_user(session, name: str) -> User | None:
    """The user of this name, whatever its case."""
    return session.scalar(select(User).where(User.name_key == name_key(name)))


def set_password(session, user: User, password: str, *, actor: str, min_length: int = 10,
                 params: dict | None = None) -> None:
    check_password(password, min_length)
    user.password_hash = hasher(params).hash(password)
    user.session_nonce = secrets.token_hex(8)  # every earlier session ends
    end_sessions(session, user_id=user.id, reason="password")
    user.failed_logins = 0
    user.locked_until = None
    audit.write(session, "password_set", actor=actor, target=f"user:{user.name}")


GENERIC_FAILURE = _l("Wrong user name or password.")


def audit_name(name: str) -> str:
    """How a typed log-in name that is no account is recorded: never as typed (it may be a
    password typed into the wrong field), only ``unknown:`` and a short hash."""
    return "unknown:" + hashlib.sha256((name or "").encode("utf-8", "replace")).hexdigest()[:10]


def _throttle_keys(name: str, address: str | None) -> list[str]:
    keys = ["name:" + hashlib.sha256(name_key(name).encode("utf-8", "replace")).hexdigest()]
    if address:
        keys.append("addr:" + hashlib.sha256(address.encode("utf-8", "replace")).hexdigest())
    return keys


def throttle_wait(session, name: str, address: str | None) -> float:
    """Seconds until this name, from this address, may try again (0 when it may now)."""
    now = _now()
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(_throttle_keys(name, address))))
    return max([(_aware(r.next_allowed_at) - now).total_seconds() for r in rows] + [0.0])


def _delay(failures: int, free: int, cap: float) -> float:
    return 0.0 if failures < free else min(cap, float(2 ** (failures - free)))


def note_failure(session, name: str, address: str | None, cfg) -> None:
    now = _now()
    window = timedelta(minutes=cfg["THROTTLE_WINDOW_MINUTES"])
    for key in _throttle_keys(name, address):
        row = session.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0, last_failed_at=now, next_allowed_at=now)
            session.add(row)
        elif now - _aware(row.last_failed_at) > window:
            row.failures = 0
        row.failures += 1
        row.last_failed_at = now
        free = cfg["THROTTLE_FREE_PER_NAME"] if key.startswith("name:") else cfg["THROTTLE_FREE_PER_ADDRESS"]
        row.next_allowed_at = now + timedelta(seconds=_delay(row.failures, free, cfg["THROTTLE_MAX_SECONDS"]))


def forget_failures(session, name: str) -> int:
    """Clear the count of a name (after a successful log-in, or an admin's unlock)."""
    from sqlalchemy import delete

    return session.execute(delete(LoginThrottle).where(LoginThrottle.key == _throttle_keys(name, None)[0])).rowcount


def is_slowed(session, name: str) -> bool:
    return throttle_wait(session, name, None) > 0


def authenticate(session, name: str, password: str, *, cfg, address: str | None = None
                 ) -> tuple[User | None, str | None, int]:
    """(user, None, 200) when the password is right, else (None, message shown, status).

    Whether the name exists, is deactivated, or the password is wrong: the same message,
    status and work. A name or address that must wait is told so, whoever it is."""
    params = cfg["ARGON2"]
    name = (name or "").strip()[:200]
    wait = throttle_wait(session, name, address)
    user = find_user(session, name) if name else None
    actor = user.name if user is not None else audit_name(name)
    if wait > 0:
        audit.write(session, "login_throttled", actor=actor, target="login", new={"wait_seconds": round(wait)})
        return None, _("Too many failed log-ins for this name or from this computer: wait %(n)s seconds and "
                       "try again.", n=max(1, round(wait))), 429
    ph = hasher(params)
    if user is None or not user.active:
        try:  # same work as for a real account, so timing does not tell which names exist
            ph.verify(_dummy_hash(ph), password or "")
        except (VerificationError, InvalidHashError):
            pass
        note_failure(session, name, address, cfg)
        audit.write(session, "login_failed", actor=actor, target="unknown or inactive user")
        return None, GENERIC_FAILURE, 401
    try:
        ph.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        user.failed_logins = (user.failed_logins or 0) + 1
        note_failure(session, name, address, cfg)
        audit.write(session, "login_failed", actor=user.name, target=f"user:{user.name}",
                    new={"failed_logins": user.failed_logins})
        return None, GENERIC_FAILURE, 401
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = ph.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = _now()
    forget_failures(session, name)
    audit.write(session, "login", actor=user.name, target=f"user:{user.name}")
    return user, None, 200


def safe_target(raw: str | None) -> str | None:
    """A redirect target after log-in: a path on this site only. Checked on the decoded
    text, so a tab, newline or other control character, a backslash, a scheme or a host
    (``//evil``, ``/\t/evil``) is refused."""
    from urllib.parse import urlsplit

    if not raw or len(raw) > 2000:
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw) or "\\" in raw:
        return None
    if not raw.startswith("/") or raw.startswith("//"):
        return None
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return None
    return raw


# --------------------------------------------------------------------------- access rules

def role_required(*roles: str):
    """Only these roles; everyone else gets 403 (admins always pass)."""

    def wrap(view):
        @functools.wraps(view)
        @login_required
        def inner(*args, **kwargs):
            if current_user.role != ROLE_ADMIN and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return inner
    return wrap


admin_required = role_required(ROLE_ADMIN)
reviewer_required = role_required(ROLE_REVIEWER)


def may_open_book(user, book_id: int) -> bool:
    if user.sees_all_books:
        return True
    found = db().scalar(select(Assignment.id).where(Assignment.book_id == book_id, Assignment.user_id == user.id))
    return found is not None


def open_book_ids(user) -> list[int]:
    """The books a transcriber was given (the ones they may open)."""
    return list(db().scalars(select(Assignment.book_id).where(Assignment.user_id == user.id)))


def book_or_404(book_id: int) -> Book:
    """The book, if the current user may open it; 404 otherwise (a transcriber is not told
    that a book they were not given exists)."""
    book = db().get(Book, book_id)
    if book is None or not may_open_book(current_user, book_id):
        abort(404)
    return book


def visible_books_query(user):
    q = select(Book).order_by(Book.entry_number)
    if not user.sees_all_books:
        q = q.join(Assignment, Assignment.book_id == Book.id).where(Assignment.user_id == user.id)
    return q


# --------------------------------------------------------------------------- views

@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("books.index"))
    error = None
    if request.method == "POST":
        cfg = current_app.config
        s = db()
        user, error, status = authenticate(s, request.form.get("name", ""), request.form.get("password", ""),
                                           cfg=cfg, address=request.remote_addr)
        token = (start_session(s, user, request.headers.get("User-Agent"), cfg["MAX_SESSIONS_PER_USER"])
                 if user is not None else None)
        s.commit()
        if user is not None:
            session.clear()  # a fresh session: nothing from before the log-in carries over
            login_user(LoginUser(id=user.id, name=user.name, role=user.role, token=token))
            session.permanent = True
            return redirect(safe_target(request.args.get("next")) or url_for("books.index"))
        return render_template("login.html", error=error), status
    return render_template("login.html", error=error), 200


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    s = db()
    end_sessions(s, token=current_user.token, reason="logout")
    audit.write(s, "logout", actor=current_user.name, target=f"user:{current_user.name}")
    s.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."))
    return redirect(url_for("auth.login"))


ROLE_LABELS = {ROLE_TRANSCRIBER: _l("transcriber"), ROLE_REVIEWER: _l("reviewer"), ROLE_ADMIN: _l("admin")}
