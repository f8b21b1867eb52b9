"""The validation and cleaning pipeline over a set of deliveries.

Deliveries are read one by one (``kiip_import``), grouped by source, and checked in
batches of whole deliveries (``validators.engine``): memory is bounded by the batch,
and set rules always see a complete delivery.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from kiip_import.delivery import Delivery, find_deliveries, load_candidate, load_loose_file
from validators.engine import CORRECTION_COLUMNS, Result, validate_frame
from validators.findings import FINDING_COLUMNS, to_records
from validators.match_keys import add_match_keys
from validators.places import parish_of_deliveries
from validators.schemas import field_rules
from validators.sources import SOURCES

log = logging.getLogger("mgr_ingest.pipeline")

BATCH_ROWS = 400_000


class NothingToDo(Exception):
    """The paths hold no delivery files at all (a usage problem, not a finding)."""


@dataclass
class DeliverySummary:
    entry_number: str
    source: str | None
    files: list[dict]
    rows: int
    physical_rows: int
    meta: dict
    counts: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "entry_number": self.entry_number,
            "source": self.source,
            "files": self.files,
            "rows": self.rows,
            "parish": self.meta.get("SOGN") or None,
            "years": [self.meta.get("FRA_AAR") or None, self.meta.get("TIL_AAR") or None],
            "findings": {sev: self.counts.get(sev, 0) for sev in ("error", "warning", "info")},
        }


@dataclass
class RunResult:
    started: str
    deliveries: list[DeliverySummary]
    findings: pd.DataFrame
    clean: dict[str, list[pd.DataFrame]] = field(default_factory=dict)  # source -> parts
    corrections: list[pd.DataFrame] = field(default_factory=list)
    duplicates: list[pd.DataFrame] = field(default_factory=list)
    gaps: list[pd.DataFrame] = field(default_factory=list)
    per_month: list[pd.DataFrame] = field(default_factory=list)  # entries per delivery and month of the event
    problems: list[str] = field(default_factory=list)
    # When set, clean tables are written here batch by batch (parts are then file paths,
    # not frames) so that a national run holds one batch in memory, not the country.
    spill_dir: Path | None = None
    tables: dict[str, list[pd.DataFrame]] = field(default_factory=dict)  # further clean tables (ft_children)
    households: list = field(default_factory=list)  # census households per batch (report.households.HouseholdPart)
    # Findings of the cross-source checks, with their 'other', 'score' and 'rule_version'
    # (also in ``findings``, in the common columns, for the counts and the report).
    cross_findings: list[dict] = field(default_factory=list)

    @property
    def counts(self) -> Counter:
        return Counter(self.findings["severity"]) if len(self.findings) else Counter()

    def findings_json(self) -> dict:
        return {
            "run": {"started": self.started, "deliveries": len(self.deliveries),
                    "rows": sum(d.rows for d in self.deliveries),
                    "findings": {s: self.counts.get(s, 0) for s in ("error", "warning", "info")}},
            "deliveries": [d.as_dict() for d in self.deliveries],
            "findings": (to_records(self.findings[~self.findings["code"].isin(CROSS_CODES)])
                         + self.cross_findings) if self.cross_findings else to_records(self.findings),
        }


CROSS_CODES = ("BIRTH_NOT_KEYED_KBD", "BIRTH_NOT_KEYED_FT", "CROSSCHECK_REVIEW", "DUPLICATE_ACROSS_DELIVERIES",
               "DUPLICATE_DEATH_ACROSS_DELIVERIES", "BOOK_DELIVERED_TWICE")


def _whole(parts: list) -> pd.DataFrame:
    frames = [pd.read_parquet(p) if isinstance(p, Path) else p for p in parts]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def run_crosscheck(result: RunResult) -> None:
    """Births checked against deaths and censuses (``validators.crosscheck``): the KBF table
    gets ``DOED_FOER_CPR``, ``DOED_FOER_CPR_KILDE`` and ``KOPI_AF``, the run the
    cross-source findings.  Needs the clean tables (``keep_clean``) of the births and of
    the deaths or the census (a census alone shows births never keyed)."""
    from validators.crosscheck import add_death_copies, add_died_before_cpr, crosscheck

    children = _whole(result.tables["ft_children"]) if result.tables.get("ft_children") else None
    if not result.clean.get("KBF") or not (result.clean.get("KBD") or (children is not None and len(children))):
        return
    kbf = _whole(result.clean["KBF"])
    kbd = _whole(result.clean["KBD"]) if result.clean.get("KBD") else None
    cross = crosscheck(kbf, kbd, ft_children=children)
    kbf = add_died_before_cpr(kbf, cross)
    tables = [("KBF", kbf)]
    if kbd is not None:
        tables.append(("KBD", add_death_copies(kbd, cross)))
    for code, table in tables:
        if result.spill_dir is not None:
            from ingest.outputs import spill

            for part in result.clean[code]:
                if isinstance(part, Path):
                    part.unlink(missing_ok=True)
            result.clean[code] = [spill(table, result.spill_dir, f"{code.lower()}-crosschecked")]
        else:
            result.clean[code] = [table]
    result.cross_findings = cross.findings
    if cross.findings:
        frame = pd.DataFrame([{c: f.get(c) for c in FINDING_COLUMNS} for f in cross.findings], columns=FINDING_COLUMNS)
        result.findings = pd.concat([result.findings, frame], ignore_index=True) if len(result.findings) else frame
    log.info("crosscheck: %d children died before CPR, %d findings", len(cross.died_before_cpr), len(cross.findings))


DUPLICATE_SIDE_COLUMNS = ("LOEBE_NR", "KILDE_SIDE", "KILDE_LOEBE_NR", "FOEDSELSDATO", "DOEDSDATO", "FULDT_NAVN",
                          "FORNAVN", "EFTERNAVN", "MODERS_FORNAVN", "MODERS_EFTERNAVN", "FADERS_FORNAVN",
                          "FADERS_EFTERNAVN", "FADERS_NAVN", "MODERS_NAVN", "FOEDSELSDAG", "HUSSTAND_ID")


def add_report_extras(result: RunResult, res: Result, source_code: str) -> None:
    """What the QA report shows beyond the findings, gathered from one checked batch:
    duplicate pairs side by side, likely missing children, entries per month, and for
    censuses the households as the household rules formed them."""
    if len(res.duplicates):
        dup = res.duplicates.copy()
        shown = [col for col in DUPLICATE_SIDE_COLUMNS if col in res.clean]
        for side in ("a", "b"):
            rows = res.clean.loc[dup[f"row_{side}"], shown]
            for col in shown:
                dup[f"{col}_{side}"] = rows[col].to_numpy()
        result.duplicates.append(dup.drop(columns=["row_a", "row_b"]))
    if len(res.gaps):
        result.gaps.append(res.gaps)
    event_date = SOURCES[source_code].event_date
    if event_date and f"{event_date}_ISO" in res.clean:
        month = res.clean[f"{event_date}_ISO"].astype("string").str.slice(0, 7)
        counts = res.clean.groupby([res.clean["_delivery"], month], sort=True).size()
        result.per_month.append(counts.rename_axis(["entry_number", "month"]).reset_index(name="entries"))
    if source_code == "FT" and "HUSSTAND_ID" in res.clean:
        from ingest.report import households

        room = households.MAX_HOUSEHOLDS_TOTAL - households.listed_so_far(result.households)
        result.households.append(households.summarise(res.clean, room))


def _progress(total: int, enabled: bool | None):
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, unit="delivery", disable=not enabled, file=sys.stderr, leave=False)


def _table_for_engine(d: Delivery) -> pa.Table:
    """The delivery's rows with the metadata the record rules need beside each row."""
    table = d.table
    for key in ("FRA_AAR", "TIL_AAR"):
        value = (d.meta.get(key) or "").strip()
        # ASCII digits only ('²' passes isdigit but not int), and few enough for int64.
        year = pa.scalar(int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None,
                         type=pa.int64())
        table = table.append_column(f"_{key}", pa.repeat(year, table.num_rows))
    if d.source == "FT":
        # Which census layout the rows were read in (KIIP's own export unless a layout said).
        layout = d.meta.get("LAYOUT") or "kiip_ft"
        table = table.append_column("_LAYOUT", pa.repeat(pa.scalar(layout, pa.string()), table.num_rows))
        table = table.append_column("_STANDARDISERET", pa.repeat(
            pa.scalar(d.meta.get("STANDARDISERET") == "1", pa.bool_()), table.num_rows))
    return table


