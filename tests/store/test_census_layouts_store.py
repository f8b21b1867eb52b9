"""Census files in other layouts through the store: a research extract holding two entry
numbers is two deliveries, and the same file again stores nothing twice; the real
research extract and the Link-Lives rows are imported with all their persons."""

from __future__ import annotations

import shutil
from pathlib import Path

from store_support import count

from ingest.store import import_paths

pytest_plugins = ["store_fixtures"]  # the db_url, store and work fixtures

REAL = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "ddd-census-layouts"
HEADER = ("kipnr|kilde|sogn|herred|amt|lbnr|kildehenvisning|stednavn|husstnr|matr_nr_adresse|navn|køn|alder|"
          "civilstand|erhverv|kommentarer|fødeår")


def _row(entry: str, n: int, name: str, sex: str, age: str, civil: str, position: str) -> str:
    return f"{entry}|FT-1880|Aars|Aars|Aalborg|{n}|Lb. 1|Aars By|1|Huus|{name}|{sex}|{age}|{civil}|{position}||"


def test_a_file_of_two_entry_numbers_is_two_deliveries_stored_once(tmp_path, store):
    folder = tmp_path / "in"
    folder.mkdir()
    rows = [_row("C1111", 1, "Jens Hansen", "M", "40,000", "Gift", "Husfader"),
            _row("C1111", 2, "Ane Hansen", "K", "38,000", "Gift", "Husmoder"),
            _row("C1111", 3, "Peder Hansen", "M", "9,000", "Ugift", "Barn"),
            _row("C2222", 1, "Niels Larsen", "M", "50,000", "Enkemand", "Husfader")]
    (folder / "FT1880_aars.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="latin-1")
    first = import_paths(store, [folder])
    assert sorted((o.entry_number, o.status, o.rows) for o in first.outcomes) == [
        ("C1111", "imported", 3), ("C2222", "imported", 1)]
    again = import_paths(store, [folder])
    assert sorted((o.entry_number, o.status) for o in again.outcomes) == [("C1111", "duplicate"),
                                                                          ("C2222", "duplicate")]
    assert count(store, "SELECT count(*) FROM deliveries WHERE status <> 'rejected'") == 2
    assert count(store, "SELECT count(*) FROM raw_rows") == 4


def test_the_real_layouts_are_imported_with_every_person(tmp_path, store):
    assert REAL.is_dir(), f"the real census layouts are missing: {REAL}"
    folder = tmp_path / "in"
    shutil.copytree(REAL, folder, ignore=shutil.ignore_patterns("*.md", "*utf7*"))
    run = import_paths(store, [folder])
    assert sorted((o.entry_number, o.status, o.rows) for o in run.outcomes) == [
        ("C2688", "imported", 1), ("C3349", "imported", 49), ("C8953", "imported", 1),
        ("LL1159", "imported", 1), ("LL1170", "imported", 1)]


def test_importing_only_a_file_that_is_no_delivery_exits_1(tmp_path, db_url):
    from store_support import cli, db_args

    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "shopping.csv").write_text("item;price\nbread;12\n", encoding="utf-8")
    proc = cli("import", str(inbox), "--work", str(tmp_path / "work"), *db_args(db_url))
    assert proc.returncode == 1, proc.stderr
    assert "1 rejected" in proc.stderr and "0 imported" in proc.stderr
    assert any((tmp_path / "work" / "quarantine").rglob("shopping.csv"))  # kept, with its reason
