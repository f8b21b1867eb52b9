"""No micro data in the logs: run everything with logging at DEBUG, look for person values.

The person values are taken from the data rows of the bundled fixtures (``fixtures/kbf``,
``fixtures/kbd``, ``fixtures/ft``): names, dates, places and free text of 4 characters or
more (several hundred distinct values). The whole job then runs in this process with the
root logger at DEBUG, as ``-vv`` sets it - validate, clean, import, an inbox pass, status,
stats, backup and restore, a validator that fails on a value and a command that dies of an
internal error - and, when the web application can be made, a session of its test client
that logs in and keys records made of those same values. Every log record, and everything
the commands print, is searched for every value.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import shutil

import pytest
from hostile_support import REPO, run_cli

from kiip_import.delivery import load_deliveries

PERSON_COLUMNS = re.compile(r"NAVN|NAVNE|STED|DATO|DAG$|BEMAERKNING|ANMAERKNING|STILLING|ERHVERV|ADRESSE|"
                            r"FODESTED|FOEDESTED|FOEDEAAR|ALDER$|KIRKE|SOGN_NAVN", re.I)
KEY_COLUMNS = {"INDTASTNINGSNUMMER", "LOEBE_NR", "KILDE", "KILDEANGIVELSE", "KILDE_SIDE", "KILDE_LOEBE_NR",
               "KALENDERAAR", "KOEN", "TAELLINGSAAR", "LOEBENR_KONTROL"}


def person_values() -> set[str]:
    values: set[str] = set()
    public: set[str] = set()  # parish, district and county names of the books: not person data
    for folder in ("kbf", "kbd", "ft"):
        for d in load_deliveries([REPO / "fixtures" / folder]):
            public |= {str(d.meta.get(k) or "").strip() for k in ("SOGN", "HERRED", "AMT")}
            if d.table is None:
                continue
            for name in d.table.column_names:
                if name.startswith("_") or name in KEY_COLUMNS or not PERSON_COLUMNS.search(name):
                    continue
                for value in d.table.column(name).to_pylist():
                    value = (value or "").strip()
                    if len(value) >= 4 and not (value.isdigit() and len(value) < 8):
                        values.add(value)
    return {v for v in values if v not in public}


@pytest.fixture(scope="module")
def values() -> set[str]:
    found = person_values()
    assert len(found) >= 300, len(found)
    return found


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def captured():
    """The root logger at DEBUG (as ``-vv`` sets it), every record kept."""
    root = logging.getLogger()
    handler = Capture()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def leaks(text: str, values: set[str]) -> list[str]:
    found = []
    for value in sorted(values):
        if re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text):
            found.append(value)
    return found


def _safety(*argv) -> tuple[int, str]:
    from ingest.cli_safety import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue() + err.getvalue()


def test_the_whole_pipeline_logs_no_person_value(tmp_path, values, captured, monkeypatch):
    fixtures = [REPO / "fixtures" / name for name in ("kbf", "kbd", "ft")]
    printed: list[str] = []

    def cli(*argv, codes=(0, 1)):
        code, out, err = run_cli("-vv", *argv)
        printed.append(out + err)
        assert code in codes, err
        return code

    cli("validate", *fixtures, "--json", tmp_path / "v.json", "--html", tmp_path / "html")
    cli("clean", *fixtures, "--out", tmp_path / "clean")
    cli("import", *fixtures, "--work", tmp_path / "work")
    inbox = tmp_path / "inbox"
    for folder in fixtures:
        shutil.copytree(folder, inbox / folder.name)
    for extra in inbox.rglob("answer_key.json"):
        extra.unlink()
    cli("run", "--inbox", inbox, "--work", tmp_path / "work", "--settle", "0")
    cli("status", "--work", tmp_path / "work", codes=(0,))
    cli("status", "--json", "--work", tmp_path / "work", codes=(0,))
    for argv in (("stats", *fixtures, "--out", tmp_path / "s.csv"),
                 ("stats", "--work", tmp_path / "work", "--out", tmp_path / "s.json"),
                 ("backup", "--work", tmp_path / "work", "--to", tmp_path / "b.tar"),
                 ("restore", tmp_path / "b.tar", "--work", tmp_path / "restored")):
        code, text = _safety("-vv", *argv)
        printed.append(text)
        assert code == 0, text

    # A check that fails on a value, as a library's error would: the traceback is logged.
    import ingest.store.importer as importer

    def failing(frame, source, options):
        first = next(v for v in frame["FORNAVN"].dropna() if len(v) >= 4) if "FORNAVN" in frame else "Hansen"
        raise ValueError(f"invalid literal for int() with base 10: {first!r}")

    monkeypatch.setattr(importer, "validate_frame", failing)
    cli("import", REPO / "fixtures" / "kbf", "--work", tmp_path / "work2")
    monkeypatch.undo()
    # And a command that dies of an internal error on a value. (The value is picked at run
    # time: a traceback shows source lines, and no source line may hold a person value.)
    import ingest.pipeline as pipeline

    quoted = " ".join(sorted(values)[:3])

    def broken(*args, **kwargs):
        raise KeyError(quoted)

    monkeypatch.setattr(pipeline, "run_pipeline", broken)
    assert cli("validate", *fixtures, "--json", tmp_path / "v2.json", codes=(2,)) == 2
    monkeypatch.undo()

    log_text = "\n".join(captured.lines)
    assert "delivery K2697" in log_text and "Traceback" in log_text  # the logs were there, tracebacks too
    assert len(captured.lines) > 50
    assert leaks(log_text, values | {quoted}) == []
    assert leaks("\n".join(printed), values) == []
    from conftest import SUMMARY_LINES

    SUMMARY_LINES.append(f"logs: {len(captured.lines)} DEBUG records of the whole pipeline searched for "
                         f"{len(values)} person values from the fixtures: none found")


def test_the_web_application_logs_no_person_value(tmp_path, values, captured):
    try:
        from webentry.app import create_app
    except Exception as exc:  # noqa: BLE001 - the web application is not there (yet)
        pytest.skip(f"webentry.app.create_app does not import: {type(exc).__name__}")
    try:
        from sqlalchemy import select

        from webentry.auth import create_user
        from webentry.models import Assignment, Book, User
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"the web application's account and book models are not there: {type(exc).__name__}")
    from datetime import UTC, datetime

    app = create_app({"WORK": str(tmp_path / "work"), "TESTING": True, "SECRET_KEY": "test",
                      "ARGON2": {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}, "OCR_MODE": "off"})
    try:
        password = "correct horse battery"
        with app.extensions["mgr_sessions"]() as s:
            create_user(s, "tr1", "transcriber", password, actor="test",
                        params={"time_cost": 1, "memory_cost": 8192, "parallelism": 1})
            create_user(s, "rev1", "reviewer", password, actor="test",
                        params={"time_cost": 1, "memory_cost": 8192, "parallelism": 1})
            s.flush()
            book = Book(entry_number="K2697", source="KBF", title="Vejby KB 1921-1925", parish="Vejby",
                        herred="Holbo", amt="Frederiksborg", from_year=1921, to_year=1925, created_by="test",
                        created_at=datetime.now(UTC))
            s.add(book)
            s.flush()
            s.add(Assignment(book_id=book.id, user_id=s.scalar(select(User.id).where(User.name == "tr1"))))
            s.commit()
            book_id = book.id
        client = app.test_client()

        def token(path):
            m = re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).get_data(as_text=True))
            return m.group(1) if m else ""

        login = client.post("/login", data={"name": "tr1", "password": password, "csrf_token": token("/login")})
        assert login.status_code == 302, login.status_code
        csrf = token("/books")
        names = sorted(v for v in values if v.isalpha() and v[0].isupper())[:40]
        dates = sorted(v for v in values if v.isdigit() and len(v) == 8 and "1900" < v < "1930")[:20]
        sent = 0
        statuses = []
        for n in range(1, 16):
            born = dates[n % len(dates)]
            body = {"KILDE_SIDE": str(1 + (n - 1) // 5), "KILDE_LOEBE_NR": str(n), "KALENDERAAR": born[:4],
                    "FOEDSELSDATO": born, "FORNAVN": names[n % len(names)],
                    "EFTERNAVN": names[(n + 7) % len(names)], "KOEN": "M", "FOEDESTED": names[(n + 3) % len(names)],
                    "MODERS_FORNAVN": names[(n + 11) % len(names)], "ANMAERKNINGER": names[(n + 13) % len(names)]}
            payload = {"fields": body}
            client.post(f"/api/books/{book_id}/check/record", json=payload, headers={"X-CSRFToken": csrf})
            r = client.post(f"/api/books/{book_id}/records", json=payload, headers={"X-CSRFToken": csrf})
            if r.status_code == 422 and not (r.get_json() or {}).get("blocking"):
                # The warnings seen, as the entry screen's second save does.
                payload["acknowledged"] = (r.get_json() or {}).get("unseen", [])
                r = client.post(f"/api/books/{book_id}/records", json=payload, headers={"X-CSRFToken": csrf})
            sent += r.status_code < 300
            statuses.append((r.status_code, r.get_data(as_text=True)[:300]))
        for path in (f"/books/{book_id}", f"/books/{book_id}/entry", f"/api/books/{book_id}/records/1",
                     f"/api/suggest?field=FORNAVN&q={names[0][:3]}", "/qa", f"/books/{book_id}/export"):
            client.get(path)
        client.post("/logout", data={"csrf_token": csrf})
    finally:
        app.extensions["mgr_store"].close()
    assert leaks("\n".join(captured.lines), values) == []
    assert sent >= 10, statuses
    from conftest import SUMMARY_LINES

    SUMMARY_LINES.append(f"logs, web: {len(captured.lines)} DEBUG records of a web session that keyed {sent} "
                         "records: no person value")
