"""Users, passwords, log-in and roles.

* Passwords are hashed with Argon2id (argon2-cffi); a hash made with older parameters is
  renewed at the next successful log-in.
* After ``LOCKOUT_ATTEMPTS`` failed log-ins in a row an account is locked for
  ``LOCKOUT_MINUTES``; an admin can unlock it earlier. A failed log-in for an unknown name
  costs the same time as for a known one.
* Sessions live on the server (``web_sessions``): the signed cookie carries only a random
  token, and the table keeps its SHA-256. A log-in always starts a new session (a cookie
  planted before the log-in is worth nothing after it: no session fixation); a log-out ends
  the session for good, so a copied cookie cannot be replayed; a session idle for
  ``SESSION_IDLE_MINUTES`` or older than ``PERMANENT_SESSION_LIFETIME`` ends; a password
  change, a role change or a deactivation ends every session of that person. Flask-Login's
  "strong" protection also drops a session used from another browser or address.
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
    User,
    WebSession,
)

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to continue."
login_manager.session_protection = "strong"

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


def start_session(session, user: User) -> str:
    """A new server-side session for ``user`` (the caller commits); returns its token."""
    token = secrets.token_urlsafe(32)
    when = _now()
    session.add(WebSession(token_sha256=token_hash(token), user_id=user.id, user_nonce=user.session_nonce,
                           created_at=when, last_seen_at=when))
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
        return {"error": "not logged in"}, 401
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


# --------------------------------------------------------------------------- accounts

def check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 64 or not set(name.lower()) <= NAME_CHARS:
        raise AccountError("a user name is 1-64 letters, digits, '.', '_' or '-'")
    return name


def check_password(password: str, min_length: int) -> None:
    if len(password or "") < min_length:
        raise AccountError(f"a password needs at least {min_length} characters")
    if password.strip() != password:
        raise AccountError("a password may not begin or end with blanks")


def create_user(session, name: str, role: str, password: str, *, actor: str, min_length: int = 10,
                params: dict | None = None) -> User:
    """Add a user (the caller commits); raises AccountError for a bad name, role or password."""
    name = check_name(name)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    check_password(password, min_length)
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise AccountError(f"a user named {name} exists already")
    user = User(name=name, role=role, password_hash=hasher(params).hash(password), active=True, failed_logins=0,
                session_nonce=secrets.token_hex(8), created_at=_now())
    session.add(user)
    session.flush()
    audit.write(session, "user_added", actor=actor, target=f"user:{name}", new={"role": role})
    return user


def set_password(session, user: User, password: str, *, actor: str, min_length: int = 10,
                 params: dict | None = None) -> None:
    check_password(password, min_length)
    user.password_hash = hasher(params).hash(password)
    user.session_nonce = secrets.token_hex(8)  # every earlier session ends
    end_sessions(session, user_id=user.id, reason="password")
    user.failed_logins = 0
    user.locked_until = None
    audit.write(session, "password_set", actor=actor, target=f"user:{user.name}")


def authenticate(session, name: str, password: str, *, attempts: int, minutes: int,
                 params: dict | None = None) -> tuple[User | None, str | None]:
    """(user, None) when the password is right, else (None, reason shown to the person)."""
    ph = hasher(params)
    user = session.scalar(select(User).where(User.name == (name or "").strip()))
    generic = "Wrong user name or password."
    if user is None or not user.active:
        try:  # same work as for a real account, so timing does not tell which names exist
            ph.verify(_dummy_hash(ph), password or "")
        except (VerificationError, InvalidHashError):
            pass
        audit.write(session, "login_failed", actor=(name or "")[:64] or "-", target="unknown or inactive user")
        return None, generic
    locked = _aware(user.locked_until)
    if locked and locked > _now():
        audit.write(session, "login_refused_locked", actor=user.name, target=f"user:{user.name}")
        return None, (f"This account is locked until {locked.astimezone().strftime('%H:%M')} after too many "
                      "failed log-ins. Ask an admin to unlock it.")
    try:
        ph.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        user.failed_logins = (user.failed_logins or 0) + 1
        detail = {"failed_logins": user.failed_logins}
        if user.failed_logins >= attempts:
            user.locked_until = _now() + timedelta(minutes=minutes)
            user.failed_logins = 0
            audit.write(session, "account_locked", actor=user.name, target=f"user:{user.name}",
                        new={"locked_minutes": minutes})
            return None, (f"Too many failed log-ins: the account is locked for {minutes} minutes. "
                          "An admin can unlock it earlier.")
        audit.write(session, "login_failed", actor=user.name, target=f"user:{user.name}", new=detail)
        return None, generic
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = ph.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = _now()
    audit.write(session, "login", actor=user.name, target=f"user:{user.name}")
    return user, None


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
        user, error = authenticate(s, request.form.get("name", ""), request.form.get("password", ""),
                                   attempts=cfg["LOCKOUT_ATTEMPTS"], minutes=cfg["LOCKOUT_MINUTES"],
                                   params=cfg["ARGON2"])
        token = start_session(s, user) if user is not None else None
        s.commit()
        if user is not None:
            session.clear()  # a fresh session: nothing from before the log-in carries over
            login_user(LoginUser(id=user.id, name=user.name, role=user.role, token=token))
            session.permanent = True
            target = request.args.get("next") or ""
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("books.index")
            return redirect(target)
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    s = db()
    end_sessions(s, token=current_user.token, reason="logout")
    audit.write(s, "logout", actor=current_user.name, target=f"user:{current_user.name}")
    s.commit()
    logout_user()
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))


ROLE_LABELS = {ROLE_TRANSCRIBER: "transcriber", ROLE_REVIEWER: "reviewer", ROLE_ADMIN: "admin"}
