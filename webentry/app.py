"""The Flask application: ``create_app(config)``.

One application object per process; it opens the store (and the web tables) of the
configured work folder and database when it is made. Every page and JSON endpoint needs a
log-in; every form and JSON write needs the CSRF token (forms carry it in a hidden field,
the browser code sends it in the ``X-CSRFToken`` header).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.routing import IntegerConverter

from webentry.api_schema import INT_MAX
from webentry.config import DEFAULTS, secret_key

csrf = CSRFProtect()


class IdConverter(IntegerConverter):
    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, *args, max=INT_MAX, **kwargs)

STATIC = Path(__file__).resolve().parent / "static"
OSD_FILE = STATIC / "vendor" / "openseadragon" / "openseadragon.min.js"

# No inline script or style anywhere: everything the pages run comes from /static. The one
# exception is a fixed <style> element OpenSeadragon adds (a focus rule for touch screens),
# allowed by its hash only.
OSD_STYLE_HASH = "'sha256-9xTiqzfwFaL2SGb1rmr8gysEwVVjIvqWAgmZgqFqpEE='"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' " + OSD_STYLE_HASH + "; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


def _security_headers(response):
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    h.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    if not request.path.startswith("/static/"):
        # Pages, JSON and scan images hold person data: never kept in a shared cache or the
        # browser's. Only the static assets (script, style, viewer) are cached.
        h["Cache-Control"] = "no-store"
    return response


def create_app(config: dict | None = None) -> Flask:
    """Make the application. ``config`` overrides ``webentry.config.DEFAULTS`` (``WORK``,
    ``DB``, ``SECRET_KEY``, ``OCR_MODE`` …); ``TESTING`` is passed on to Flask."""
    from webentry import admin, auth, books, entry, i18n, keying, qa, review
    from webentry.db import close_request_session, open_web_store, reading_factory, session_factory
    from webentry.scans import OcrWorker

    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    # The work folder as an absolute path before anything uses it: Flask's send_file reads a
    # relative path against the package folder, not the folder the server was started in.
    work = Path(app.config["WORK"]).expanduser().absolute()
    store = app.config.get("STORE") or open_web_store(work, app.config.get("DB"))
    app.config["WORK"] = store.work
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(store.work)
    sessions = session_factory(store)
    app.extensions["mgr_store"] = store
    app.extensions["mgr_sessions"] = sessions
    app.extensions["mgr_reading"] = reading_factory(store)
    app.extensions["mgr_ocr"] = OcrWorker(sessions, store.work)
    app.teardown_appcontext(close_request_session)
    if app.config.get("SUGGEST_WARM_UP", True):
        from webentry.suggest import warm_up

        warm_up(app.extensions["mgr_reading"])

    # <id:…> in a route: a database id or number, 0 to 2,147,483,647 (32-bit columns); larger
    # numbers are no match (404) rather than an overflow in the database.
    app.url_map.converters["id"] = IdConverter
    # First of all before-request hooks: the size, NUL and nesting checks (webentry.guard)
    # run before the CSRF check reads a form.
    from webentry.guard import check_request

    app.before_request(check_request)
    csrf.init_app(app)
    i18n.init_app(app)
    auth.login_manager.init_app(app)
    for module in (auth, books, entry, qa, admin, review, keying):
        app.register_blueprint(module.bp)
    app.after_request(_security_headers)

    @app.context_processor
    def _globals():
        return {"viewer_available": OSD_FILE.exists(), "review_labels": review.LABELS,
                "role_labels": auth.ROLE_LABELS}

    @app.route("/")
    @login_required
    def home():
        return redirect(url_for("books.index"))

    @app.route("/healthz")
    def healthz():
        return {"ok": True}

    @app.route("/api/openapi.json")
    @login_required
    def openapi_json():
        from webentry.api_schema import openapi

        return openapi()

    def _wants_json() -> bool:
        return request.path.startswith("/api/") or request.is_json

    @app.errorhandler(CSRFError)
    def _csrf_error(exc):
        if _wants_json():
            return jsonify(error=_("missing or wrong CSRF token: reload the page")), 400
        return render_template("error.html", code=400, message=_("The form had expired or was not sent by this "
                               "application (CSRF check). Go back, reload the page and try again.")), 400

    for code, message in ((400, _l("The request was not understood.")),
                          (403, _l("You do not have access to this page.")), (404, _l("There is nothing here.")),
                          (413, _l("The upload or request is too large.")), (405, _l("That is not allowed here."))):
        def handler(exc, code=code, message=message):
            if _wants_json():
                return jsonify(error=str(message)), code
            return render_template("error.html", code=code, message=message), code
        app.register_error_handler(code, handler)

    @app.errorhandler(500)
    def _internal(exc):
        app.logger.error("internal error on %s", request.path)
        if _wants_json():
            return jsonify(error=_("internal error; the work was not saved, try again")), 500
        return render_template("error.html", code=500, message=_("Something went wrong on the server.")), 500

    return app
