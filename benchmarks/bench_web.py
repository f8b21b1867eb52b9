"""Latency of the web application's entry screen, measured over HTTP on this machine.

    python benchmarks/bench_web.py [--calls 1000] [--records 5000]

Serves the application with waitress on 127.0.0.1 (a free port, in a thread), logs in as a
transcriber and measures:

* the field check (``POST /api/books/<id>/check/field``, what runs each time a field is
  left) over ``--calls`` calls with a mix of fields and values, good and bad;
* the whole-record check with the book section (``POST /api/books/<id>/check/record``,
  gaps, repeats, duplicates), over a tenth as many calls;
* opening the entry screen (``GET /books/<id>/entry``) of a book of ``--records`` records,
  for a new record and for one in the middle of the book.

Prints p50/p95/max in milliseconds. Target: field check p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PASSWORD = "benchmark password"
FIELD_MIX = [
    ("FOEDSELSDATO", "19210515"), ("FOEDSELSDATO", "15.5.21"), ("FOEDSELSDATO", "19210231"),
    ("KILDE_LOEBE_NR", "17"), ("KILDE_LOEBE_NR", "17a"), ("KILDE_SIDE", "12"), ("KALENDERAAR", "1921"),
    ("FORNAVN", "Valdemar"), ("EFTERNAVN", "Aagaard"), ("KOEN", "M"), ("KOEN", "dreng"), ("MODERS_ALDER", "28 Aar"),
    ("FOEDESTED", "Vejby"), ("FADERS_FOEDSELSDAG", "1890????"), ("MODERS_FORNAVN", "Ane Marie"),
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def line(name: str, ms: list[float]) -> str:
    return (f"{name:<46} n={len(ms):>5}  p50={statistics.median(ms):7.1f} ms  p95={percentile(ms, 95):7.1f} ms  "
            f"max={max(ms):7.1f} ms")


def build(work: Path, records: int):
    from sqlalchemy import insert

    from webentry import create_app
    from webentry.auth import create_user
    from webentry.models import Assignment, Book, Record, User

    app = create_app({"WORK": str(work), "SECRET_KEY": "bench", "OCR_MODE": "off"})
    sessions = app.extensions["mgr_sessions"]
    first = ["Hans", "Niels", "Jens", "Peter", "Anders", "Karl", "Poul", "Erik", "Ane", "Marie", "Karen", "Ellen"]
    last = ["Jensen", "Hansen", "Larsen", "Madsen", "Olsen", "Berg", "Holm", "Krog", "Lund"]
    now = datetime.now(UTC)
    with sessions() as s:
        create_user(s, "bench", "transcriber", PASSWORD, actor="bench")
        book = Book(entry_number="K4000", source="KBF", title="Benchby KB 1921-1930", parish="Benchby",
                    from_year=1921, to_year=1930, page_capacity=20, created_by="bench", created_at=now)
        s.add(book)
        s.flush()
        s.add(Assignment(book_id=book.id, user_id=s.query(User.id).filter(User.name == "bench").scalar()))
        rows = []
        per_section = records // 20  # 10 years x 2 sexes
        for i in range(records):
            section, pos = divmod(i, per_section)
            year, sex = 1921 + section // 2, "MK"[section % 2]
            fields = {"KILDE_SIDE": str(1 + i // 20), "KILDE_LOEBE_NR": str(pos + 1), "KALENDERAAR": str(year),
                      "FOEDSELSDATO": f"{year}{1 + pos % 12:02d}{1 + pos % 28:02d}", "FOEDESTED": "Benchby",
                      "FORNAVN": first[i % len(first)], "EFTERNAVN": last[i % len(last)], "KOEN": sex,
                      "MODERS_FORNAVN": "Ane", "MODERS_EFTERNAVN": last[(i + 3) % len(last)], "MODERS_ALDER": "28"}
            rows.append({"book_id": book.id, "loebe_nr": i + 1, "page_seq": None, "fields": fields,
                         "provenance": {k: {"how": "typed"} for k in fields}, "notes": {}, "version": 1,
                         "created_by": "bench", "created_at": now, "updated_by": "bench", "updated_at": now})
        for start in range(0, len(rows), 1000):
            s.execute(insert(Record), rows[start:start + 1000])
        s.commit()
        return app, book.id


class Client:
    """Keep-alive HTTP with the session cookie and the CSRF token, like the browser."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""
        self.token = ""

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        h = {"Cookie": self.cookie} if self.cookie else {}
        h.update(headers or {})
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                self.cookie = v.split(";", 1)[0]
        return r.status, data

    def login(self):
        _, html = self.request("GET", "/login")
        self.token = re.search(rb'name="csrf-token" content="([^"]+)"', html).group(1).decode()
        from urllib.parse import urlencode

        body = urlencode({"name": "bench", "password": PASSWORD, "csrf_token": self.token}).encode()
        status, _ = self.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302, status
        _, html = self.request("GET", "/books")
        self.token = re.search(rb'name="csrf-token" content="([^"]+)"', html).group(1).decode()

    def post_json(self, path: str, payload: dict):
        return self.request("POST", path, json.dumps(payload).encode(),
                            {"Content-Type": "application/json", "X-CSRFToken": self.token})


