"""``mgr-ingest serve`` started exactly as docs/web.md says: from a folder of its own, with
the default work folder (``./mgr-work``, a relative path), as a real process on a free port.
An admin logs in through HTTP in Chromium, registers a book, uploads a scan, and sees it:
the thumbnail on the book page and the scan in the entry screen's viewer load as images."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser_support import browser_login as login_as
from browser_support import launch_browser, need_browser, new_page, wait_js, wait_ready
from web_support import PASSWORD, SCANS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    yield from launch_browser()


@pytest.fixture()
def served(tmp_path):
    need_browser()
    folder = tmp_path / "office"
    folder.mkdir()
    env = dict(os.environ)
    env.pop("MGR_WORK", None)
    env.pop("MGR_DB_URL", None)
    (folder / "pw.txt").write_text(PASSWORD + "\n", encoding="utf-8")
    exe = [sys.executable, "-m", "ingest.cli"]
    add = subprocess.run([*exe, "user", "add", "anna", "--role", "admin", "--password-file", "pw.txt"],
                         cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert add.returncode == 0, add.stderr
    assert (folder / "mgr-work" / "mgr.sqlite").is_file()  # the default work folder, relative to here
    port = _free_port()
    proc = subprocess.Popen([*exe, "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("mgr-ingest serve stopped: " + proc.stdout.read())
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("mgr-ingest serve did not listen within 60 s")
    yield {"url": base, "folder": folder}
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_serve_as_documented_shows_the_scan(served, browser):
    base = served["url"]
    page, errors = new_page(browser)
    login_as(page, base, "anna")
    # Danish, with no build step: the catalogues are compiled when the server starts
    assert page.get_attribute("html", "lang") == "da" and page.inner_text("h1") == "Bøger"
    page.goto(base + "/books/new")
    page.fill("input[name=entry_number]", "K2697")
    page.fill("input[name=title]", "Vejby KB 1921-1925")
    page.fill("input[name=parish]", "Vejby")
    page.fill("input[name=from_year]", "1921")
    page.fill("input[name=to_year]", "1925")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r".*/books/\d+$"))
    book_url = page.url
    page.set_input_files("input[type=file][name=pages]", str(SCANS / "kbf_clean_p0037.jpg"))
    page.click("form[enctype='multipart/form-data'] button[type=submit]")
    page.wait_for_selector("ol.thumbs img")
    thumb = page.locator("ol.thumbs img").first
    src = thumb.get_attribute("src")
    response = page.request.get(base + src)
    assert response.status == 200, response.status
    assert response.headers["content-type"].startswith("image/")
    assert response.headers["cache-control"] == "no-store"
    wait_js(page, "(function(){const i=document.querySelector('ol.thumbs img');"
                  "return i && i.complete && i.naturalWidth > 0;})()")

    # The entry screen's viewer opens the scan (no "Unable to open" message).
    page.goto(book_url + "/entry?r=new")
    wait_ready(page)
    page.wait_for_selector("#viewer canvas, #viewer img")
    page.wait_for_timeout(500)
    assert "Unable to open" not in page.inner_text("#viewer")
    view = page.request.get(base + src.replace("/thumb", "/view"))
    assert view.status == 200 and view.headers["content-type"].startswith("image/")
    assert not [e for e in errors if "Uncaught" in e or "500" in e], errors
    assert Path(served["folder"], "mgr-work", "scans").is_dir()
    page.context.close()
