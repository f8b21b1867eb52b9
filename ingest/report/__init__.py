"""The QA report for people: one self-contained HTML page per run.

``write_report(result, folder)`` writes ``folder/report.html``: styles inline, charts as
inline SVG, no scripts, so the single file can be mailed, opened anywhere and printed.
The page is a Jinja2 template (``templates/report.html``) filled from sections that
pandas has already aggregated (``sections``, ``charts``); every value from the data is
escaped, because names and remarks are text keyed by people.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from markupsafe import Markup

from ingest.report import households as h
from ingest.report import sections as s
from ingest.report.charts import month_view

if TYPE_CHECKING:
    from ingest.pipeline import RunResult

__all__ = ["render_report", "write_report"]

REPORT_NAME = "report.html"


def _anchor(entry: str) -> str:
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "_", str(entry))


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ingest.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["anchor"] = _anchor
    return env


def render_report(result: RunResult) -> str:
    """The report page for a ``RunResult`` as a string."""
    findings = result.findings
    deliveries = s.delivery_rows(result.deliveries)
    groups, left_out = s.finding_groups(findings, [d["entry"] for d in deliveries])
    months = month_view(result.per_month, result.deliveries)
    if months.svg:
        months.svg = Markup(months.svg)  # made by matplotlib, which escapes the text it draws
    context = {
        "run": s.run_summary(result),
        "deliveries": deliveries,
        "codes": s.code_rows(findings),
        "gaps": s.gap_rows(result.gaps),
        "missing_total": s.missing_total(result.gaps),
        "duplicates": s.duplicate_pairs(result.duplicates),
        "cross": s.cross_rows(result.cross_findings),
        "cross_title": "Births, deaths and censuses against each other" if result.clean.get("FT")
        else "Births and deaths against each other",
        "pages": s.page_rows(findings),
        "months": months,
        "households": h.section(result.households, result.deliveries),
        "groups": groups,
        "findings_left_out": left_out,
        "per_delivery_cap": s.MAX_FINDINGS_PER_DELIVERY,
        "severities": s.SEVERITIES,
        "words": s.SEVERITY_WORD,
        "plurals": {k: v + "s" for k, v in s.SEVERITY_WORD.items()},
        "titles": {code: s.code_title(code) for code in s.CATALOGUE},
    }
    return _environment().get_template("report.html").render(context)


def write_report(result: RunResult, folder: Path) -> Path:
    """Write ``folder/report.html`` for the run and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / REPORT_NAME
    path.write_text(render_report(result), encoding="utf-8")
    return path
