"""A generated church book of births for the keying robot: what the book says (the values
the store must end up with), what the scans are made to read (OCR), and the few places
where the transcriber's keying goes astray or the book itself is wrong.

Seeded, so every run keys the same book. Three sections, as the printed forms of the
1920s keep them: the boys of 1921, the girls of 1921, the boys of 1922, each numbered from 1
with one sub-entry (``9a``, ``4a``); ten rows on a page, a section starting on a new page
(and page 16 left blank).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

BOYS = ["Hans", "Niels", "Jens", "Peter", "Anders", "Christian", "Carl", "Poul", "Erik", "Svend", "Knud", "Aage",
        "Holger", "Valdemar", "Frederik", "Johannes", "Ole", "Viggo", "Henning", "Kristian"]
GIRLS = ["Anna", "Karen", "Marie", "Ellen", "Inger", "Kirstine", "Dagmar", "Gudrun", "Johanne", "Ingeborg", "Edith",
         "Ruth", "Else", "Astrid", "Mette", "Olga", "Signe", "Emma"]
MIDDLE_BOYS = ["Peter", "Christian", "Emil", "Vilhelm", "Marius", "Johan"]
MIDDLE_GIRLS = ["Marie", "Kristine", "Margrethe", "Sofie", "Elisabeth"]
SURNAMES = ["Hansen", "Jensen", "Nielsen", "Larsen", "Pedersen", "Andersen", "Christensen", "Sørensen", "Rasmussen",
            "Olsen", "Petersen", "Madsen", "Jørgensen", "Frederiksen", "Mortensen", "Hjort", "Bak"]
JOBS = ["Gaardmand", "Husmand", "Arbejdsmand", "Smed", "Fisker", "Tømrer", "Skrædder", "Murer", "Gaardejer"]
PLACES = ["Vejby", "Vejby", "Vejby", "Vejby Strand", "Tisvilde", "Tibirke", "Helsinge", "Ramløse"]
WOMEN = GIRLS + ["Ane", "Maren", "Kristiane", "Caroline", "Nielsine"]

SECTIONS = (  # (year, sex, entries in book order, first page number)
    (1921, "M", [str(n) for n in range(1, 10)] + ["9a"] + [str(n) for n in range(10, 18)], 12),
    (1921, "K", [str(n) for n in range(1, 5)] + ["4a"] + [str(n) for n in range(5, 16)], 14),
    (1922, "M", [str(n) for n in range(1, 17)], 17),  # page 16 was left blank in the book
)
ROWS_PER_PAGE = 10
KEYED = ("KILDE_SIDE", "KILDE_LOEBE_NR", "KALENDERAAR", "FOEDSELSDATO", "FOEDESTED", "FORNAVN", "MELLEMNAVNE",
         "EFTERNAVN", "KOEN", "KIRKEDAABSDATO", "FADERS_STILLING", "FADERS_FORNAVN", "FADERS_EFTERNAVN",
         "FADERS_STEDNAVN", "MODERS_FORNAVN", "MODERS_PIGENAVN", "MODERS_ALDER")


@dataclass
class Slip:
    """Keyed differently from the book at first: ``typed`` is what goes in, then ``key``
    (``Alt+j``: a check's suggestion puts it right; ``Alt+b``: the book's wrong value is
    kept with ``note``; ``Shift+Tab``: a typo no check can see, noticed on leaving the field,
    gone back to and typed again; ``later``: such a typo saved with the record and noticed two
    records on, put right in the saved record (Alt+Up, the field, Enter))."""
    field: str
    typed: str
    key: str
    note: str | None = None


@dataclass
class Entry:
    fields: dict[str, str]
    page_seq: int  # 1-based scan of the book
    row: int  # row on the page, 0-based
    slips: list[Slip] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    reload_after: str | None = None  # a field: reload the page after typing it (draft restore)


@dataclass
class Book:
    entries: list[Entry]
    ocr: dict[int, dict]  # page seq -> the OCR result the scan is made to give
    from_year: int = 1921
    to_year: int = 1925


def _date(d: date) -> str:
    return d.strftime("%Y%m%d")


def make_book(seed: int = 1921) -> Book:
    rng = random.Random(seed)
    entries: list[Entry] = []
    seq = 0
    for year, sex, numbers, first_page in SECTIONS:
        births = sorted(date(year, 1, 1) + timedelta(days=rng.randrange(0, 330)) for _ in numbers)
        for k, (number, born) in enumerate(zip(numbers, births)):
            if k % ROWS_PER_PAGE == 0:
                seq += 1
            surname = rng.choice(SURNAMES)
            father = rng.choice(BOYS)
            f = {
                "KILDE_SIDE": str(first_page + k // ROWS_PER_PAGE), "KILDE_LOEBE_NR": number, "KALENDERAAR": str(year),
                "FOEDSELSDATO": _date(born), "FOEDESTED": rng.choice(PLACES),
                "FORNAVN": rng.choice(BOYS if sex == "M" else GIRLS),
                "MELLEMNAVNE": rng.choice(MIDDLE_BOYS if sex == "M" else MIDDLE_GIRLS) if rng.random() < 0.3 else "",
                "EFTERNAVN": surname, "KOEN": sex,
                "KIRKEDAABSDATO": _date(born + timedelta(days=rng.randrange(14, 50))) if rng.random() < 0.8 else "",
                "FADERS_STILLING": rng.choice(JOBS), "FADERS_FORNAVN": father, "FADERS_EFTERNAVN": surname,
                "FADERS_STEDNAVN": rng.choice(PLACES), "MODERS_FORNAVN": rng.choice(WOMEN),
                "MODERS_PIGENAVN": rng.choice([s for s in SURNAMES if s != surname]),
                "MODERS_ALDER": str(rng.randrange(20, 43)),
            }
            entries.append(Entry({k: v for k, v in f.items() if v}, seq, k % ROWS_PER_PAGE))
    _plant(entries, rng)
    return Book(entries, _ocr(entries))


def _plant(entries: list[Entry], rng: random.Random) -> None:
    """The keying slips and the book's own errors, on records that start no section."""
    free = [i for i, e in enumerate(entries) if e.fields["KILDE_LOEBE_NR"] not in ("1",) and i > 2]
    rng.shuffle(free)
    used: set[int] = set()

    def take(ok) -> Entry:
        i = next(i for i in free if i not in used and ok(entries[i]))
        used.add(i)
        return entries[i]

    # Day and month typed the wrong way round: the check proposes the swap (Alt+J).
    e = take(lambda e: int(e.fields["FOEDSELSDATO"][6:]) > 12 and e.fields["FOEDSELSDATO"][4:6] != "12")
    d = e.fields["FOEDSELSDATO"]
    e.slips.append(Slip("FOEDSELSDATO", d[:4] + d[6:] + d[4:6], "Alt+j"))
    # A digit 1 for the letter i in a name: the check reads it as the letter (Alt+J).
    e = take(lambda e: "i" in e.fields["FORNAVN"][1:])
    n = e.fields["FORNAVN"]
    e.slips.append(Slip("FORNAVN", n[0] + n[1:].replace("i", "1", 1), "Alt+j"))
    # A baptism keyed the short way (15.5.21): the check writes it out (Alt+J).
    e = take(lambda e: "KIRKEDAABSDATO" in e.fields)
    b = e.fields["KIRKEDAABSDATO"]
    e.slips.append(Slip("KIRKEDAABSDATO", f"{int(b[6:])}.{int(b[4:6])}.{b[2:4]}", "Alt+j"))
    # The book's own errors, kept as written with a note (Alt+B).
    e = take(lambda e: int(e.fields["FOEDSELSDATO"][4:6]) in (2, 3) and "KIRKEDAABSDATO" not in e.fields)
    e.fields["FOEDSELSDATO"] = e.fields["FOEDSELSDATO"][:4] + "0230"
    e.notes["FOEDSELSDATO"] = "står sådan i bogen, 30. februar"
    e.slips.append(Slip("FOEDSELSDATO", e.fields["FOEDSELSDATO"], "Alt+b", e.notes["FOEDSELSDATO"]))
    e = take(lambda e: True)
    e.fields["MODERS_ALDER"] = "53"
    e.notes["MODERS_ALDER"] = "alderen står sådan i bogen"
    e.slips.append(Slip("MODERS_ALDER", "53", "Alt+b", e.notes["MODERS_ALDER"]))
    e = take(lambda e: "KIRKEDAABSDATO" in e.fields and e.fields["FOEDSELSDATO"][4:6] not in ("01", "12"))
    born = date(int(e.fields["FOEDSELSDATO"][:4]), int(e.fields["FOEDSELSDATO"][4:6]),
                int(e.fields["FOEDSELSDATO"][6:]))
    e.fields["KIRKEDAABSDATO"] = _date(born - timedelta(days=9))
    e.notes["KIRKEDAABSDATO"] = "dåben står før fødslen i bogen"
    e.slips.append(Slip("KIRKEDAABSDATO", e.fields["KIRKEDAABSDATO"], "Alt+b", e.notes["KIRKEDAABSDATO"]))
    # The page is reloaded in the middle of a record (the draft brings the typing back).
    take(lambda e: e.row > 0).reload_after = "FORNAVN"
    # A father's name with two letters swapped, noticed only two records later.
    e = take(lambda e: len(e.fields["FADERS_FORNAVN"]) >= 4 and entries.index(e) < len(entries) - 2)
    n = e.fields["FADERS_FORNAVN"]
    e.slips.append(Slip("FADERS_FORNAVN", n[0] + n[2] + n[1] + n[3:], "later"))
    # Two letters swapped in a surname: nothing flags it, the transcriber sees it and goes back.
    for _ in range(2):
        e = take(lambda e: len(e.fields["EFTERNAVN"]) >= 5)
        n = e.fields["EFTERNAVN"]
        e.slips.append(Slip("EFTERNAVN", n[:2] + n[3] + n[2] + n[4:], "Shift+Tab"))


