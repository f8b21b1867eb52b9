"""The finding catalogue: every code the system reports, with its severity and help text.

One place states what a code means, how serious it is and what a person should do about
it; the checks only say *where* a code applies.  Codes are part of the public contract
(reports, the web QA queue, other programs): once released, a code keeps its meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Scope(StrEnum):
    DELIVERY = "delivery"
    RECORD = "record"
    SET = "set"
    HOUSEHOLD = "household"


@dataclass(frozen=True)
class Code:
    code: str
    severity: Severity
    scope: Scope
    title: str
    action: str
    # A fix so regular that one finding per field and delivery says it (with the count and
    # the first line); every fixed value still has its correction row.
    summarised: bool = False


def _codes(*codes: Code) -> dict[str, Code]:
    return {c.code: c for c in codes}


ERR, WARN, NOTE = Severity.ERROR, Severity.WARNING, Severity.INFO
D, R, S, H = Scope.DELIVERY, Scope.RECORD, Scope.SET, Scope.HOUSEHOLD

CATALOGUE: dict[str, Code] = _codes(
    # Delivery level: the files themselves.
    Code("FILE_UNREADABLE", ERR, D, "File cannot be read",
         "The bytes are not text in a supported encoding, or not CSV. Ask for a new export."),
    Code("FILE_PAIR_MISSING", ERR, D, "Metadata or data file missing",
         "A delivery needs both its dok file and its data file. Ask for the missing one."),
    Code("FILE_UNRECOGNISED", WARN, D, "CSV file that is not a KIIP delivery file",
         "The file was not read; name it Knnnndok.csv / Knnnnfd.csv if it belongs to a delivery."),
    Code("FOLDER_LINKED", ERR, D, "Folder in the inbox is a symbolic link: not entered",
         "Nothing in the linked folder was read, imported, moved or changed; the link itself was put in "
         "quarantine. Copy the delivery's files into the inbox instead of linking to them."),
    Code("FILE_NAME_NONSTANDARD", NOTE, D, "File name does not follow Knnnn",
         "The pair was recognised anyway; rename the files when convenient."),
    Code("KNOWN_RENAME", NOTE, D, "Delivery was renamed by the known-renames table",
         "The files carried a wrong entry number that is corrected by a listed rename."),
    Code("ENCODING_REPAIRED", WARN, D, "Text was encoded twice and has been repaired",
         "Check a few names with Danish letters against the scan; ask the transcriber to fix the export."),
    Code("HEADER_MISSING_COLUMN", ERR, D, "Required column absent",
         "The export lacks a column the source needs; check KIIP's definition file."),
    Code("HEADER_UNKNOWN_COLUMN", WARN, D, "Column not known for this source",
         "The column is kept in the raw layer but not validated; add an alias if it is a known column."),
    Code("HEADER_DUPLICATE_COLUMN", ERR, D, "The same column appears twice",
         "Only the first is used; ask for a corrected export."),
    Code("TRAILER_MISSING", ERR, D, "Data file has no metadata trailer",
         "The export is probably truncated; ask for a complete export."),
    Code("TRAILER_MISMATCH", ERR, D, "Trailer differs from the metadata file",
         "The data file and the dok file were probably not exported together."),
    Code("ANTAL_POSTER_MISMATCH", ERR, D, "Record count differs from ANTAL_POSTER",
         "Rows were lost or added after export; compare with the transcriber's copy."),
    Code("ENTRY_NUMBER_MISMATCH", ERR, D, "File name, metadata and rows disagree on the entry number",
         "Find out which entry number is right and rename the files or fix the metadata."),
    Code("ROW_SHAPE", ERR, D, "Row has more or fewer fields than the header",
         "The row is not used; a separator was probably typed inside a field."),
    Code("ROW_EXTRA_EMPTY_FIELDS", NOTE, D, "Rows carry extra empty fields",
         "Harmless: the empty trailing fields were dropped."),
    Code("SOURCE_UNSUPPORTED", ERR, D, "Source not supported yet",
         "The files were recognised but this source cannot be validated by this version."),
    Code("DUPLICATE_DELIVERY", NOTE, D, "Same bytes already imported",
         "Nothing was imported twice."),
    Code("CENSUS_DOWNLOAD", NOTE, D, "Census file read without metadata file or trailer",
         "The file is a census in one of the known layouts (a DDD download or research extract, Link-Lives "
         "rows: one file, no dok file, no trailer); it was read as an FT delivery through that layout's "
         "words. The message names the layout."),
    Code("LAYOUT_UNKNOWN", ERR, D, "Census file in a layout the reader does not know",
         "Nothing of the file was read. The message names the closest known layout and the words it "
         "lacks: rename the columns, or add the layout to census_layout_words.csv ($MGR_CENSUS_DATA)."),
    Code("LETTERS_LOST", WARN, D, "The file's æ, ø and å were replaced by '?'",
         "The file was read, but names and places with Danish letters are damaged. Ask for a new "
         "export in UTF-8 or Windows-1252."),
    Code("ENCODING_UTF7", WARN, D, "File written in UTF-7",
         "The file was decoded as UTF-7 ('+AHw-' for '|'); check a few names with Danish letters and ask "
         "for exports in UTF-8 or Windows-1252."),
    Code("CENSUS_YEAR_MISMATCH", WARN, D, "File name and rows name different census years",
         "The rows' own census year was used. Rename the file, or check that the right file was sent."),
    Code("CENSUS_SEVERAL_DELIVERIES", NOTE, D, "One census file holds rows of several entry numbers",
         "Each entry number's rows were read as a delivery of its own."),
    # Record level.
    Code("ENTRY_NUMBER_FORMAT", ERR, R, "Entry number not Knnnn or Knnnna",
         "Correct the entry number; bare digits are given a K automatically."),
    Code("LOEBE_NR_INVALID", ERR, R, "Running number not a positive integer",
         "Renumber the rows of the file 1..N."),
    Code("LOEBE_NR_SEQUENCE", ERR, R, "Running numbers are not 1..N without repeats",
         "Renumber the rows of the file 1..N."),
    Code("KILDE_INVALID", ERR, R, "KILDE is not the source's value",
         "The row may belong to another source; check it."),
    Code("REQUIRED_MISSING", ERR, R, "Required field empty",
         "Fill in the field from the scan."),
    Code("FORMULA_PREFIX", WARN, R, "Value begins like a spreadsheet formula",
         "A text starting with =, +, - or @ is run as a formula when a spreadsheet opens the file. Keep it "
         "only if the book really has it (Alt+B); the KIIP export keeps it byte for byte."),
    Code("KILDE_SIDE_INVALID", ERR, R, "Page is not a positive integer",
         "Read the printed page number on the scan."),
    Code("KILDE_LOEBE_NR_NONSTANDARD", WARN, R, "Entry number in the book is not a number",
         "Key the entry as printed, e.g. 24a for a child following no. 24."),
    Code("DATE_INVALID", ERR, R, "Date does not exist",
         "Read the date on the scan again."),
    Code("DATE_MALFORMED", ERR, R, "Date not in YYYYMMDD form",
         "Key the date as YYYYMMDD with ? for unreadable digits."),
    Code("DATE_WILDCARD_MISPLACED", WARN, R, "Unknown-digit marks in the wrong place",
         "Unknown digits stand where the digits are, e.g. 1924???? for an unknown day and month."),
    Code("DATE_OUT_OF_RANGE", WARN, R, "Date outside what the source can hold",
         "Check the year on the scan."),
    Code("KALENDERAAR_INCONSISTENT", WARN, R, "Registration year does not fit the birth year",
         "The registration year is normally the birth year or the year after."),
    Code("KOEN_INVALID", ERR, R, "Sex is not K, M or U",
         "Key K, M or U."),
    Code("NUMBER_AS_DECIMAL", NOTE, R, "Whole number written with decimals",
         "Running numbers, ages or years written like '1,00000' or '31,000' (database extracts write them so) "
         "were read as the whole number. One finding per field and delivery gives the count and the first "
         "line; the corrections table has a row for every value, and the raw column keeps it as written.",
         summarised=True),
    Code("AGE_MALFORMED", WARN, R, "Age is not a plain number",
         "Key the age in whole years only."),
    Code("AGE_IMPLAUSIBLE", WARN, R, "Parent's age at the event is implausible",
         "Check the age or birth date on the scan."),
    Code("AGE_DATE_MISMATCH", WARN, R, "Stated age disagrees with the birth date",
         "Check both on the scan; one was probably misread."),
    Code("NAME_STRUCK_PART", NOTE, R, "Name holds a struck-out part in brackets",
         "Both variants are kept for linkage."),
    Code("NAME_PLACEHOLDER", NOTE, R, "Placeholder in a name field",
         "Treated as empty."),
    Code("NAME_INVALID_CHARS", WARN, R, "Digits or symbols in a name",
         "Check the name on the scan; the suggestion reads 1 as I, 0 as O and & as X."),
    Code("DEAD_UNNAMED", NOTE, R, "Child died unnamed",
         "Kept, but not used for linkage."),
    Code("FIELD_MISPLACED", WARN, R, "Value belongs in another field",
         "Move the value to the field named in the suggestion."),
    Code("DEATH_BEFORE_BIRTH", ERR, R, "Death date before birth date",
         "Check both dates on the scan."),
    Code("BURIAL_BEFORE_DEATH", ERR, R, "Burial date before death date",
         "Check both dates on the scan; one was probably misread."),
    Code("CIVILSTAND_INVALID", WARN, R, "Civil status not a known status",
         "Key the status as written (Ugift, Gift, Enke, Enkemand, Fraskilt, Separeret) or as U, G, E, F, S."),
    # Set level.
    Code("KILDE_LOEBE_NR_GAP", WARN, S, "Gap in the book's entry numbers (missing child?)",
         "Look at the scan between the neighbouring entries: a child may have been forgotten."),
    Code("KILDE_LOEBE_NR_REPEAT", WARN, S, "Entry number used twice in one section",
         "One of the two is probably misread or keyed twice."),
    Code("DUPLICATE_RECORD", WARN, S, "Same event keyed twice",
         "Compare both rows with the scan and delete one of them."),
    Code("PAGE_OVERFULL", WARN, S, "More entries on a page than the form holds",
         "Page numbers were probably keyed wrong for some of these entries."),
    Code("DATE_ORDER", WARN, S, "Date out of order within a book section",
         "Entries follow the events: check this date, or whether the entry belongs elsewhere."),
    Code("PAGE_SEQUENCE", WARN, S, "Page numbers go backwards while entry numbers go forward",
         "Check the page number on the scan."),
    # Census households.
    Code("ROLE_UNKNOWN", WARN, H, "Household position not in the code table",
         "Add the spelling to the household-role table or code the person by hand."),
    Code("ROLE_SEX_MISMATCH", WARN, H, "Family role does not fit the sex",
         "Check sex and household position on the scan."),
    Code("HOUSEHOLD_UNRESOLVED", WARN, H, "Household with children but no parent",
         "Code the parents by hand."),
    Code("BIRTH_NOT_KEYED_KBD", WARN, S, "A child buried in the parish has no birth in its book",
         "A child who died under 15, born in this parish in years this book covers, is in the book of deaths "
         "(see 'other') but has no birth entry here: check the scan for a skipped line or a repeated entry "
         "number, and key the birth."),
    Code("BIRTH_NOT_KEYED_FT", WARN, S, "A child in the census has no birth in its parish's book",
         "A census child under 15, born in this parish in years this book covers (see 'other'), has no birth "
         "entry here: check the scan for a skipped line or a repeated entry number, and key the birth."),
    Code("DUPLICATE_ACROSS_DELIVERIES", WARN, S, "The same child registered in two deliveries",
         "A child born at a hospital is registered in the birth parish and at home. The registration in the "
         "birth parish (see 'other') is used for linkage; this one is its copy (KOPI_AF, TIL_LINKAGE false)."),
    Code("DUPLICATE_DEATH_ACROSS_DELIVERIES", WARN, S, "The same death registered in two deliveries",
         "A person who died in one parish (a hospital) and was buried in another is in both books. The "
         "registration in the parish of death (see 'other') is used for linkage; this one is its copy "
         "(KOPI_AF, TIL_LINKAGE false)."),
    Code("BOOK_DELIVERED_TWICE", WARN, S, "A book delivered twice under two entry numbers",
         "Most of this delivery's children are those of the delivery in 'other': the same book keyed or sent "
         "twice. The earlier entry number is used; withdraw this one or correct its entry number."),
    Code("CROSSCHECK_REVIEW", WARN, S, "A birth and a death may be the same child",
         "The score is in the review band around the threshold, or two births fit one death almost equally. "
         "Compare both records and decide: same child or different children."),
    Code("HOUSEHOLD_MANUAL", NOTE, H, "Three or more married persons in a household",
         "Code the families of this household by hand."),
    # The store: versions of a delivery and the manual corrections laid over them.
    Code("DELIVERY_NEW_VERSION", NOTE, D, "New version of a delivery already imported",
         "The earlier version is kept, marked superseded; see the correction findings beside this one."),
    Code("CORRECTION_CONFLICT", WARN, R, "Manual correction not carried over: the keyed value changed",
         "Compare the new value with the correction and the scan; make the correction again if it still applies."),
    Code("CORRECTION_RECORD_GONE", WARN, R, "Manual correction not carried over: the record is gone",
         "The new export has no record with this running number; find out whether it was deleted or renumbered."),
)


def severity_of(code: str) -> Severity:
    return CATALOGUE[code].severity


def as_markdown() -> str:
    """The catalogue as the Markdown table in docs/findings.md."""
    lines = ["# Finding codes", "",
             "Generated from `validators/catalogue.py` by `python -m validators.catalogue > docs/findings.md`.",
             "Each finding is one JSON object with the fields `code, severity, source, entry_number, file, line,",
             "loebe_nr, field, page, message, suggestion, auto_fix` (see the README).", ""]
    for scope in Scope:
        lines += [f"## {scope.value.capitalize()} level", "", "| code | severity | what | what to do |",
                  "| --- | --- | --- | --- |"]
        lines += [f"| `{c.code}` | {c.severity.value} | {c.title} | {c.action} |"
                  for c in CATALOGUE.values() if c.scope is scope]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(as_markdown())
