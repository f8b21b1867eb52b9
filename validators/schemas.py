"""Pydantic schemas: the single statement of what a valid record is.

Every field that has rules is declared as ``Checked[...]`` with the checker that reads
it.  Three callers use the same declaration:

* ``KbfRecord.model_validate(row)`` raises a ``ValidationError`` whose error types are
  finding codes when a field holds an error (the web form's save check);
* ``check_record(KbfRecord, row)`` collects every issue, warnings included, without
  raising (the web form's as-you-type check);
* the bulk engine (``validators.engine``) validates each *distinct* value of a column
  through the same model (``check_value``), so a million rows cost their distinct values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo, WrapValidator
from pydantic_core import PydanticCustomError

from validators import fields as f


@dataclass(frozen=True)
class Rule:
    """Metadata on a field: the checker and which clean columns it produces."""

    checker: Callable[[str | None], f.Checked]
    kind: str = "plain"  # plain | date | name | entry | place | int
    # Values matching this pattern pass the checker unchanged and without issues (an
    # int kind converts them to int); the bulk engine skips the checker for them.
    fast: str | None = None
    never_fast: tuple[str, ...] = ()  # upper-cased values the fast pattern matches but the checker must see


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def _make_validator(rule: Rule):
    def validate(value: Any, handler, info: ValidationInfo) -> Any:
        raw = handler(value)
        result = rule.checker(raw)
        sink = info.context.get("checked") if isinstance(info.context, dict) else None
        if sink is not None:
            sink[info.field_name] = result
            return raw
        if result.has_error:
            issue = next(i for i in result.issues if i.severity == "error" and not i.auto_fix)
            raise PydanticCustomError(issue.code, "{message}",
                                      {"message": issue.message, "suggestion": issue.suggestion})
        return raw
    return validate


def Checked(rule: Rule) -> Any:  # noqa: N802 - reads as a type in the schemas below
    return Annotated[str | None, BeforeValidator(_as_text), rule, WrapValidator(_make_validator(rule))]


EntryNumber = Checked(Rule(f.check_entry_number))
POSITIVE_INT = r"[1-9][0-9]{0,8}"
RunningNumber = Checked(Rule(f.check_running_number, "int", POSITIVE_INT))
Page = Checked(Rule(f.check_page, "int", POSITIVE_INT))
BookEntry = Checked(Rule(f.check_book_entry_number, "entry", r"[1-9][0-9]{0,4}"))
RequiredText = Checked(Rule(f.check_required_text))
Year = Checked(Rule(f.check_year, "int"))
Date = Checked(Rule(f.check_date, "date"))
Sex = Checked(Rule(f.check_sex))
Age = Checked(Rule(f.check_age, "int"))
PLAIN_NAME = r"[A-ZÆØÅa-zæøåé]+(?: [A-ZÆØÅa-zæøåé]+)*"
# 'UOP' (uoplyst, unknown) looks like a plain name to the fast pattern but is a placeholder.
Name = Checked(Rule(f.check_name, "name", PLAIN_NAME, never_fast=tuple(sorted(f.WORD_PLACEHOLDERS))))
PLAIN_PLACE = r"[A-ZÆØÅa-zæøåé]+(?:[ -][A-ZÆØÅa-zæøåé]+)*"
Place = Checked(Rule(f.make_place_checker(None), "place", PLAIN_PLACE))


def PlaceOrDate(date_field: str) -> Any:  # noqa: N802
    """A birthplace field, where a date keyed by mistake is reported as misplaced."""
    return Checked(Rule(f.make_place_checker(date_field), "place", PLAIN_PLACE))


def KildeIs(value: str) -> Any:  # noqa: N802
    return Checked(Rule(f.check_kilde(value)))


class Record(BaseModel):
    """Base of the source schemas: raw strings in, extra columns allowed."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class KbfRecord(Record):
    """One child in a church book of births (KIIP ``fd`` file)."""

    INDTASTNINGSNUMMER: EntryNumber = None
    KILDE: KildeIs("Fødte") = None
    LOEBE_NR: RunningNumber = None
    KILDEANGIVELSE: RequiredText = None
    KILDE_SIDE: Page = None
    KILDE_LOEBE_NR: BookEntry = None
    KALENDERAAR: Year = None
    FOEDSELSDATO: Checked(Rule(lambda v: _required_date(v), "date")) = None
    FOEDESTED: PlaceOrDate("FOEDSELSDATO") = None
    FORNAVN: Name = None
    MELLEMNAVNE: Name = None
    EFTERNAVN: Name = None
    KOEN: Sex = None
    HJEMMEDAABSDATO: Date = None
    KIRKEDAABSDATO: Date = None
    DAABSSTED: Place = None
    AEGTE_UAEGTE: str | None = None
    FLERFOEDSEL_ANTAL: str | None = None
    FADERS_STILLING: str | None = None
    FADERS_FORNAVN: Name = None
    FADERS_MELLEMNAVNE: Name = None
    FADERS_EFTERNAVN: Name = None
    FADERS_STEDNAVN: Place = None
    FADERS_FOEDSELSDAG: Date = None
    FADERS_FOEDESTED: PlaceOrDate("FADERS_FOEDSELSDAG") = None
    MODERS_STILLING: str | None = None
    MODERS_FORNAVN: Name = None
    MODERS_MELLEMNAVNE: Name = None
    MODERS_EFTERNAVN: Name = None
    MODERS_PIGENAVN: Name = None
    MODERS_STEDNAVN: Place = None
    MODERS_FOEDSELSDAG: Date = None
    MODERS_FOEDESTED: PlaceOrDate("MODERS_FOEDSELSDAG") = None
    MODERS_ALDER: Age = None
    VIELSE_DATO: Date = None
    VIELSE_STED: Place = None
    FOERSTE_FADDERS_LBNR: str | None = None
    ANTAL_FADDERE: str | None = None
    ANMAERKNINGER: str | None = None
    KILDEBEMAERKNINGER: str | None = None
    INDTASTERS_BEMAERKNINGER: str | None = None
    LOEBENR_KONTROL: str | None = None