def _ocr(entries: list[Entry]) -> dict[int, dict]:
    """What each scan is made to read: its page number (one page read too poorly to fill
    in), the heading's year, and per row some entry numbers and birth dates -- sure enough to
    fill in, or only offered, or misread."""
    pages: dict[int, dict] = {}
    for e in entries:
        p = pages.setdefault(e.page_seq, {
            "page_number": {"value": e.fields["KILDE_SIDE"], "confidence": 0.99, "box": [1500, 80, 1620, 140]},
            "heading_year": {"value": e.fields["KALENDERAAR"], "confidence": 0.95},
            "rows": [], "findings": []})
        top = 300 + 150 * e.row
        p["rows"].append({"entry_number": None, "band": [100, top, 1650, top + 140], "dates": []})
    def row(e):
        return pages[e.page_seq]["rows"][e.row]

    def reading(value, confidence):
        return {"value": value, "confidence": confidence, "box": [130, 310, 220, 380]}

    # p. 17 misread, too poorly to fill in: the proposal (previous page + 1 = 16) is typed over
    pages[5]["page_number"].update(value="11", confidence=0.4)
    for e in entries:
        number, section_start = e.fields["KILDE_LOEBE_NR"], e.row == 0 and e.fields["KILDE_LOEBE_NR"] == "1"
        if section_start and e.page_seq != 5:
            row(e)["entry_number"] = reading("1", 0.97)  # sure: filled in, over any proposal
        elif section_start:
            row(e)["entry_number"] = reading("1", 0.62)  # offered only (Alt+J takes it)
        elif number == "9a":
            row(e)["entry_number"] = reading("9a", 0.93)  # sure: wins over the proposal 10
        elif number == "4a":
            row(e)["entry_number"] = reading("4a", 0.55)  # offered; the transcriber types it
        elif e.page_seq == 6 and e.row == 2:
            row(e)["entry_number"] = reading("8", 0.94)  # misread, yet sure: filled in, typed over
        elif e.row in (3, 7):
            row(e)["entry_number"] = reading(number, 0.6)  # agrees with the proposal, below the threshold
    # Birth dates: offered, never filled in (no threshold for dates); one misread.
    dated = [e for e in entries if not e.slips and e.row > 0]
    for k, e in enumerate(dated[2:40:6]):
        d = e.fields["FOEDSELSDATO"]
        value = d if k != 2 else d[:6] + ("08" if d[6:] != "08" else "03")
        row(e)["dates"].append({"role": "date", "value": value[:4] + "-" + value[4:6] + "-" + value[6:],
                                "confidence": 0.45, "box": [600, 310, 800, 380]})
    return pages