def _frame_for_engine(d: Delivery) -> pd.DataFrame:
    return _table_for_engine(d).to_pandas()


def clean_columns(source_code: str, frame: pd.DataFrame, extra_columns: list[str]) -> pd.DataFrame:
    """The clean table's columns in a stable order: key, flags, raw + clean per field."""
    source = SOURCES[source_code]
    rules = field_rules(source.model)
    out = pd.DataFrame(index=frame.index)
    out["INDTASTNINGSNUMMER"] = frame["_delivery"].astype("string")
    out["LOEBE_NR"] = frame["LOEBE_NR_REN"].astype("Int64")
    out["TIL_LINKAGE"] = frame["TIL_LINKAGE"].astype(bool)
    if "DOED_UDEN_NAVN" in frame:
        out["DOED_UDEN_NAVN"] = frame["DOED_UDEN_NAVN"].astype("string")
    out["BLOKERENDE_FEJL"] = frame["BLOKERENDE_FEJL"].astype(bool)
    for name in source.derived_columns:  # what the source's rules add (households, ages …)
        if name in frame:
            values = frame[name]
            out[name] = values if str(values.dtype) in ("Int64", "Float64", "boolean", "bool") else values.astype("string")
    for name in source.columns:
        raw_name = f"{name}_RAA" if name in ("INDTASTNINGSNUMMER", "LOEBE_NR") else name
        out[raw_name] = frame[name].astype("string")
        if name in rules and name != "LOEBE_NR":
            for suffix in ("_REN", "_ISO", "_UDEN_KLAMMER", "_KLAMMER", "_TAL", "_BOGSTAV"):
                col = f"{name}{suffix}"
                if col in frame:
                    values = frame[col]
                    out[col] = values if str(values.dtype) in ("Int64", "boolean") else values.astype("string")
    for name in ("FADERS_ALDER_REN",):  # derived from remarks, not from a column of its own
        if name in frame:
            out[name] = frame[name]
    for name in extra_columns:
        if name in frame and name not in out:
            out[f"EKSTRA_{name}"] = frame[name].astype("string")
    out["KILDEFIL"] = frame["_file"].astype("string")
    out["LINJE"] = frame["_line"].astype("int64")
    return out


