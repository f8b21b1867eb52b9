"""How the entry form of each source is laid out: the book's columns in the book's order.

The columns and their order come from the source (``validators.sources``), so the form,
the checks and the export agree on one list. What is added here is only presentation and
keying help: a label as printed in the book, a group heading, which values the book
repeats from one record to the next (carried forward), which value is proposed from the
previous record, which OCR reading fills which field, and which list of known spellings
a field's autocomplete draws on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from validators.schemas import field_rules
from validators.sources import SOURCES, Source

# Filled in by the system, never keyed: the delivery, the source, the record key, the
# book's title (KILDEANGIVELSE is the book's, set when the book is registered) and KIIP's
# own control field.
AUTOMATIC = ("INDTASTNINGSNUMMER", "KILDE", "LOEBE_NR", "KILDEANGIVELSE", "LOEBENR_KONTROL")

LABELS = {
    "KILDE_SIDE": "Side", "KILDE_LOEBE_NR": "Nr.", "KALENDERAAR": "Kalenderår", "TAELLINGSAAR": "Tællingsår",
    "FOEDSELSDATO": "Fødselsdato", "FOEDESTED": "Fødested", "FORNAVN": "Fornavn", "MELLEMNAVNE": "Mellemnavne",
    "EFTERNAVN": "Efternavn", "KOEN": "Køn", "HJEMMEDAABSDATO": "Hjemmedåb", "KIRKEDAABSDATO": "Kirkedåb",
    "DAABSSTED": "Dåbssted", "AEGTE_UAEGTE": "Ægte/uægte", "FLERFOEDSEL_ANTAL": "Flerfødsel",
    "VIELSE_DATO": "Forældrenes vielse", "VIELSE_STED": "Vielsessted", "FOERSTE_FADDERS_LBNR": "1. fadders nr.",
    "ANTAL_FADDERE": "Antal faddere", "ANMAERKNINGER": "Anmærkninger", "KILDEBEMAERKNINGER": "Kildebemærkninger",
    "INDTASTERS_BEMAERKNINGER": "Indtasters bemærkninger", "DOEDSDATO": "Dødsdato", "DOEDSSTED": "Dødssted",
    "BEGRAVELSESDAG": "Begravelsesdag", "BEGRAVELSESSTED": "Begravelsessted", "CIVILSTAND": "Civilstand",
    "ERHVERV": "Erhverv", "STEDNAVN": "Bopæl", "ALDER": "Alder", "PRAESTENS_NAVN": "Præstens navn",
    "SKEMA_NR": "Skema nr.", "BYENS_NAVN": "By", "EJERLAV": "Ejerlav", "EJENDOMMENS_MATR_NR": "Matr. nr.",
    "GADENS_NAVN": "Gade", "GADENUMMER": "Husnr.", "FAMILIE_LOEBE_NR": "Familie nr.", "PIGENAVN": "Pigenavn",
    "BOPAEL_ANDETSTEDS": "Bopæl andetsteds", "OPHOLDSSTED": "Opholdssted", "FOEDSELSDAG": "Fødselsdag",
    "FOEDEAAR": "Fødeår", "STATSBORGERFORHOLD": "Statsborgerforhold",
    "AEGTESKABELIG_STILLING": "Ægteskabelig stilling", "VIELSESDATO": "Vielsesdato",
    "STILLING_I_HUSSTANDEN": "Stilling i husstanden", "VIRKSOMHED": "Virksomhed",
    "HJAELPER_FAMILIEOVERHOVED": "Hjælper familieoverhoved", "HANDIKAP": "Handikap", "FULDT_NAVN": "Fulde navn",
    "STILLING": "Stilling", "NAVN": "Navn", "FOEDSELSDAG_": "Fødselsdag", "PIGENAVN_": "Pigenavn",
}
PERSON_PREFIXES = {"FADERS_": "Faderen", "MODERS_": "Moderen", "AEGTEFAELLES_": "Ægtefællen",
                   "ANDEN_SLAEGTNING_": "Anden slægtning"}
REMARKS = ("ANMAERKNINGER", "KILDEBEMAERKNINGER", "INDTASTERS_BEMAERKNINGER")

CARRIED = {
    "KBF": ("KILDE_SIDE", "KALENDERAAR", "KOEN"),
    "KBD": ("KILDE_SIDE", "KALENDERAAR", "KOEN"),
    "FT": ("TAELLINGSAAR", "SKEMA_NR", "BYENS_NAVN", "EJERLAV", "EJENDOMMENS_MATR_NR", "GADENS_NAVN", "GADENUMMER",
           "FAMILIE_LOEBE_NR"),
}
PROPOSED = {"KBF": ("KILDE_LOEBE_NR",), "KBD": ("KILDE_LOEBE_NR",), "FT": ()}
# Which OCR reading (ingest.ocr) fills which field.
OCR_ROLES = {
    "KBF": {"KILDE_SIDE": "page_number", "KILDE_LOEBE_NR": "entry_number", "FOEDSELSDATO": "date",
            "KIRKEDAABSDATO": "date2"},
    "KBD": {"KILDE_SIDE": "page_number", "KILDE_LOEBE_NR": "entry_number", "DOEDSDATO": "date",
            "BEGRAVELSESDAG": "date2"},
    "FT": {"FOEDSELSDAG": "date"},
}
# Section of a church book: entry numbers restart for each (registration year, sex).
SECTION_FIELDS = {"KBF": ("KALENDERAAR", "KOEN"), "KBD": ("KALENDERAAR", "KOEN"), "FT": ("SKEMA_NR",)}
SHORT = {"KILDE_SIDE", "KILDE_LOEBE_NR", "KALENDERAAR", "KOEN", "TAELLINGSAAR", "ALDER", "MODERS_ALDER",
         "FLERFOEDSEL_ANTAL", "ANTAL_FADDERE", "FOERSTE_FADDERS_LBNR", "AEGTE_UAEGTE", "SKEMA_NR", "GADENUMMER",
         "FAMILIE_LOEBE_NR", "FOEDEAAR", "EJENDOMMENS_MATR_NR"}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    group: str
    kind: str  # date | name | place | int | entry | plain | text
    carry: bool = False
    propose: bool = False
    ocr: str | None = None
    suggest: str | None = None  # fornavn | efternavn | place: which autocomplete list
    short: bool = False


def _label(name: str) -> str:
    if name in LABELS:
        return LABELS[name]
    for prefix in PERSON_PREFIXES:
        if name.startswith(prefix):
            rest = name.removeprefix(prefix)
            return LABELS.get(rest, LABELS.get(rest + "_", rest.replace("_", " ").capitalize()))
    return name.replace("_", " ").capitalize()


def _group(source: Source, name: str) -> str:
    if name in REMARKS:
        return "Bemærkninger"
    for prefix, title in PERSON_PREFIXES.items():
        if name.startswith(prefix):
            return title
    if name in ("KILDE_SIDE", "KILDE_LOEBE_NR", "KALENDERAAR", "TAELLINGSAAR", "SKEMA_NR"):
        return "Placering i kilden"
    if source.code == "FT" and name in CARRIED["FT"]:
        return "Husstanden"
    if source.code == "KBF" and name.startswith(("HJEMMEDAAB", "KIRKEDAAB", "DAABS", "AEGTE_", "FLERFOEDSEL")):
        return "Dåb"
    if source.code == "KBF" and name.startswith(("VIELSE", "FOERSTE_FADDER", "ANTAL_FADDER")):
        return "Vielse og faddere"
    if source.code == "KBD" and name.startswith(("DOEDS", "BEGRAVELSE")):
        return "Død og begravelse"
    return {"KBF": "Barnet", "KBD": "Den døde", "FT": "Personen"}[source.code]


def _suggest(name: str, kind: str) -> str | None:
    if kind == "place" or name.endswith(("STED", "STEDNAVN")):
        return "place"
    if kind == "name" or name.endswith(("NAVN", "NAVNE")):
        if name.endswith(("EFTERNAVN", "PIGENAVN")):
            return "efternavn"
        if name.endswith(("FORNAVN", "MELLEMNAVNE")):
            return "fornavn"
        return "fornavn" if not name.endswith("_NAVN") else None
    return None


# Columns the FT schema knows from census downloads (DDD) that a KIIP export does not have.
NOT_IN_KIIP = {"FT": ("FULDT_NAVN", "ALDER")}


def kiip_columns(source_code: str) -> list[str]:
    """The data header of a KIIP export of this source, in KIIP's order (KIIP_FORMAT.md)."""
    return [c for c in SOURCES[source_code].columns if c not in NOT_IN_KIIP.get(source_code, ())]


def form_fields(source_code: str) -> list[FieldSpec]:
    """The keyed fields of a source, in the order of its columns."""
    source = SOURCES[source_code]
    rules = field_rules(source.model)
    out = []
    for name in kiip_columns(source_code):
        if name in AUTOMATIC:
            continue
        kind = rules[name].kind if name in rules else ("text" if name in REMARKS else "plain")
        out.append(FieldSpec(
            name=name, label=_label(name), group=_group(source, name), kind=kind,
            carry=name in CARRIED[source_code], propose=name in PROPOSED[source_code],
            ocr=OCR_ROLES[source_code].get(name), suggest=_suggest(name, kind),
            short=name in SHORT or kind == "date",
        ))
    return out


def layout_json(source_code: str) -> list[dict]:
    return [asdict(f) for f in form_fields(source_code)]


def keyed_columns(source_code: str) -> list[str]:
    return [f.name for f in form_fields(source_code)]