def _required_date(raw: str | None, what: str = "birth date") -> f.Checked:
    if raw is None or not str(raw).strip():
        return f.Checked(None, (f.Issue("REQUIRED_MISSING", f"{what} is empty"),), {"iso": None, "year": None})
    return f.check_date(raw)


# Death records name people with placeholders of their own (UOP, XXXXXXX, a lone A or E);
# the plain-name fast pattern would let 'A' and 'UOP' through, so every value is checked.
KbdName = Checked(Rule(f.check_name_kbd, "name"))
CivilStatus = Checked(Rule(f.check_civil_status))


class KbdRecord(Record):
    """One deceased person in a church book of deaths (KIIP ``dd`` file)."""

    INDTASTNINGSNUMMER: EntryNumber = None
    KILDE: KildeIs("Døde") = None
    LOEBE_NR: RunningNumber = None
    KILDEANGIVELSE: RequiredText = None
    KILDE_SIDE: Page = None
    KILDE_LOEBE_NR: BookEntry = None
    KALENDERAAR: Year = None
    DOEDSDATO: Checked(Rule(lambda v: _required_date(v, "death date"), "date")) = None
    DOEDSSTED: PlaceOrDate("DOEDSDATO") = None
    BEGRAVELSESDAG: Date = None
    BEGRAVELSESSTED: Place = None
    FORNAVN: KbdName = None
    MELLEMNAVNE: KbdName = None
    EFTERNAVN: KbdName = None
    KOEN: Sex = None
    CIVILSTAND: CivilStatus = None
    ERHVERV: str | None = None
    STEDNAVN: Place = None
    FOEDSELSDATO: Date = None
    FOEDESTED: PlaceOrDate("FOEDSELSDATO") = None
    ALDER: Checked(Rule(f.check_age_at_death, "int", r"[0-9]{1,3}")) = None
    PRAESTENS_NAVN: str | None = None
    FADERS_NAVN: KbdName = None
    FADERS_ERHVERV: str | None = None
    FADERS_STEDNAVN: Place = None
    MODERS_NAVN: KbdName = None
    MODERS_PIGENAVN: KbdName = None
    MODERS_ERHVERV: str | None = None
    MODERS_STEDNAVN: Place = None
    AEGTEFAELLES_NAVN: KbdName = None
    AEGTEFAELLES_ERHVERV: str | None = None
    AEGTEFAELLES_STEDNAVN: Place = None
    ANDEN_SLAEGTNING_TYPE: str | None = None
    ANDEN_SLAEGTNING_NAVN: KbdName = None
    ANDEN_SLAEGTNING_ERHVERV: str | None = None
    ANDEN_SLAEGTNING_STEDNAVN: Place = None
    ANMAERKNINGER: str | None = None
    KILDEBEMAERKNINGER: str | None = None
    INDTASTERS_BEMAERKNINGER: str | None = None
    LOEBENR_KONTROL: str | None = None


