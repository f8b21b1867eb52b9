"""The web application's commands: ``serve`` and ``user add``.

``ingest.cli`` adds them with ``register(subparsers)``, which returns the command functions
by name, as ``ingest.cli_store`` does. ``python -m webentry.cli …`` runs them on their own.

Exit codes as for every command: 0 = done; 2 = could not run, with one line on stderr.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

EXIT_OK, EXIT_CANNOT_RUN = 0, 2
WORK_ENV = "MGR_WORK"


class CannotRun(Exception):
    """Shown as one line, exit code 2."""


def _work(args) -> Path:
    return Path(args.work or os.environ.get(WORK_ENV) or "mgr-work")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--work", type=Path, default=None,
                   help=f"work folder shared with the importer (default ./mgr-work, or ${WORK_ENV})")
    p.add_argument("--db", help="database URL (default $MGR_DB_URL, else WORK/mgr.sqlite)")


def register(subparsers) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``serve`` and ``user`` to the ``mgr-ingest`` parser; return them by name."""
    serve = subparsers.add_parser("serve", help="run the web application for transcription staff (waitress)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--threads", type=int, default=8, help="request threads (default 8)")
    serve.add_argument("--secure-cookies", action="store_true",
                       help="send the session cookie over HTTPS only (behind a TLS proxy)")
    serve.add_argument("--ocr", choices=("background", "off"), default="background",
                       help="read uploaded pages with OCR in the background (default) or not at all")
    serve.add_argument("--proxy", action="store_true",
                       help="a reverse proxy (nginx, Apache) is in front: trust the client address it puts in "
                            "X-Forwarded-For (one hop). Without it that header is ignored")
    _common(serve)

    user = subparsers.add_parser("user", help="manage web users: mgr-ingest user add|passwd|unlock NAME")
    sub = user.add_subparsers(dest="user_command", required=True)
    add = sub.add_parser("add", help="add a user (asks for the password unless --password-file is given)")
    add.add_argument("name", help="the user name to log in with")
    add.add_argument("--role", required=True, choices=("admin", "reviewer", "transcriber"),
                     help="transcriber: keys the books assigned to them; reviewer: every book, approves "
                          "books and works the QA queue; admin: everything, users and books too")
    add.add_argument("--password-file", type=Path,
                     help="read the password from the first line of this file (for scripts)")
    _common(add)
    pw = sub.add_parser("passwd", help="set a user's password (ends their sessions and clears the log-in delay)")
    pw.add_argument("name", help="the user whose password is set")
    pw.add_argument("--password-file", type=Path,
                    help="read the password from the first line of this file (for scripts)")
    _common(pw)
    unlock = sub.add_parser("unlock", help="clear the log-in delay that failed attempts put on a user's name")
    unlock.add_argument("name", help="the user to unlock")
    _common(unlock)
    return {"serve": _one_line(cmd_serve), "user": _one_line(cmd_user)}


def _one_line(command):
    def run(args) -> int:
        from ingest.store import StoreError

        try:
            return command(args)
        except (CannotRun, StoreError) as exc:
            print(f"mgr-ingest: {exc}", file=sys.stderr)
            return EXIT_CANNOT_RUN
    run.__name__ = command.__name__
    run.__doc__ = command.__doc__
    return run


def _read_password(args) -> str:
    if args.password_file is not None:
        try:
            text = args.password_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise CannotRun(f"cannot read {args.password_file}: {exc.strerror or exc}") from None
        lines = text.splitlines()
        if not lines or not lines[0]:
            raise CannotRun(f"{args.password_file} is empty: its first line must be the password")
        return lines[0]
    if not sys.stdin.isatty():
        raise CannotRun("no terminal to ask for the password: give --password-file FILE")
    first = getpass.getpass(f"Password for {args.name}: ")
    again = getpass.getpass("The same password again: ")
    if first != again:
        raise CannotRun("the two passwords differ; nothing was changed")
    return first


def cmd_user(args) -> int:
    """``user add NAME --role ROLE``: create a user with an Argon2-hashed password;
    ``user passwd NAME``: set a new password; ``user unlock NAME``: clear the log-in delay."""
    from sqlalchemy.orm import Session

    from webentry.auth import AccountError, create_user, find_user, forget_failures, set_password
    from webentry.config import DEFAULTS
    from webentry.db import open_web_store

    if args.user_command not in ("add", "passwd", "unlock"):
        raise CannotRun(f"unknown user command {args.user_command}")
    password = _read_password(args) if args.user_command in ("add", "passwd") else None
    actor = f"cli:{getpass.getuser()}"
    store = open_web_store(_work(args), args.db)
    try:
        with Session(store.engine) as s:
            try:
                if args.user_command == "add":
                    create_user(s, args.name, args.role, password, actor=actor,
                                min_length=DEFAULTS["PASSWORD_MIN_LENGTH"])
                    said = f"user {args.name} added with role {args.role}"
                else:
                    user = find_user(s, args.name)
                    if user is None:
                        raise CannotRun(f"there is no user named {args.name}")
                    if args.user_command == "passwd":
                        set_password(s, user, password, actor=actor, min_length=DEFAULTS["PASSWORD_MIN_LENGTH"])
                        forget_failures(s, user.name)
                        said = f"password of {user.name} set; their open sessions have ended"
                    else:
                        user.locked_until = None
                        user.failed_logins = 0
                        cleared = forget_failures(s, user.name)
                        from webentry import audit

                        audit.write(s, "user_unlocked", actor=actor, target=f"user:{user.name}")
                        said = (f"{user.name} may log in again at once" if cleared
                                else f"{user.name} had no log-in delay")
            except AccountError as exc:
                raise CannotRun(str(exc)) from None
            s.commit()
    finally:
        store.close()
    print(said)
    return EXIT_OK


def cmd_serve(args) -> int:
    """``serve``: the web application on HOST:PORT, served by waitress."""
    import logging

    from waitress import serve

    from webentry.app import OSD_FILE, create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app({"WORK": str(_work(args)), "DB": args.db, "SESSION_COOKIE_SECURE": args.secure_cookies,
                      "OCR_MODE": args.ocr})
    if args.proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=0, x_prefix=0)
    if not OSD_FILE.exists():
        print("mgr-ingest: the scan viewer is not installed; run: bash webentry/assets/build.sh", file=sys.stderr)
    from sqlalchemy import func, select

    from webentry.models import User

    with app.extensions["mgr_sessions"]() as s:
        if not s.scalar(select(func.count()).select_from(User)):
            print("mgr-ingest: no users yet; create the first admin with: "
                  "mgr-ingest user add NAME --role admin", file=sys.stderr)
    print(f"serving on http://{args.host}:{args.port}/ (Ctrl-C stops)", file=sys.stderr)
    try:
        serve(app, host=args.host, port=args.port, threads=args.threads, ident="mgr-ingest",
              max_request_body_size=app.config["MAX_CONTENT_LENGTH"])
    except OSError as exc:
        raise CannotRun(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mgr-ingest")
    commands = register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
