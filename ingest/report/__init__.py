"""The QA report for people (placeholder until the HTML report lands)."""

from __future__ import annotations

from pathlib import Path


def write_report(result, folder: Path) -> Path:
    path = folder / "report.html"
    path.write_text("<!doctype html><title>QA report</title><p>pending</p>", encoding="utf-8")
    return path