def run_pipeline(paths: Iterable[Path], *, progress: bool | None = None, keep_clean: bool = True,
                 options: dict | None = None, on_delivery: Callable[[Delivery], None] | None = None,
                 spill_dir: Path | None = None) -> RunResult:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    options = dict(options or {})
    options.setdefault("when", started)
    candidates, loose, problems = find_deliveries([Path(p) for p in paths])
    if not candidates and not loose:
        where = ", ".join(str(p) for p in paths)
        raise NothingToDo(problems[0] if problems else f"no CSV files found in {where}")
    result = RunResult(started=started, deliveries=[], findings=pd.DataFrame(columns=FINDING_COLUMNS),
                       problems=problems, spill_dir=spill_dir)
    finding_parts: list[pd.DataFrame] = []
    delivery_findings: list[dict] = []
    batch: dict[str, list[tuple[Delivery, DeliverySummary]]] = {}
    batch_rows = Counter()

    def flush(source_code: str) -> None:
        items = batch.pop(source_code, [])
        batch_rows[source_code] = 0
        if not items:
            return
        # One Arrow concatenation and one conversion per batch, not one per delivery.
        tables = [_table_for_engine(d) for d, _ in items]
        extras = sorted({c for d, _ in items for c in d.extra_columns})
        frame = pa.concat_tables(tables, promote_options="default").to_pandas()
        del tables
        for d, _ in items:
            d.table = d._frame = None  # the batch frame holds the rows now
        res: Result = validate_frame(frame, SOURCES[source_code], options)
        del frame
        finding_parts.append(res.findings.drop(columns=["_row"]))
        per_delivery = res.findings.groupby(["entry_number", "severity"]).size()
        for d, summary in items:
            for sev in ("error", "warning", "info"):
                summary.counts[sev] += int(per_delivery.get((d.entry_number, sev), 0))
        if len(res.corrections):
            result.corrections.append(res.corrections)
        add_report_extras(result, res, source_code)
        if keep_clean:
            # Match keys for linkage: standard names, birth date, birth parish code; a
            # birthplace like 'her i sognet' resolves to the delivery's own parish.
            own = parish_of_deliveries(d for d, _ in items)
            part = clean_columns(source_code, res.clean, extras)
            tables = res.tables
            # The checked frame's own working columns (dates as datetimes, book sections …)
            # are not in the table: let them go before the match keys are added.
            del res

            def keys(kind: str):
                return lambda rows: add_match_keys(rows, kind, rows["INDTASTNINGSNUMMER"].map(own))

            if spill_dir is not None:
                from ingest.outputs import spill

                # Match keys made slice by slice as the table is written (see ``spill``).
                part = spill(part, spill_dir, source_code.lower(), add=keys(source_code))
            else:
                part = keys(source_code)(part)
            result.clean.setdefault(source_code, []).append(part)
            del part
            for name, table in tables.items():
                add = keys("FT_CHILDREN") if name == "ft_children" else None
                if spill_dir is not None:
                    table = spill(table, spill_dir, name, add=add)
                elif add is not None:
                    table = add(table)
                result.tables.setdefault(name, []).append(table)
        # Hand the batch's memory back: Arrow's allocator keeps freed pages otherwise, and
        # the next batch (or the writing of the tables) would come on top of them.
        pa.default_memory_pool().release_unused()

    with _progress(len(candidates) + len(loose), progress) as bar:
        def loaded():
            for cand in candidates:
                yield [load_candidate(cand)]
            for item in loose:
                yield load_loose_file(item)

        for deliveries in loaded():
            for d in deliveries:
                summary = DeliverySummary(d.entry_number, d.source, [f.as_dict() for f in d.files], d.rows,
                                          d.physical_rows, d.meta)
                for f in d.findings:
                    summary.counts[f["severity"]] += 1
                delivery_findings.extend(d.findings)
                result.deliveries.append(summary)
                log.info("delivery %s (%s): %d rows read, %d delivery-level findings", d.entry_number, d.source,
                         d.rows, len(d.findings))
                if on_delivery is not None:
                    on_delivery(d)
                if d.table is not None and d.source in SOURCES and SOURCES[d.source].supported:
                    batch.setdefault(d.source, []).append((d, summary))
                    batch_rows[d.source] += d.rows
                    if batch_rows[d.source] >= BATCH_ROWS:
                        flush(d.source)
            bar.update(1)
        for source_code in list(batch):
            flush(source_code)
    if delivery_findings:
        finding_parts.insert(0, pd.DataFrame(delivery_findings, columns=FINDING_COLUMNS))
    parts = [p for p in finding_parts if len(p)]
    if parts:
        result.findings = pd.concat(parts, ignore_index=True)
        order = {"error": 0, "warning": 1, "info": 2}
        result.findings = result.findings.assign(
            _sev=result.findings["severity"].map(order),
            _line=pd.to_numeric(result.findings["line"], errors="coerce"),
        ).sort_values(["entry_number", "file", "_line", "_sev", "code"], kind="stable", na_position="first").drop(
            columns=["_sev", "_line"]).reset_index(drop=True)
    totals = result.counts
    log.info("run finished: %d deliveries, %d errors, %d warnings, %d infos", len(result.deliveries),
             totals.get("error", 0), totals.get("warning", 0), totals.get("info", 0))
    return result


def corrections_frame(result: RunResult) -> pd.DataFrame:
    if not result.corrections:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in CORRECTION_COLUMNS})
    out = pd.concat(result.corrections, ignore_index=True)
    out["LOEBE_NR"] = pd.array(out["LOEBE_NR"], dtype="Int64")
    for col in CORRECTION_COLUMNS:
        if col not in ("LOEBE_NR", "line"):
            out[col] = out[col].astype("string")
    return out
