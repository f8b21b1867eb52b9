"""What an outside probe got through, each now refused or made harmless, on both databases:
deep JSON, NUL characters, oversized bodies, multi-frame TIFF bombs, formula prefixes, and
files readable by every account."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys

import pytest
from PIL import Image
from web_support import PASSWORD, Api, client_as, csrf_of, kbf_fields

pytest_plugins = ["web_support"]  # the web fixture: an application with users and a book


def _tiff(frames: int, size: tuple[int, int]) -> bytes:
    pages = [Image.new("1", size, 1) for _ in range(frames)]
    buf = io.BytesIO()
    pages[0].save(buf, format="TIFF", compression="group4", save_all=True, append_images=pages[1:])
    return buf.getvalue()


def _upload(client, book, files, accept="application/json"):
    token = csrf_of(client, f"/books/{book}")
    return client.post(f"/books/{book}/pages", data={"csrf_token": token, "pages": files},
                       content_type="multipart/form-data", headers={"Accept": accept})


@pytest.mark.parametrize("path", ["draft", "records", "check/field", "check/record"])
def test_deeply_nested_json_is_a_400_not_a_500(web, path):
    api, book = Api(client_as(web, "tr1")), web.config["BOOK_ID"]
    body = ("[" * 1200 + "]" * 1200).encode()
    method = api.client.put if path == "draft" else api.client.post
    r = method(f"/api/books/{book}/{path}", data=body, content_type="application/json", headers=api._h())
    assert r.status_code == 400 and "indlejret dybere" in r.json["error"]


def test_nul_characters_are_refused_before_any_view(web):
    c = web.test_client()
    token = csrf_of(c, "/login")
    r = c.post("/login", data={"name": "tr1\x00", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 400
    api, book = Api(client_as(web, "tr1")), web.config["BOOK_ID"]
    assert api.get(f"/api/books/{book}/section-last?KALENDERAAR=19%0005").status_code == 400
    assert api.post(f"/api/books/{book}/records", {"fields": kbf_fields(1, FORNAVN="Ka\x00ren")}).status_code == 400
    admin = client_as(web, "admin1")
    token = csrf_of(admin, "/books/new")
    r = admin.post("/books/new", data={"csrf_token": token, "entry_number": "K3001", "source": "KBF",
                                       "title": "Vejby\x00", "parish": "Vejby", "from_year": "1921",
                                       "to_year": "1925"})
    assert r.status_code == 400
    assert api.post(f"/api/books/{book}/records", {"fields": kbf_fields(1)}).status_code == 201  # still works


def test_bodies_are_small_except_the_upload(web):
    c = web.test_client()
    big = b"name=x&password=" + b"y" * (2 * 1024 * 1024)
    r = c.post("/login", data=big, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 413
    api, book = Api(client_as(web, "tr1")), web.config["BOOK_ID"]
    r = api.client.put(f"/api/books/{book}/draft", data=b'{"fields": {"x": "' + b"a" * 1_100_000 + b'"}}',
                       content_type="application/json", headers=api._h())
    assert r.status_code == 413


def test_tiff_frames_and_upload_pixels_are_bounded_from_the_headers(web, monkeypatch):
    from webentry import scans

    decoded = []
    real = scans._decode
    monkeypatch.setattr(scans, "_decode", lambda name, img: (decoded.append(name), real(name, img)))
    admin, book = client_as(web, "admin1"), web.config["BOOK_ID"]
    many = _tiff(web.config["MAX_SCAN_FRAMES"] + 1, (20, 20))
    r = _upload(admin, book, [(io.BytesIO(many), "many.tif")])
    assert r.status_code == 422 and "mere end 50 sider" in r.json["problems"][0]
    web.config["MAX_UPLOAD_PIXELS"] = 2_000_000
    big = _tiff(3, (1000, 1000))  # 3 MP in all
    r = _upload(admin, book, [(io.BytesIO(big), "big.tif")])
    assert r.status_code == 422 and "megapixel i alt" in r.json["problems"][0]
    assert decoded == []  # refused before a pixel was decoded
    # two files of 1.2 MP each: the second is over the upload's budget, the first goes in
    one = io.BytesIO()
    Image.new("L", (1200, 1000), 255).save(one, format="PNG")
    r = _upload(admin, book, [(io.BytesIO(one.getvalue()), "a.png"),
                              (io.BytesIO(one.getvalue()[:-12] + b"\x00" * 12), "b.png")])
    assert r.json["added"] == [1] and "megapixel i alt" in r.json["problems"][0]


def test_the_documented_page_limit_is_the_limit(web):
    """120 megapixels a page, as documented: a 100 MP page is taken (Pillow's own warning at
    89 MP is not the limit), 130 MP is refused."""
    from webentry.scans import Limits, ScanRejected, _frames

    limits = Limits.from_config(web.config)

    def png(w, h):
        buf = io.BytesIO()
        Image.new("1", (w, h), 1).save(buf, format="PNG")
        return buf.getvalue()

    assert len(_frames("p.png", png(10_000, 10_000), limits)) == 1
    with pytest.raises(ScanRejected, match="120 megapixels"):
        _frames("q.png", png(13_000, 10_000), limits)


def test_a_busy_converter_answers_503_and_stores_nothing(web, monkeypatch):
    from webentry import scans

    monkeypatch.setattr(scans, "CONVERT_WAIT_SECONDS", 0.05)
    held = [scans.CONVERT_SLOTS.acquire(timeout=1) for _ in range(2)]
    try:
        admin, book = client_as(web, "admin1"), web.config["BOOK_ID"]
        page = io.BytesIO()
        Image.new("L", (300, 400), 255).save(page, format="PNG")
        r = _upload(admin, book, [(io.BytesIO(page.getvalue()), "p.png")])
        assert r.status_code == 503 and r.json["added"] == []
    finally:
        for ok in held:
            if ok:
                scans.CONVERT_SLOTS.release()


@pytest.mark.parametrize("field, value", [("ANMAERKNINGER", "=cmd|' /C calc'!A0"), ("FORNAVN", "+SUM(1+1)"),
                                          ("EFTERNAVN", "@SUM(1)"), ("FOEDESTED", "-2+3")])
def test_formula_prefixes_are_warned_at_entry_and_exported_as_keyed(web, field, value):
    api, book = Api(client_as(web, "tr1")), web.config["BOOK_ID"]
    issues = api.post(f"/api/books/{book}/check/field", {"field": field, "value": value}).json["issues"]
    assert [(i["code"], i["severity"]) for i in issues if i["code"] == "FORMULA_PREFIX"] == [("FORMULA_PREFIX",
                                                                                              "warning")]
    plain = api.post(f"/api/books/{book}/check/field", {"field": field, "value": "-"}).json["issues"]
    assert "FORMULA_PREFIX" not in [i["code"] for i in plain]
    saved = api.post(f"/api/books/{book}/records", {"fields": kbf_fields(1, **{field: value}),
                                                    "notes": {field: "står sådan"}})
    assert saved.status_code == 201, saved.json
    reviewer = client_as(web, "rev1")
    export = reviewer.get(f"/books/{book}/export")
    import zipfile

    data = zipfile.ZipFile(io.BytesIO(export.data))
    body = b"".join(data.read(n) for n in data.namelist() if n.endswith("fd.csv"))
    assert value.encode("cp1252") in body or value.encode("utf-8") in body  # byte-faithful KIIP file


def test_files_are_created_for_the_owner_and_group_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("MGR_WORK", "MGR_DB_URL")}
    pw = tmp_path / "pw.txt"
    pw.write_text(PASSWORD + "\n", encoding="utf-8")
    old = os.umask(0o022)  # a usual shell's umask: the program sets its own
    try:
        r = subprocess.run([sys.executable, "-m", "ingest.cli", "user", "add", "anna", "--role", "admin",
                            "--password-file", str(pw), "--work", str(tmp_path / "w")],
                           capture_output=True, text=True, timeout=120, env=env)
    finally:
        os.umask(old)
    assert r.returncode == 0, r.stderr
    for path in (tmp_path / "w" / "mgr.sqlite", tmp_path / "w"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o007 == 0, (path.name, oct(mode))
