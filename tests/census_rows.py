"""Census files in the DDD research layout (the pipe-separated extract with Danish column
names), written row by row for the tests that need one small file of it."""

from __future__ import annotations

RESEARCH_HEADER = ("Indtastningsnr|kilde|amt|herred|sogn|lbnr|kildehenvisning|stednavn|husstnr|matr_nr_adresse|"
                   "navn|køn|alder|civilstkode|erhverv|kommentarer|fødeår")


def research_row(entry: str, year: int, n: int, name: str, sex: str, age: int,
                 position: str = "", marital: str = "1") -> str:
    """Person ``n`` of household 1 in Aars, born ``age`` years before the census; ``position``
    goes in the occupation column, where these extracts keep it."""
    born = year - age
    return (f"{entry}|FT-{year}|Aalborg|Aars|Aars|{n}|Lb. 1|Aars By|1|Huus|{name}|{sex}|{age}|{marital}|"
            f"{position}||{born}")
