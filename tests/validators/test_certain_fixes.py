"""Fixes whose reading is certain are applied (with their finding and correction row), so
the record stays linkable; an uncertain one is only suggested."""

from __future__ import annotations

import pandas as pd
from conftest import kbf_row, write_delivery

from ingest.pipeline import corrections_frame, run_pipeline


def test_sex_written_as_pige_or_dreng_is_read_and_the_child_stays_linkable(tmp_path):
    rows = [kbf_row(i, i) for i in range(1, 5)]
    rows[0].update(KOEN="pige")
    rows[1].update(KOEN="Dreng")
    rows[2].update(KOEN="pd")
    write_delivery(tmp_path, rows, entry="K2697")
    result = run_pipeline([tmp_path], keep_clean=True)
    clean = pd.concat(result.clean["KBF"], ignore_index=True).set_index("LOEBE_NR")
    assert clean.loc[[1, 2], "KOEN_REN"].tolist() == ["K", "M"]
    assert clean.loc[[1, 2], "TIL_LINKAGE"].tolist() == [True, True]
    assert pd.isna(clean.at[3, "KOEN_REN"]) and not clean.at[3, "TIL_LINKAGE"]
    findings = {f["loebe_nr"]: f for f in result.findings_json()["findings"] if f["code"] == "KOEN_INVALID"}
    assert (findings[1]["auto_fix"], findings[2]["auto_fix"], findings[3]["auto_fix"]) == (True, True, False)
    assert findings[3]["suggestion"] == "M"  # offered, not applied
    corrections = corrections_frame(result)
    sex = corrections[corrections["field"] == "KOEN"].set_index("LOEBE_NR")
    assert sex.loc[[1, 2], "new_value"].tolist() == ["K", "M"] and 3 not in sex.index
