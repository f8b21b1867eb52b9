"""The sources the register reads, and what each one's files hold.

A source is a schema (``validators.schemas``), the value KIIP writes in ``KILDE``, the
suffix of its data file, its required columns, and the record and set rules that apply.
Adding a source means adding an entry here, not a second pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel

from validators.schemas import KbfRecord

KBD_COLUMNS = (
    "INDTASTNINGSNUMMER;KILDE;LOEBE_NR;KILDEANGIVELSE;KILDE_SIDE;KILDE_LOEBE_NR;KALENDERAAR;DOEDSDATO;"
    "DOEDSSTED;BEGRAVELSESDAG;BEGRAVELSESSTED;FORNAVN;MELLEMNAVNE;EFTERNAVN;KOEN;CIVILSTAND;ERHVERV;"
    "STEDNAVN;FOEDSELSDATO;FOEDESTED;ALDER;PRAESTENS_NAVN;FADERS_NAVN;FADERS_ERHVERV;FADERS_STEDNAVN;"
    "MODERS_NAVN;MODERS_PIGENAVN;MODERS_ERHVERV;MODERS_STEDNAVN;AEGTEFAELLES_NAVN;AEGTEFAELLES_ERHVERV;"
    "AEGTEFAELLES_STEDNAVN;ANDEN_SLAEGTNING_TYPE;ANDEN_SLAEGTNING_NAVN;ANDEN_SLAEGTNING_ERHVERV;"
    "ANDEN_SLAEGTNING_STEDNAVN;ANMAERKNINGER;KILDEBEMAERKNINGER;INDTASTERS_BEMAERKNINGER;LOEBENR_KONTROL"
).split(";")
FT_COLUMNS = (
    "INDTASTNINGSNUMMER;KILDE;TAELLINGSAAR;LOEBE_NR;KILDEANGIVELSE;SKEMA_NR;BYENS_NAVN;EJERLAV;"
    "EJENDOMMENS_MATR_NR;GADENS_NAVN;GADENUMMER;FAMILIE_LOEBE_NR;EFTERNAVN;MELLEMNAVNE;FORNAVN;PIGENAVN;"
    "KOEN;BOPAEL_ANDETSTEDS;OPHOLDSSTED;FOEDSELSDAG;FOEDEAAR;FOEDESTED;STATSBORGERFORHOLD;"
    "AEGTESKABELIG_STILLING;VIELSESDATO;STILLING_I_HUSSTANDEN;ERHVERV;VIRKSOMHED;HJAELPER_FAMILIEOVERHOVED;"
    "HANDIKAP;KILDEBEMAERKNINGER;INDTASTERS_BEMAERKNINGER;LOEBENR_KONTROL"
).split(";")


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
    options: dict = field(default_factory=dict)

    @property
    def supported(self) -> bool:
        return self.model is not None


KBF = Source(
    code="KBF", kilde="Fødte", data_suffix="fd",
    columns=tuple(KbfRecord.model_fields),
    required=("INDTASTNINGSNUMMER", "KILDE", "LOEBE_NR", "KILDEANGIVELSE", "KILDE_SIDE", "KILDE_LOEBE_NR",
              "KALENDERAAR", "FOEDSELSDATO", "FORNAVN", "EFTERNAVN", "KOEN"),
    model=KbfRecord,
    section_fields=("KALENDERAAR", "KOEN"),
    event_date="FOEDSELSDATO",
)
KBD = Source(
    code="KBD", kilde="Døde", data_suffix="dd", columns=tuple(KBD_COLUMNS),
    required=("INDTASTNINGSNUMMER", "KILDE", "LOEBE_NR", "KILDEANGIVELSE", "KILDE_SIDE", "KILDE_LOEBE_NR",
              "KALENDERAAR", "DOEDSDATO", "KOEN"),
)
FT = Source(
    code="FT", kilde="Folketælling", data_suffix="ft", columns=tuple(FT_COLUMNS),
    required=("INDTASTNINGSNUMMER", "LOEBE_NR", "KOEN"),
)

SOURCES: dict[str, Source] = {s.code: s for s in (KBF, KBD, FT)}
BY_SUFFIX: dict[str, Source] = {s.data_suffix: s for s in SOURCES.values()}
BY_KILDE: dict[str, Source] = {s.kilde.casefold(): s for s in SOURCES.values()}

RecordRule = Callable
