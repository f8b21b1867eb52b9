"""Admin pages: users, the imports overview and the audit log."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ingest.store.audit import as_utc
from ingest.store.models import audit_log, runs
from ingest.store.status import by_status, overview
from webentry import audit
from webentry.api_schema import small_int
from webentry.auth import (
    AccountError,
    admin_required,
    create_user,
    end_sessions,
    forget_failures,
    is_slowed,
    set_password,
)
from webentry.db import db
from webentry.models import ROLES, RecordVersion, User, WebSession

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def users():
    s = db()
    cfg = current_app.config
    if request.method == "POST":
        try:
            create_user(s, request.form.get("name", ""), request.form.get("role", ""), request.form.get("password", ""),
                        actor=current_user.name, min_length=cfg["PASSWORD_MIN_LENGTH"], params=cfg["ARGON2"])
            s.commit()
            flash(_("User %(name)s added.", name=request.form.get("name", "").strip()))
        except AccountError as exc:
            s.rollback()
            flash(str(exc), "error")
        return redirect(url_for("admin.users"))
    people = list(s.scalars(select(User).order_by(User.name)))
    open_sessions = dict(s.execute(select(WebSession.user_id, func.count()).where(WebSession.ended_at.is_(None))
                                   .group_by(WebSession.user_id)).all())
    slowed = {u.id for u in people if is_slowed(s, u.name)}
    return render_template("admin_users.html", users=people, roles=ROLES, now=_now(), open_sessions=open_sessions,
                           slowed=slowed)


@bp.route("/users/<id:user_id>", methods=["POST"])
@admin_required
def change_user(user_id: int):
    s = db()
    cfg = current_app.config
    user = s.get(User, user_id)
    if user is None:
        abort(404)
    action = request.form.get("action")
    try:
        if action == "role":
            role = request.form.get("role", "")
            if role not in ROLES:
                raise AccountError(_("unknown role"))
            if user.id == current_user.id and role != user.role:
                raise AccountError(_("you cannot change your own role"))
            old = user.role
            user.role = role
            user.session_nonce = secrets.token_hex(8)
            end_sessions(s, user_id=user.id, reason="admin")
            audit.write(s, "user_role_changed", actor=current_user.name, target=f"user:{user.name}",
                        old={"role": old}, new={"role": role})
        elif action == "unlock":
            user.locked_until = None
            user.failed_logins = 0
            forget_failures(s, user.name)
            audit.write(s, "user_unlocked", actor=current_user.name, target=f"user:{user.name}")
        elif action in ("deactivate", "activate"):
            if user.id == current_user.id:
                raise AccountError(_("you cannot deactivate yourself"))
            user.active = action == "activate"
            user.session_nonce = secrets.token_hex(8)
            end_sessions(s, user_id=user.id, reason="admin")
            audit.write(s, f"user_{action}d", actor=current_user.name, target=f"user:{user.name}",
                        old={"active": not user.active}, new={"active": user.active})
        elif action == "sessions":
            if user.id == current_user.id:
                raise AccountError(_("log out to end your own session"))
            ended = end_sessions(s, user_id=user.id, reason="admin")
            audit.write(s, "user_sessions_ended", actor=current_user.name, target=f"user:{user.name}",
                        new={"sessions": ended})
        elif action == "password":
            set_password(s, user, request.form.get("password", ""), actor=current_user.name,
                         min_length=cfg["PASSWORD_MIN_LENGTH"], params=cfg["ARGON2"])
        else:
            abort(400)
        s.commit()
        flash(_("%(name)s: done.", name=user.name))
    except AccountError as exc:
        s.rollback()
        flash(str(exc), "error")
    return redirect(url_for("admin.users"))


def quarantined(work: Path) -> list[dict]:
    """The quarantine folder: one entry per folder, with its files and the reasons given."""
    root = Path(work) / "quarantine"
    out = []
    if not root.is_dir():
        return out
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), reverse=True):
        files, reasons = [], []
        for f in sorted(folder.iterdir()):
            if f.name.endswith(".reason.txt"):
                try:
                    reasons.append(f.read_text(encoding="utf-8", errors="replace").strip()[:2000])
                except OSError:
                    reasons.append(_("(reason file unreadable)"))
            elif f.is_file():
                files.append({"name": f.name, "size": f.stat().st_size})
        out.append({"folder": folder.name, "files": files, "reasons": reasons})
    return out


@bp.route("/imports")
@admin_required
def imports():
    store = current_app.extensions["mgr_store"]
    rows = overview(store)
    totals = by_status(rows)
    with store.reading() as conn:
        recent = list(conn.execute(select(runs).order_by(runs.c.id.desc()).limit(20)))
    return render_template("admin_imports.html", rows=rows, totals=totals, runs=recent,
                           quarantine=quarantined(store.work), as_utc=as_utc)


@bp.route("/audit")
@admin_required
def audit_view():
    s = db()
    before = small_int(request.args.get("before"))
    q = select(audit_log).order_by(audit_log.c.id.desc()).limit(200)
    if before is not None:
        q = q.where(audit_log.c.id < before)
    entries = []
    for e in s.execute(q):
        detail = e.detail if isinstance(e.detail, dict) or e.detail is None else json.loads(e.detail)
        entries.append({"id": e.id, "at": as_utc(e.at), "actor": e.actor, "action": e.action,
                        "entry_number": e.entry_number, "detail": detail or {}})
    return render_template("admin_audit.html", entries=entries)


@bp.route("/audit/record/<entry_number>/<id:loebe_nr>")
@admin_required
def record_history(entry_number: str, loebe_nr: int):
    """Every saved version of one keyed record: the old and new values of each change."""
    from webentry.models import Book, Record

    s = db()
    book = s.scalar(select(Book).where(Book.entry_number == entry_number))
    if book is None:
        abort(404)
    rec = s.scalar(select(Record).where(Record.book_id == book.id, Record.loebe_nr == loebe_nr))
    if rec is None:
        abort(404)
    versions = list(s.scalars(select(RecordVersion).where(RecordVersion.record_id == rec.id)
                              .order_by(RecordVersion.version)))
    changes = []
    previous: dict = {}
    for v in versions:
        diff = [(k, previous.get(k, ""), v.fields.get(k, "")) for k in sorted(set(previous) | set(v.fields))
                if previous.get(k, "") != v.fields.get(k, "")]
        changes.append({"version": v.version, "by": v.saved_by, "at": as_utc(v.saved_at), "diff": diff})
        previous = v.fields
    return render_template("admin_record_history.html", book=book, record=rec, changes=changes)


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)
