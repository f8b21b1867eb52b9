"""Checks every request passes before any view runs.

* Body size: ``BODY_MAX_BYTES`` (1 MB) for every route but the scan upload, which keeps
  ``MAX_CONTENT_LENGTH``; so nobody sends hundreds of megabytes to ``/login``. The upload
  route needs an admin and reads its body only after the log-in check.
* NUL characters: a query, form or JSON value (or key) holding one is refused with 400.
  PostgreSQL cannot store them in text, and no transcription holds one.
* JSON nesting: a body nested deeper than ``JSON_MAX_DEPTH`` is refused with 400 before it
  is parsed (Python's parser would recurse until it fails).
"""

from __future__ import annotations

import re

from flask import abort, current_app, jsonify, make_response, request
from flask_babel import gettext as _

UPLOAD_ENDPOINTS = {"books.upload"}
JSON_MAX_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings skipped)."""
    depth = deepest = 0
    for ch in _BRACKETS.findall(_STRING.sub(b'""', raw)):
        if ch in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _refuse(message: str):
    if request.path.startswith("/api/") or request.is_json:
        abort(make_response(jsonify(error=message), 400))
    abort(400, description=message)


def _has_nul(pairs) -> bool:
    return any("\x00" in k or "\x00" in v for k, v in pairs)


def check_request() -> None:
    if request.endpoint not in UPLOAD_ENDPOINTS:
        request.max_content_length = current_app.config["BODY_MAX_BYTES"]
        if (request.content_length or 0) > current_app.config["BODY_MAX_BYTES"]:
            abort(413)
    if _has_nul(request.args.items(multi=True)) or "\x00" in request.path:
        _refuse(_("a value in the address holds a NUL character"))
    if request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint in UPLOAD_ENDPOINTS:
        return
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if _has_nul(request.form.items(multi=True)):
            _refuse(_("a form value holds a NUL character"))
    elif request.is_json:
        raw = request.get_data(cache=True)
        if json_depth(raw) > JSON_MAX_DEPTH:
            _refuse(_("the JSON body is nested deeper than %(n)s levels", n=JSON_MAX_DEPTH))
        if b"\\u0000" in raw.lower() or b"\x00" in raw:
            _refuse(_("a JSON value holds a NUL character"))
