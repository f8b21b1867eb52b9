"""Check latency as the browser sees it: the entry screen in headless Chromium, keyed at a
person's pace, on a book of ``--records`` records.

    python benchmarks/bench_web_browser.py [--rounds 100] [--records 5000]

Serves the application with waitress on 127.0.0.1 (a free port, in a thread), logs in as a
transcriber in Debian's Chromium (Playwright for Python, never a downloaded browser), opens a
new record and, ``--rounds`` times, types a value into a field (or empties it again) and
leaves it with Tab, then waits for the screen's two checks to answer: the field check (sent on leaving the field) and
the whole-record check with the book section (sent 0.3 s later). Each request is timed by
the browser itself (Playwright's request timing: from the start of the request to the last
byte of the answer), so the figures include the browser's own networking, unlike
``bench_web.py``, which times the endpoints over plain HTTP. Prints p50/p95/max in ms.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_web import FIELD_MIX, PASSWORD, build, line, stop_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--records", type=int, default=5000)
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright
    from waitress.server import create_server

    timings: dict[str, list[float]] = {"field": [], "record": []}

    def finished(request):
        path = request.url.split("?")[0]
        kind = "field" if path.endswith("/check/field") else "record" if path.endswith("/check/record") else None
        if kind and request.timing.get("responseEnd", -1) > 0:
            timings[kind].append(request.timing["responseEnd"])

    with tempfile.TemporaryDirectory(prefix="mgr-bench-browser-") as tmp:
        app, book = build(Path(tmp) / "work", args.records)
        srv = create_server(app, host="127.0.0.1", port=0, threads=4)
        serving = threading.Thread(target=srv.run, daemon=True)
        serving.start()
        base = f"http://127.0.0.1:{srv.effective_port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(base + "/login")
            page.focus("#name")
            page.keyboard.type("bench")
            page.keyboard.press("Tab")
            page.keyboard.type(PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r".*/books$"))
            page.goto(f"{base}/books/{book}/entry?r=new")
            page.wait_for_selector("body[data-ready=yes]")
            page.on("requestfinished", finished)
            for i in range(args.rounds + 5):
                if i == 5:  # warmed up
                    timings["field"].clear()
                    timings["record"].clear()
                # a value typed, then (every other round) the field emptied again, so that each
                # round changes the field and both checks run
                name, value = FIELD_MIX[(i // 2) % len(FIELD_MIX)]
                fields, records = len(timings["field"]) + 1, len(timings["record"]) + 1
                page.focus(f"#f-{name}")
                page.keyboard.press("Control+a")
                if i % 2 == 0:
                    page.keyboard.type(value)
                else:
                    page.keyboard.press("Backspace")
                page.keyboard.press("Tab")
                end = time.monotonic() + 15
                while (len(timings["field"]) < fields or len(timings["record"]) < records) and time.monotonic() < end:
                    page.wait_for_timeout(10)
            browser.close()
        stop_server(srv, serving)
        app.extensions["mgr_store"].close()
    print(f"book of {args.records:,} records, {args.rounds} rounds, Chromium {CHROMIUM}")
    print(line("field check as the browser saw it", timings["field"]))
    print(line("record + section check as the browser saw it", timings["record"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
