"""The store's tables for linkage carry the cross-source check: DOED_FOER_CPR on the
births of children found in a book of deaths, and the findings beside the others."""

from __future__ import annotations

import pandas as pd
import pytest

from fixtures.generator_population import write
from ingest.store import import_paths
from ingest.store.clean import write_rebuilt

pytest_plugins = ["store_fixtures"]  # the db_url, store and work fixtures


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_tables_from_the_store_carry_the_crosscheck(tmp_path, store, fmt):
    key = write(tmp_path / "in")
    import_paths(store, [tmp_path / "in"])
    files = write_rebuilt(store, tmp_path / "out", fmt=fmt)
    read = (lambda p: pd.read_parquet(p)) if fmt == "parquet" else (
        lambda p: pd.read_csv(p, sep=";", dtype=str, keep_default_na=False, na_values=[""]))
    kbf = read(files.paths["kbf"])
    marked = kbf[kbf["DOED_FOER_CPR"].notna()]
    wanted = {(e["kbf"]["entry_number"], e["kbf"]["loebe_nr"]) for e in key["died_before_cpr"]}
    found = {(e, int(n)) for e, n in zip(marked["INDTASTNINGSNUMMER"], marked["LOEBE_NR"])}
    assert len(found & wanted) >= 0.95 * len(wanted) and found <= wanted
    copies = kbf[kbf["KOPI_AF"].notna()]
    assert len(copies) == len(key["duplicate_across_deliveries"]) + key["deliveries"]["K5009"]["rows"]
    assert not copies["TIL_LINKAGE"].astype(str).isin(["True", "true"]).any()
    findings = read(files.paths["findings"])
    assert (findings["code"] == "BIRTH_NOT_KEYED_KBD").sum() == len(key["birth_not_keyed"])
    assert findings.loc[findings["code"] == "BIRTH_NOT_KEYED_KBD", "message"].str.contains("other: KBD").all()
