"""The sources the register reads, and what each one's files hold.

A source is a schema (``validators.schemas``), the value KIIP writes in ``KILDE``, the
suffix of its data file, its required columns, and the record and set rules that apply.
Adding a source means adding an entry here (and its rules to the dispatch tables of
``record_rules`` and ``set_rules``), not a second pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from validators.schemas import FtRecord, KbdRecord, KbfRecord


@dataclass(frozen=True)
class Source:
    code: str  # KBF | KBD | FT
    kilde: str  # the value KIIP writes in KILDE
    data_suffix: str  # fd | dd | ft
    columns: tuple[str, ...]
    required: tuple[str, ...]
    model: type[BaseModel] | None = None  # None: recognised but not validated yet
    section_fields: tuple[str, ...] = ()  # what a book section is (entry numbers restart)
    event_date: str | None = None
    # Name columns of the person the record is about, and of the people named beside
    # them (parents, spouse): the duplicate check compares both.
    person_names: tuple[str, ...] = ()
    relation_names: tuple[str, ...] = ()
    record_noun: str = "record"  # how messages speak of one record ("child", "person")
    # Columns the record and set rules add that belong in the clean table, after the flags.
    derived_columns: tuple[str, ...] = ()
    options: dict = field(default_factory=dict)

    @property
    def supported(self) -> bool:
        return self.model is not None


BOOK_REQUIRED = ("INDTASTNINGSNUMMER", "KILDE", "LOEBE_NR", "KILDEANGIVELSE", "KILDE_SIDE", "KILDE_LOEBE_NR",
                 "KALENDERAAR")

KBF = Source(
    code="KBF", kilde="Fødte", data_suffix="fd",
    columns=tuple(KbfRecord.model_fields),
    required=BOOK_REQUIRED + ("FOEDSELSDATO", "FORNAVN", "EFTERNAVN", "KOEN"),
    model=KbfRecord,
    section_fields=("KALENDERAAR", "KOEN"),
    event_date="FOEDSELSDATO",
    person_names=("FORNAVN_REN", "MELLEMNAVNE_REN", "EFTERNAVN_REN"),
    relation_names=("FADERS_FORNAVN_REN", "FADERS_EFTERNAVN_REN", "MODERS_FORNAVN_REN", "MODERS_PIGENAVN_REN",
                    "MODERS_EFTERNAVN_REN"),
    record_noun="child",
)
KBD = Source(
    code="KBD", kilde="Døde", data_suffix="dd",
    columns=tuple(KbdRecord.model_fields),
    required=BOOK_REQUIRED + ("DOEDSDATO", "KOEN"),
    model=KbdRecord,
    section_fields=("KALENDERAAR", "KOEN"),
    event_date="DOEDSDATO",
    person_names=("FORNAVN_REN", "MELLEMNAVNE_REN", "EFTERNAVN_REN"),
    relation_names=("FADERS_NAVN_REN", "MODERS_NAVN_REN", "AEGTEFAELLES_NAVN_REN"),
    record_noun="person",
    derived_columns=("ALDER_VED_DOED",),
)
FT = Source(
    code="FT", kilde="Folketælling", data_suffix="ft",
    columns=tuple(FtRecord.model_fields),
    required=("INDTASTNINGSNUMMER", "LOEBE_NR", "KOEN"),
    model=FtRecord,
    person_names=("FULDT_NAVN_REN", "FORNAVN_REN", "MELLEMNAVNE_REN", "EFTERNAVN_REN"),
    record_noun="person",
    derived_columns=("HUSSTAND_ID", "HUSSTAND_NR", "FAMILIEROLLE", "STILLING_KODE", "ROLLE_REGEL",
                     "FAR_LOEBE_NR", "MOR_LOEBE_NR", "FORAELDRE_REGEL", "HUSSTAND_REGEL", "TAELLINGSDATO", "SKEMA_VERSION",
                     "LAYOUT", "STANDARDISERET",
                     "ALDER_BEREGNET", "ALDER_I_AAR", "NAVN_SAMLET", "EFTERNAVN_UDLEDT", "BOR_ANDETSTEDS"),
)

SOURCES: dict[str, Source] = {s.code: s for s in (KBF, KBD, FT)}
BY_SUFFIX: dict[str, Source] = {s.data_suffix: s for s in SOURCES.values()}
BY_KILDE: dict[str, Source] = {s.kilde.casefold(): s for s in SOURCES.values()}
