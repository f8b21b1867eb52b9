"""Settings of the web application, with the defaults a single-machine install wants.

``create_app(config)`` takes a dict; any key here can be given. ``WORK`` (the work folder
the importer uses too) and ``DB`` (a database URL, default ``WORK/mgr.sqlite`` or
``$MGR_DB_URL``) say where the data is.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

SECRET_ENV = "MGR_WEB_SECRET_KEY"
SECRET_FILE = "web-secret.key"

DEFAULTS: dict = {
    "WORK": "mgr-work",
    "DB": None,
    # Log-in and sessions.
    # Failed log-ins slow the next attempt down (webentry.auth): free attempts per typed name
    # and per client address, then 1, 2, 4 … seconds up to the cap; forgotten after the window.
    "THROTTLE_FREE_PER_NAME": 3,
    "THROTTLE_FREE_PER_ADDRESS": 10,
    "THROTTLE_MAX_SECONDS": 30,
    "THROTTLE_WINDOW_MINUTES": 15,
    "MAX_SESSIONS_PER_USER": 5,  # a new log-in beyond this ends the person's oldest session
    "PASSWORD_MIN_LENGTH": 10,
    "ARGON2": {},  # argon2.PasswordHasher parameters; tests make it cheaper
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=10),  # one working day, then log in again
    "SESSION_IDLE_MINUTES": 60,  # a session not used for this long ends (drafts are kept)
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,  # set True behind HTTPS (serve --secure-cookies)
    "SESSION_COOKIE_NAME": "mgr_session",
    "REMEMBER_COOKIE_DURATION": timedelta(0),
    # CSRF tokens live as long as the session: a transcriber keys for hours without reloading.
    "WTF_CSRF_TIME_LIMIT": None,
    "WTF_CSRF_SSL_STRICT": True,
    # Uploads: a scanned page is a few MB; a book's batch a few hundred MB at most.
    "MAX_CONTENT_LENGTH": 512 * 1024 * 1024,  # the scan upload only (webentry.guard)
    "BODY_MAX_BYTES": 1024 * 1024,  # every other request
    "MAX_SCAN_BYTES": 80 * 1024 * 1024,
    "MAX_SCAN_PIXELS": 120_000_000,  # per page: 40,000 x 40,000 is refused; a 600 dpi folio is ~60 MP
    "MAX_SCAN_FRAMES": 50,  # pages in one multi-page TIFF file
    "MAX_UPLOAD_PIXELS": 1_500_000_000,  # all pages of one upload together (25 folios at 600 dpi)
    "VIEW_MAX_SIDE": 6000,  # longest side of the image the browser is given (TIFF is converted)
    "THUMB_SIDE": 240,
    # OCR of uploaded pages: "background" (a worker thread), "sync" (during the upload
    # request; tests) or "off".
    "OCR_MODE": "background",
    # Autocomplete: how long a field's list of known spellings is kept before it is re-read.
    "SUGGEST_CACHE_SECONDS": 600,
    "SUGGEST_WARM_UP": True,  # read the autocomplete lists in the background at start
    "SECTION_ROWS_MAX": 1500,  # neighbours a cross-record check reads at most
}


def secret_key(work: Path) -> str:
    """The session signing key: ``$MGR_WEB_SECRET_KEY``, else a random key kept in the work
    folder (readable by its owner only), so sessions survive a restart."""
    from_env = os.environ.get(SECRET_ENV)
    if from_env:
        return from_env
    path = work / SECRET_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    work.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key.encode("ascii"))
    finally:
        os.close(fd)
    return key
