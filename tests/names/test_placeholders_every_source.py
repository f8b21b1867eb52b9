"""'UOP' (uoplyst: unknown) and the other name placeholders are removed from every name
field of every source, with a NAME_PLACEHOLDER finding and a correction row, also in
deliveries large enough for the engine's fast path."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import ft_row, kbd_row, kbf_row, write_delivery

from ingest.pipeline import corrections_frame, run_pipeline
from validators.match_keys import add_match_keys
from validators.sources import FT, KBD


@pytest.mark.parametrize("rows", [5, 1200])
def test_uop_in_a_kbf_middle_name_is_removed_with_a_finding(tmp_path, rows):
    data = [kbf_row(i, i) for i in range(1, rows + 1)]
    data[1].update(FORNAVN="Karen", MELLEMNAVNE="UOP", EFTERNAVN="Thomsen")
    data[2].update(FADERS_FORNAVN="uop")
    write_delivery(tmp_path, data, entry="K2697")
    result = run_pipeline([tmp_path], keep_clean=True)
    clean = pd.concat(result.clean["KBF"], ignore_index=True).set_index("LOEBE_NR")
    assert pd.isna(clean.at[2, "MELLEMNAVNE_REN"]) and clean.at[2, "MELLEMNAVNE"] == "UOP"
    assert pd.isna(clean.at[3, "FADERS_FORNAVN_REN"])
    keys = add_match_keys(clean.reset_index(), "KBF").set_index("LOEBE_NR")
    assert "UOP" not in keys.at[2, "NAVN_NOEGLE"]
    found = {(f["loebe_nr"], f["field"]) for f in result.findings_json()["findings"] if f["code"] == "NAME_PLACEHOLDER"}
    assert {(2, "MELLEMNAVNE"), (3, "FADERS_FORNAVN")} <= found
    corrections = corrections_frame(result)
    assert len(corrections[(corrections["rule"] == "NAME_PLACEHOLDER") & (corrections["field"] == "MELLEMNAVNE")]) == 1


def test_uop_in_kbd_and_ft_names_too(tmp_path):
    kbd, ft = tmp_path / "kbd", tmp_path / "ft"
    kbd.mkdir()
    ft.mkdir()
    write_delivery(kbd, [kbd_row(1, 1, MELLEMNAVNE="UOP"), kbd_row(2, 2)], entry="K2750", source=KBD)
    write_delivery(ft, [ft_row(1, "Husfader", FORNAVN="Jens", MELLEMNAVNE="UOP", EFTERNAVN="Holm", KOEN="M"),
                        ft_row(2, "Hustru", FORNAVN="Ane", EFTERNAVN="Holm", KOEN="K")], entry="K3801", source=FT)
    result = run_pipeline([tmp_path], keep_clean=True)
    for source in ("KBD", "FT"):
        clean = pd.concat(result.clean[source], ignore_index=True).set_index("LOEBE_NR")
        assert pd.isna(clean.at[1, "MELLEMNAVNE_REN"]), source
    found = {(f["source"], f["field"]) for f in result.findings_json()["findings"] if f["code"] == "NAME_PLACEHOLDER"}
    assert {("KBD", "MELLEMNAVNE"), ("FT", "MELLEMNAVNE")} <= found
