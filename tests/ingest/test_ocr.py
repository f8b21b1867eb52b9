"""OCR of scanned pages, against the real Tesseract (no mocks).

The pages under fixtures/scans/ are synthetic scans with ground truth, made by
``python -m fixtures.scans fixtures/scans --test-fixtures``. Tests that need
Tesseract skip only when the program is missing outside CI; in CI (CI=true) they
must run.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from ingest.ocr import fields, pipeline, recognise
from ingest.ocr.images import load_pages
from ingest.ocr.sequence import Candidate, fit_chain

REPO = Path(__file__).resolve().parents[2]
SCANS = REPO / "fixtures" / "scans"

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None and not __import__("conftest").in_ci(),
    reason="Tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-dan); "
           "these tests must run in CI",
)


def _truth() -> dict:
    return json.loads((SCANS / "truth.json").read_text(encoding="utf-8"))


def _run(name: str) -> list[dict]:
    return next(r["pages"] for r in _truth()["runs"] if r["run"] == name)


@pytest.fixture(scope="module")
def fixture_results() -> dict[str, tuple[list[dict], dict]]:
    """OCR of each checked-in run (in book order), done once for the module."""
    out = {}
    for run in _truth()["runs"]:
        pages = run["pages"]
        out[run["run"]] = (pages, pipeline.ocr_pages([SCANS / p["file"] for p in pages]))
    return out


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares its size but carries almost no pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


# --------------------------------------------------------------------------- no Tesseract needed

def test_fit_chain_follows_a_gap_and_ignores_a_single_misread():
    # pages 36 37 [38 missing] 39 40 read well: the chain jumps once
    obs = [[(36, 0.95)], [(37, 0.95)], [(39, 0.95)], [(40, 0.95)]]
    assert fit_chain(obs) == [36, 37, 39, 40]
    # one page misread (87 for 37) between confident neighbours: the chain holds
    obs = [[(36, 0.95)], [(87, 0.9)], [(38, 0.95)], [(39, 0.95)]]
    assert fit_chain(obs) == [36, 37, 38, 39]
    # an unread position is filled from the chain
    assert fit_chain([[(5, 0.9)], [], [(7, 0.9)]]) == [5, 6, 7]
    # a new section may restart at 1 where it is flagged
    assert fit_chain([[(40, 0.9)], [(41, 0.9)], [(1, 0.9)], [(2, 0.9)]],
                     restarts=[False, False, True, False], restart_value=1) == [40, 41, 1, 2]


def test_sequence_reports_a_missing_page_without_ocr():
    reads = []
    for i, value in enumerate([36, 37, 39]):
        pr = pipeline.PageRead(f"scan{i}.jpg", None, i, ok=True)
        pr.page_cands = [Candidate(str(value), 0.95, [0, 0, 10, 10])]
        reads.append(pr)
    pages = pipeline.resolve(reads)
    assert [p["page_number"]["value"] for p in pages] == ["36", "37", "39"]
    msgs = [f["message"] for f in pages[2]["findings"] if f["code"] == "OCR_PAGE_SEQUENCE"]
    assert msgs and "scan 3" in msgs[0] and "reads page 39, expected 38" in msgs[0]
    assert not any(f["code"] == "OCR_PAGE_SEQUENCE" for p in pages[:2] for f in p["findings"])
    # agreeing neighbours raise the confidence above the single reading's
    assert pages[1]["page_number"]["confidence"] > 0.95


def test_misread_page_is_offered_from_the_sequence_with_low_confidence():
    reads = []
    for i, value in enumerate([36, 81, 38]):
        pr = pipeline.PageRead(f"scan{i}.jpg", None, i, ok=True)
        pr.page_cands = [Candidate(str(value), 0.9, None)]
        reads.append(pr)
    pages = pipeline.resolve(reads)
    middle = pages[1]["page_number"]
    assert middle["value"] == "37" and middle["source"] == "sequence"
    assert middle["confidence"] < pipeline.PREFILL_THRESHOLD["page_number"]
    assert any(f["code"] == "OCR_PAGE_SEQUENCE" and "reads page 81, expected 37" in f["message"]
               for f in pages[1]["findings"])


def test_field_parsers():
    assert fields.parse_entry("23a") == "23a"
    assert fields.parse_entry("0") == "0"
    assert fields.parse_entry("023") is None
    assert fields.parse_date("12/3").key() == (3, 12)
    assert fields.parse_date("12. Marts").iso(1921) == "1921-03-12"
    assert fields.parse_date("1921 d. 9 Juli").iso() == "1921-07-09"
    assert fields.parse_date("31/2") is None
    h = fields.parse_heading("Fødte Drengebørn i Aaret 1921")
    assert (h.kind, h.sex, h.year) == ("KBF", "M", 1921)


def test_bad_files_are_refused_before_decoding(tmp_path):
    pdf = tmp_path / "page.jpg"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n")
    huge = tmp_path / "huge.png"
    huge.write_bytes(_png_header(40_000, 40_000))
    from PIL import ImageFile

    decoded = []
    real_load = ImageFile.ImageFile.load
    ImageFile.ImageFile.load = lambda self: (decoded.append(self.size), real_load(self))[1]
    try:
        assert load_pages(pdf)[0].findings[0]["code"] == "OCR_NOT_AN_IMAGE"
        page = load_pages(huge)[0]
    finally:
        ImageFile.ImageFile.load = real_load
    assert page.image is None and page.findings[0]["code"] == "OCR_IMAGE_TOO_LARGE"
    assert decoded == []  # refused from the headers: not a pixel was decoded (timings: benchmarks/)


# --------------------------------------------------------------------------- real Tesseract

@needs_tesseract
@pytest.mark.parametrize("run", ["kbf_clean", "kbd_moderate", "ft_moderate"])
def test_page_numbers_read_right_and_prefilled(fixture_results, run):
    truths, result = fixture_results[run]
    assert [p["file"] for p in result["pages"]] == [t["file"] for t in truths]
    for page, truth in zip(result["pages"], truths):
        pn = page["page_number"]
        assert pn is not None, page["file"]
        assert pn["value"] == truth["page_number"]["value"], page["file"]
        assert pn["confidence"] >= pipeline.PREFILL_THRESHOLD["page_number"], page["file"]
        # the box is where the number is printed (in the scan's own coordinates)
        tb, pb = truth["page_number"]["box"], pn["box"]
        assert pb[0] <= (tb[0] + tb[2]) / 2 <= pb[2] and pb[1] <= (tb[1] + tb[3]) / 2 <= pb[3]


@needs_tesseract
@pytest.mark.parametrize("run", ["kbf_clean", "kbd_moderate"])
def test_heading_year_read(fixture_results, run):
    # the year printed in a church book's page heading: the entry screen proposes it as the
    # first record's registration year
    truths, result = fixture_results[run]
    for page, truth in zip(result["pages"], truths):
        assert page["heading_year"]["value"] == str(truth["year"]), page["file"]
        assert 0.0 < page["heading_year"]["confidence"] <= 1.0


@needs_tesseract
def test_missing_scan_page_is_reported(fixture_results):
    _, result = fixture_results["kbf_clean"]
    pages = result["pages"]
    assert [p["page_number"]["value"] for p in pages] == ["37", "38", "40"]
    seq = [f for f in pages[2]["findings"] if f["code"] == "OCR_PAGE_SEQUENCE"]
    assert seq, pages[2]["findings"]
    assert "scan 3" in seq[0]["message"] and "reads page 40, expected 39" in seq[0]["message"]
    assert "missing" in seq[0]["message"]
    assert not any(f["code"] == "OCR_PAGE_SEQUENCE" for p in pages[:2] for f in p["findings"])


@needs_tesseract
def test_prefilled_entry_numbers_are_right(fixture_results):
    thr = pipeline.PREFILL_THRESHOLD["entry_number"]
    prefilled = right = rows = 0
    for truths, result in fixture_results.values():
        for page, truth in zip(result["pages"], truths):
            assert len(page["rows"]) == len(truth["rows"]), page["file"]
            for row, trow in zip(page["rows"], truth["rows"]):
                rows += 1
                e = row["entry_number"]
                if e and e["confidence"] >= thr:
                    prefilled += 1
                    right += e["value"] == trow["entry_number"]["value"]
    # the fixtures' hands include ones Tesseract reads badly: few are prefilled there
    assert prefilled >= 8, (prefilled, rows)
    assert right / prefilled >= 0.98, (right, prefilled)


@needs_tesseract
def test_output_shape_and_no_names_in_findings(fixture_results):
    truths, result = fixture_results["kbd_moderate"]
    json.dumps(result)  # serialisable
    for page in result["pages"]:
        assert set(page) >= {"file", "page_number", "rows", "findings"}
        for row in page["rows"]:
            assert set(row) >= {"entry_number", "dates"}
            for d in row["dates"]:
                assert set(d) >= {"value", "confidence", "box"}
                assert 0.0 <= d["confidence"] <= 1.0
        for f in page["findings"]:
            assert set(f) == {"code", "severity", "message"}


@needs_tesseract
def test_bad_pages_get_findings_and_the_others_are_read(tmp_path):
    good = [SCANS / "kbf_clean_p0037.jpg", SCANS / "kbf_clean_p0038.jpg"]
    pdf = tmp_path / "renamed.jpg"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n")
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(bytes((i * 97 + 13) % 256 for i in range(5000)))
    huge = tmp_path / "huge.png"
    huge.write_bytes(_png_header(40_000, 40_000))
    white = tmp_path / "white.png"
    Image.new("L", (1700, 2200), 250).save(white)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good[0].read_bytes()[:3000])
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    paths = [good[0], pdf, garbage, huge, white, truncated, empty, good[1]]
    result = pipeline.ocr_pages(paths)
    pages = result["pages"]
    assert [p["file"] for p in pages] == [p.name for p in paths]
    codes = [{f["code"] for f in p["findings"]} for p in pages]
    assert "OCR_NOT_AN_IMAGE" in codes[1]
    assert "OCR_NOT_AN_IMAGE" in codes[2] or "OCR_UNREADABLE" in codes[2]
    assert "OCR_IMAGE_TOO_LARGE" in codes[3]
    assert "OCR_EMPTY_PAGE" in codes[4]
    assert "OCR_UNREADABLE" in codes[5]
    assert "OCR_UNREADABLE" in codes[6]
    for k in range(1, 7):
        assert pages[k]["page_number"] is None and pages[k]["rows"] == []
        assert all("Traceback" not in f["message"] for f in pages[k]["findings"])
    # the good pages around them are still read, and still seen as consecutive
    assert pages[0]["page_number"]["value"] == "37"
    assert pages[7]["page_number"]["value"] == "38"
    assert not any(f["code"] == "OCR_PAGE_SEQUENCE" for f in pages[7]["findings"])


@needs_tesseract
def test_upside_down_page_is_turned_and_read(tmp_path):
    src = SCANS / "kbd_moderate_p0120.jpg"
    turned = tmp_path / "turned.png"
    with Image.open(src) as im:
        im.rotate(180).save(turned, dpi=im.info.get("dpi", (250, 250)))
    page = pipeline.ocr_pages([turned])["pages"][0]
    assert any(f["code"] == "OCR_UPSIDE_DOWN" for f in page["findings"])
    assert page["page_number"] and page["page_number"]["value"] == "120"


@needs_tesseract
def test_multipage_tiff_gives_one_entry_per_frame(tmp_path):
    frames = [Image.open(SCANS / n).convert("L") for n in ("kbd_moderate_p0120.jpg", "kbd_moderate_p0121.jpg")]
    tiff = tmp_path / "book.tif"
    frames[0].save(tiff, save_all=True, append_images=frames[1:], compression="tiff_deflate", dpi=(250, 250))
    pages = pipeline.ocr_pages([tiff])["pages"]
    assert [(p["file"], p.get("frame")) for p in pages] == [("book.tif", 0), ("book.tif", 1)]
    assert [p["page_number"]["value"] for p in pages] == ["120", "121"]


@needs_tesseract
def test_command_line(tmp_path):
    out = tmp_path / "ocr.json"
    rc = pipeline.main([str(SCANS / "ft_moderate_p0086.jpg"), str(tmp_path / "nope.jpg"), "--json", str(out)])
    assert rc == 1  # one page could not be used: a script must see it
    notimage = tmp_path / "notes.jpg"
    notimage.write_text("not an image at all", encoding="utf-8")
    assert pipeline.main([str(notimage), "--json", str(tmp_path / "x.json")]) == 1
    assert pipeline.main([str(SCANS / "ft_moderate_p0086.jpg"), "--json", str(tmp_path / "ok.json")]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["pages"][0]["page_number"]["value"] == "86"
    assert data["pages"][1]["findings"][0]["code"] == "OCR_UNREADABLE"
    # nothing to read at all, and an engine that cannot run: exit 2, one line, no traceback
    env = dict(os.environ, MGR_OCR_ENGINE="none")
    proc = subprocess.run([sys.executable, "-m", "ingest.ocr.pipeline", str(SCANS / "ft_moderate_p0086.jpg"),
                           "--json", str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert pipeline.main([str(tmp_path / "missing.jpg")]) == 2


@needs_tesseract
def test_tesseract_program_engine_agrees(tmp_path):
    """The fallback that runs the tesseract program (batched crops) reads the same page numbers."""
    pytest.importorskip("pytesseract")
    if shutil.which("tesseract") is None:
        pytest.fail("the tesseract program is not on PATH")
    engine = recognise.CliEngine("dan")
    names = ["kbf_clean_p0037.jpg", "kbf_clean_p0038.jpg"]
    pages = pipeline.ocr_pages([SCANS / n for n in names], engine=engine)["pages"]
    assert [p["page_number"]["value"] for p in pages] == ["37", "38"]
    assert all(len(p["rows"]) > 5 for p in pages)


def test_load_pages_reads_png_from_bytes(tmp_path):
    im = Image.new("RGBA", (400, 500), (255, 255, 255, 0))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    p = tmp_path / "alpha.png"
    p.write_bytes(buf.getvalue())
    page = load_pages(p)[0]
    assert page.image is not None and page.image.mode == "L"
    assert any(f["code"] == "OCR_EMPTY_PAGE" for f in page.findings)
