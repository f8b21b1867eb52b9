"""Shared helpers of the browser tests: Debian's Chromium driven by Playwright for Python
(never a downloaded browser), the application served by waitress on a free port in a
thread, and the keyboard helpers a transcriber's typing is written with."""

from __future__ import annotations

import re
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery"
# axe-core, installed from the npm registry with the viewer (webentry/assets, package-lock.json)
AXE = Path(__file__).resolve().parents[2] / "webentry" / "assets" / "node_modules" / "axe-core" / "axe.min.js"


def need_browser():
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install playwright; never `playwright install`)")
    if shutil.which("tesseract") is None:
        missing.append("tesseract (apt-get install -y tesseract-ocr tesseract-ocr-dan)")
    if missing:
        if __import__("conftest").in_ci():
            pytest.fail("browser tests cannot run in CI: missing " + ", ".join(missing))
        pytest.skip("browser tests need " + ", ".join(missing))


def launch_browser():
    need_browser()
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def new_page(browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page, errors


def browser_login(page, base, name):
    page.goto(base + "/login")
    page.focus("#name")  # autofocus, made sure of
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/books$"))


def js_value(page, expression: str):
    from playwright.sync_api import Error

    try:
        return page.evaluate(expression)
    except Error:  # the page is being replaced by the next one
        return None


def wait_js(page, expression: str, timeout: float = 15.0):
    """Poll a JavaScript expression from Python (page.wait_for_function would evaluate it with
    eval, which the application's Content-Security-Policy rightly forbids)."""

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if js_value(page, expression):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"still false after {timeout} s: {expression}")


def wait_ready(page):
    page.wait_for_selector("body[data-ready=yes]")


def type_tab(page, text):
    page.keyboard.type(text)
    page.keyboard.press("Tab")


def save_and_wait(page, key: str = "Enter"):
    """Press Enter and wait for the next record's screen. A warning the server had not shown
    yet stops the first Enter (it is shown then); a second Enter saves."""
    origin = page.evaluate("performance.timeOrigin")
    page.keyboard.press(key)
    again = True

    end = time.monotonic() + 15
    while time.monotonic() < end:
        if js_value(page, f"performance.timeOrigin !== {origin} && document.body.dataset.ready === 'yes'"):
            return
        if again and js_value(page, "document.getElementById('save-status').className.includes('warn')"):
            again = False
            page.keyboard.press("Enter")
        page.wait_for_timeout(50)
    raise AssertionError("the record was not saved: " + str(js_value(page, "document.getElementById('save-status').textContent")))




@contextmanager
def serve(app):
    """The application served by waitress on 127.0.0.1 on a free port, in a thread."""
    from waitress.server import create_server

    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.effective_port}"
    finally:
        def close_all():  # from inside waitress's loop, so the loop ends on its own
            for channel in list(srv._map.values()):
                channel.close()

        srv.trigger.pull_trigger(close_all)
        thread.join(10)


def need_axe():
    if AXE.exists():
        return
    message = f"{AXE} is missing (bash webentry/assets/build.sh installs it from the npm registry)"
    if __import__("conftest").in_ci():
        pytest.fail("the accessibility tests cannot run in CI: " + message)
    pytest.skip(message)


def axe_violations(page) -> list[dict]:
    """axe-core run in the page as it stands; the violations, each with its impact, rule and nodes."""
    if not js_value(page, "typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate("""() => axe.run(document, {resultTypes: ['violations']}).then(r =>
        r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)})))""")