# No fast pattern: the engine derives the ISO date and year from the checker's result.
CensusDate = Checked(Rule(f.check_census_date, "date"))


class FtRecord(Record):
    """One person in a census household (KIIP ``ft`` file, or a DDD census download).

    The KIIP columns of the 1921-1965 censuses, plus two that the DDD downloads carry:
    the full name in one field (``FULDT_NAVN``) and the stated age (``ALDER``).  Later or
    older census layouts reach these names through the alias table.
    """

    INDTASTNINGSNUMMER: Checked(Rule(f.check_census_entry_number)) = None
    KILDE: KildeIs("Folketælling") = None
    TAELLINGSAAR: Checked(Rule(f.check_census_year, "int", r"1[7-9][0-9]{2}")) = None
    LOEBE_NR: RunningNumber = None
    KILDEANGIVELSE: str | None = None
    SKEMA_NR: str | None = None
    BYENS_NAVN: str | None = None
    EJERLAV: str | None = None
    EJENDOMMENS_MATR_NR: str | None = None
    GADENS_NAVN: str | None = None
    GADENUMMER: str | None = None
    FAMILIE_LOEBE_NR: str | None = None
    EFTERNAVN: Name = None
    MELLEMNAVNE: Name = None
    FORNAVN: Name = None
    PIGENAVN: Name = None
    FULDT_NAVN: Name = None
    KOEN: Checked(Rule(f.check_sex_census, "plain", "[KMU]")) = None
    BOPAEL_ANDETSTEDS: str | None = None
    OPHOLDSSTED: str | None = None
    FOEDSELSDAG: CensusDate = None
    FOEDEAAR: Checked(Rule(f.check_optional_year, "int", r"1[5-9][0-9]{2}")) = None
    ALDER: Checked(Rule(f.check_age_census, "int", r"[0-9]{1,3}")) = None
    FOEDESTED: PlaceOrDate("FOEDSELSDAG") = None
    STATSBORGERFORHOLD: str | None = None
    AEGTESKABELIG_STILLING: CivilStatus = None
    VIELSESDATO: CensusDate = None
    STILLING_I_HUSSTANDEN: str | None = None
    ERHVERV: str | None = None
    VIRKSOMHED: str | None = None
    HJAELPER_FAMILIEOVERHOVED: str | None = None
    HANDIKAP: str | None = None
    KILDEBEMAERKNINGER: str | None = None
    INDTASTERS_BEMAERKNINGER: str | None = None
    LOEBENR_KONTROL: str | None = None


class DeliveryMeta(Record):
    """The metadata row of a delivery (``dok`` file, repeated as the data file's trailer)."""

    INDTASTNINGSNUMMER: EntryNumber = None
    KILDE: str | None = None
    SOGN: str | None = None
    HERRED: str | None = None
    AMT: str | None = None
    FRA_AAR: Year = None
    TIL_AAR: Year = None
    INDTASTER: str | None = None
    INDTASTNINGSDATO: Date = None
    ANTAL_POSTER: Checked(Rule(lambda v: f.check_positive_int(v, "ANTAL_POSTER_MISMATCH", "ANTAL_POSTER",
                                                            required=False), "int")) = None
    DEFINITIONSFIL: str | None = None


META_COLUMNS = list(DeliveryMeta.model_fields)


def field_rules(model: type[BaseModel]) -> dict[str, Rule]:
    """The fields of a schema that carry a rule, in schema order."""
    rules = {}
    for name, info in model.model_fields.items():
        for meta in info.metadata:
            if isinstance(meta, Rule):
                rules[name] = meta
    return rules


def check_value(model: type[BaseModel], name: str, raw: str | None) -> f.Checked:
    """One field of ``model`` checked on its own: pydantic validates only the fields given."""
    sink: dict[str, f.Checked] = {}
    model.model_validate({name: raw}, context={"checked": sink})
    return sink.get(name, f.Checked(raw))


def check_record(model: type[BaseModel], row: dict[str, Any]) -> dict[str, f.Checked]:
    """Every field's check result for one record, warnings included; never raises."""
    sink: dict[str, f.Checked] = {}
    model.model_validate(row, context={"checked": sink})
    return sink
