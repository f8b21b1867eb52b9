"""The DigDag parish register (about 1820, 1,847 parishes with their official numbers)
installed with ``mgr-ingest places import``: its ASCII-folded names get their Danish
letters back, the file says where it came from, and census parishes and birthplaces
resolve against it.  The table lives in ../shared/reference and is never copied into the
repository: the tests import it into a temporary folder."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pandas as pd
import pytest
from conftest import SUMMARY_LINES

from ingest.cli import main
from ingest.pipeline import run_pipeline
from validators.places import REGISTER_ENV, import_parishes, unfold_danish

SHARED = Path(__file__).resolve().parents[3] / "shared"
DIGDAG = SHARED / "reference" / "digdag_parishes_1820.csv"
VEJBY = SHARED / "realdata" / "ddd-census-vejby"
RESEARCH = SHARED / "realdata" / "ddd-census-layouts" / "C3349_FT1880_aars_research_layout.csv"
LINKLIVES = SHARED / "realdata" / "ddd-census-layouts" / "linklives_transcribed_census_1845.csv"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    assert DIGDAG.is_file(), f"the DigDag table is missing: {DIGDAG}"
    target = tmp_path_factory.mktemp("register") / "parishes.csv"
    # in this process (mutation testing sees the calls), through the command's own entry point
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["places", "import", str(DIGDAG), "--to", str(target)])
    assert code == 0, err.getvalue()
    assert "1847 parishes" in out.getvalue() and "Lemvig" in err.getvalue()  # the one row without a number
    return target


def test_the_installed_register_says_where_it_came_from(installed):
    head = installed.read_text(encoding="utf-8").splitlines()[:3]
    assert "digdag_parishes_1820.csv" in head[1] and "sha256" in head[1]
    register = import_parishes(installed)
    assert len(register) == 1847
    nordrup = register.parishes["40211"]
    assert (nordrup.name, nordrup.herred, nordrup.amt, nordrup.variants) == (
        "Nordrupøster", "Ringsted", "Sorø", ("Nordrupoester",))


@pytest.mark.parametrize("folded, danish", [("Merloese", "Merløse"), ("Praestoe", "Præstø"), ("Aalborg", "Aalborg"),
                                            ("Lyngby-Taarbaek", "Lyngby-Tårbæk"), ("Aars", "Aars"),
                                            ("AARS", "AARS"), ("Aeroeskoebing", "Ærøskøbing"), ("Oens", "Øns"),
                                            ("Store Aaby", "Store Åby"), ("Hvidbjerg", "Hvidbjerg")])
def test_folded_names_get_their_danish_letters(folded, danish):
    assert unfold_danish(folded) == danish


def test_census_parishes_and_birthplaces_resolve_against_it(installed, monkeypatch):
    monkeypatch.setenv(REGISTER_ENV, str(installed))
    register = import_parishes(installed)
    result = run_pipeline([VEJBY, RESEARCH, LINKLIVES], keep_clean=True)
    parish = {d.entry_number: (d.meta.get("SOGN"), d.meta.get("AMT")) for d in result.deliveries}
    # The Vejby downloads have no parish column: their place names say Vejby, and of the two
    # DigDag parishes of that name the birthplaces point to the one in Frederiksborg amt.
    assert {parish[e] for e in ("C5799", "C6987", "D7013")} == {("Vejby", "Frederiksborg")}
    assert register.own_code("Vejby, Holbo, Frederiksborg") == "10113"
    assert register.own_code(", ".join(p for p in parish["C3349"] if p)) is not None
    assert register.own_code("Nordrupøster") == "40211"
    table = pd.concat(result.clean["FT"], ignore_index=True)
    lines = []
    for name, group in table.groupby("KILDEFIL"):
        stated = group["FOEDESTED"].fillna("").str.strip().ne("")
        if not stated.any():
            lines.append(f"{name}: no birthplace column")
            continue
        rate = group.loc[stated, "FOEDESTED_SOGNEKODE"].notna().mean()
        lines.append(f"{name}: {rate:.1%} of {int(stated.sum())} birthplaces")
        if name in ("C5799.csv", "C6987.csv", "D7013.csv"):
            assert rate >= 0.70, name
    text = "; ".join(lines)
    print("\nbirthplaces resolved against the DigDag register: " + text)
    SUMMARY_LINES.append("birthplaces resolved against the DigDag register: " + text)