def timed(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


def stop_server(srv, thread) -> None:
    """Close every channel from inside waitress's own loop, so the loop ends on its own
    (closing the server from this thread leaves the loop writing to a closed trigger)."""

    def close_all():
        for channel in list(srv._map.values()):
            channel.close()

    srv.trigger.pull_trigger(close_all)
    thread.join(10)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--records", type=int, default=5000)
    args = ap.parse_args(argv)
    from waitress.server import create_server

    with tempfile.TemporaryDirectory(prefix="mgr-bench-web-") as tmp:
        t0 = time.perf_counter()
        app, book = build(Path(tmp) / "work", args.records)
        print(f"book of {args.records:,} records built in {time.perf_counter() - t0:.1f} s")
        srv = create_server(app, host="127.0.0.1", port=0, threads=4)
        serving = threading.Thread(target=srv.run, daemon=True)
        serving.start()
        c = Client(srv.effective_port)
        c.login()

        def field(i):
            name, value = FIELD_MIX[i % len(FIELD_MIX)]
            status, _ = c.post_json(f"/api/books/{book}/check/field", {"field": name, "value": value})
            assert status == 200, status

        timed(field, 20)  # warm up
        field_ms = timed(field, args.calls)

        middle = args.records // 2
        candidate = {"KILDE_SIDE": "126", "KILDE_LOEBE_NR": "252", "KALENDERAAR": "1927", "FOEDSELSDATO": "19270505",
                     "FORNAVN": "Valdemar", "EFTERNAVN": "Aagaard", "KOEN": "M", "FOEDESTED": "Benchby"}

        def record(i):
            status, _ = c.post_json(f"/api/books/{book}/check/record", {"fields": candidate})
            assert status == 200, status

        timed(record, 5)
        record_ms = timed(record, max(20, args.calls // 10))

        def screen_new(i):
            status, _ = c.request("GET", f"/books/{book}/entry?r=new")
            assert status == 200, status

        def screen_middle(i):
            status, _ = c.request("GET", f"/books/{book}/entry?r={middle}")
            assert status == 200, status

        timed(screen_new, 5)
        new_ms = timed(screen_new, 100)
        mid_ms = timed(screen_middle, 100)
        stop_server(srv, serving)
        app.extensions["mgr_store"].close()
    print(line("field check (POST check/field)", field_ms))
    print(line("record + section check (POST check/record)", record_ms))
    print(line(f"entry screen, new record ({args.records:,} in book)", new_ms))
    print(line(f"entry screen, record {middle:,} of {args.records:,}", mid_ms))
    target = percentile(field_ms, 95) < 50
    print(f"field check p95 < 50 ms: {'yes' if target else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
