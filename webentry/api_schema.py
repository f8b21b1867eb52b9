"""What the JSON endpoints accept, as pydantic models, and the OpenAPI description built
from them (served at ``/api/openapi.json`` to logged-in users).

Every JSON body is read through one of these models before any view code sees it, so a
body of the wrong shape (a list where an object belongs, a number of 30 digits, a key the
screen never sends) is answered with 400 and a list of the places that were wrong, never
with an internal error. The problems name the place (``fields.FOEDSELSDATO``) and what was
expected; they never repeat the value that was sent, which may be person data.

The models are the single definition: the OpenAPI document is generated from them, and the
API fuzzing test (``tests/web/test_web_api_fuzz.py``) runs schemathesis against it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from webentry.layout import keyed_columns
from webentry.records import RECORD_NOTE

# Integer columns of the database are 32-bit on PostgreSQL: ids and numbers stay below this.
INT_MAX = 2_147_483_647
# A JSON body larger than this is refused (413) before it is parsed; a record's form is a
# few kilobytes, a draft with its marks a few more.
JSON_MAX_BYTES = 256 * 1024

# The columns a form can send: every keyed column of KBF, KBD and FT (the screen only ever
# sends the columns of its book's source; another source's column is ignored when saving).
COLUMNS = tuple(sorted({c for source in ("KBF", "KBD", "FT") for c in keyed_columns(source)}))
ColumnName = Literal[COLUMNS]  # type: ignore[valid-type]
NoteName = Literal[COLUMNS + (RECORD_NOTE,)]  # type: ignore[valid-type]
Text = Annotated[str, StringConstraints(max_length=500)]
Key = Annotated[str, StringConstraints(max_length=200)]
Number = Annotated[int, Field(ge=0, le=INT_MAX)]
# What the form sends for a field: the text typed (numbers are tolerated and read as text).
Value = Text | Annotated[int, Field(ge=-INT_MAX, le=INT_MAX)] | Annotated[float, Field(allow_inf_nan=False)] | None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldCheckBody(_Body):
    """``POST /api/books/{id}/check/field``: one field, when the transcriber leaves it."""

    field: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    value: Value = None


class RecordCheckBody(_Body):
    """``POST /api/books/{id}/check/record``: the whole form with its section."""

    fields: Annotated[dict[ColumnName, Value], Field(max_length=200)]
    loebe_nr: Number | None = None


class Provenance(BaseModel):
    """How one value came about (typed, accepted from OCR, carried forward …)."""

    model_config = ConfigDict(extra="allow")

    how: Annotated[str, StringConstraints(max_length=32)] | None = None
    source: Annotated[str, StringConstraints(max_length=32)] | None = Field(default=None, alias="from")
    confidence: Annotated[float, Field(allow_inf_nan=False)] | None = None
    suggested: Value = None
    offered: Value = None


class RecordSaveBody(_Body):
    """``POST /api/books/{id}/records`` and ``PUT …/records/{n}``: save a record."""

    fields: Annotated[dict[ColumnName, Value], Field(max_length=200)]
    provenance: Annotated[dict[ColumnName, Provenance], Field(max_length=200)] | None = None
    notes: Annotated[dict[NoteName, Text | None], Field(max_length=200)] | None = None
    acknowledged: Annotated[list[Key], Field(max_length=1000)] | None = None
    page_seq: Number | None = None
    version: Number | None = None
    force_over: Number | None = None


class DraftBody(_Body):
    """``PUT /api/books/{id}/draft``: the form as it is (autosave)."""

    fields: Annotated[dict[ColumnName, Value], Field(max_length=200)]
    provenance: Annotated[dict[ColumnName, Provenance], Field(max_length=200)] | None = None
    notes: Annotated[dict[NoteName, Text | None], Field(max_length=200)] | None = None
    marks: Annotated[dict[ColumnName, dict[Annotated[str, StringConstraints(max_length=32)], Any]],
                     Field(max_length=200)] | None = None
    acknowledged: Annotated[list[Key], Field(max_length=1000)] | None = None
    loebe_nr: Number | None = None
    version: Number | None = None
    page_seq: Number | None = None


class BodyRefused(Exception):
    """The body does not fit its model: ``problems`` lists where (never the values)."""

    def __init__(self, problems: list[dict]):
        super().__init__("the request body does not have the expected shape")
        self.problems = problems


def parse(model: type[BaseModel], body: Any) -> dict:
    """The body read through ``model`` as a plain dict (aliases by name as sent)."""
    if not isinstance(body, dict):
        raise BodyRefused([{"at": "(body)", "problem": "a JSON object is expected"}])
    try:
        parsed = model.model_validate(body)
    except ValidationError as exc:
        problems = [{"at": ".".join(str(p) for p in err["loc"]) or "(body)", "problem": err["msg"]}
                    for err in exc.errors(include_input=False, include_url=False)[:20]]
        raise BodyRefused(problems) from None
    return parsed.model_dump(by_alias=True, exclude_unset=True)


def small_int(text: str | None) -> int | None:
    """A query parameter as a number: ASCII digits up to the largest id, else None."""
    text = text or ""
    if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= INT_MAX:
        return int(text)
    return None


# --------------------------------------------------------------------------- OpenAPI

def _obj(properties: dict, required: tuple[str, ...] = ()) -> dict:
    return {"type": "object", "properties": properties, "required": list(required)}


_ERROR = _obj({"error": {"type": "string"}}, ("error",))
_ISSUE = _obj({"code": {"type": "string"}, "severity": {"type": "string"}, "message": {"type": "string"},
               "field": {"type": ["string", "null"]}}, ("code", "severity", "message"))
_RECORD = _obj({"loebe_nr": {"type": "integer"}, "version": {"type": "integer"}, "fields": {"type": "object"},
                "provenance": {"type": "object"}, "notes": {"type": "object"},
                "page_seq": {"type": ["integer", "null"]}}, ("loebe_nr", "version", "fields"))


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _responses(ok: dict, *extra: int, ok_code: str = "200") -> dict:
    texts = {400: "The body or a parameter is not of the expected shape",
             401: "Not logged in", 404: "No such book or record, or not one this user may open",
             409: "Someone else saved the record first (both versions are returned)",
             413: "The body is too large", 422: "The record was not saved: the checks found errors or unseen warnings"}
    out = {ok_code: {"description": "OK", **_json(ok)}}
    for code in sorted({400, 401, 404, *extra}):
        out[str(code)] = {"description": texts[code], **_json(_ERROR)}
    return out


def _body(model: type[BaseModel]) -> dict:
    return {"required": True, **_json({"$ref": f"#/components/schemas/{model.__name__}"})}


def openapi() -> dict:
    """The OpenAPI 3.1 description of the JSON endpoints."""
    book = {"name": "book_id", "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": INT_MAX}}
    which = {"name": "r", "in": "query", "required": False,
             "schema": {"type": "string", "pattern": "^(new|[0-9]{1,9})$", "default": "new"}}
    loebe = {"name": "loebe_nr", "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 0, "maximum": INT_MAX}}
    seq = {"name": "seq", "in": "path", "required": True,
           "schema": {"type": "integer", "minimum": 0, "maximum": INT_MAX}}
    issues = {"type": "array", "items": _ISSUE}
    paths = {
        "/api/books/{book_id}/check/field": {"post": {
            "summary": "Check one field with the schema's rule", "operationId": "checkField",
            "parameters": [book], "requestBody": _body(FieldCheckBody),
            "responses": _responses(_obj({"field": {"type": "string"}, "issues": issues}, ("issues",)), 413)}},
        "/api/books/{book_id}/check/record": {"post": {
            "summary": "Check a record with its section (gaps, repeats, duplicates, order)",
            "operationId": "checkRecord", "parameters": [book], "requestBody": _body(RecordCheckBody),
            "responses": _responses(_obj({"issues": issues, "loebe_nr": {"type": "integer"}}, ("issues",)), 413)}},
        "/api/books/{book_id}/records": {"post": {
            "summary": "Save a new record", "operationId": "createRecord", "parameters": [book],
            "requestBody": _body(RecordSaveBody),
            "responses": _responses(_obj({"record": _RECORD, "issues": issues, "next": {"type": "string"}},
                                         ("record",)), 409, 413, 422, ok_code="201")}},
        "/api/books/{book_id}/records/{loebe_nr}": {
            "get": {"summary": "One record", "operationId": "getRecord", "parameters": [book, loebe],
                    "responses": _responses(_obj({"record": _RECORD}, ("record",)))},
            "put": {"summary": "Save a change to a record (refused on a version conflict)",
                    "operationId": "changeRecord", "parameters": [book, loebe], "requestBody": _body(RecordSaveBody),
                    "responses": _responses(_obj({"record": _RECORD, "issues": issues, "next": {"type": "string"}},
                                                 ("record",)), 409, 413, 422)}},
        "/api/books/{book_id}/draft": {
            "get": {"summary": "This user's draft of the new record (r=new, the default) or of saved record r",
                    "operationId": "getDraft", "parameters": [book, which],
                    "responses": _responses(_obj({"draft": {"type": ["object", "null"]}}, ("draft",)))},
            "put": {"summary": "Keep the form as it is (autosave)", "operationId": "saveDraft", "parameters": [book],
                    "requestBody": _body(DraftBody),
                    "responses": _responses(_obj({"saved_at": {"type": "string"}}, ("saved_at",)), 413)},
            "delete": {"summary": "Discard the draft of the new record (r=new) or of saved record r",
                       "operationId": "discardDraft", "parameters": [book, which],
                       "responses": _responses(_obj({"deleted": {"type": "boolean"}}, ("deleted",)))}},
        "/api/books/{book_id}/pages/{seq}/ocr": {"get": {
            "summary": "The OCR suggestions of a page", "operationId": "pageOcr",
            "parameters": [book, seq, {"name": "before", "in": "query", "required": False,
                                       "schema": {"type": "integer", "minimum": 0, "maximum": INT_MAX}}],
            "responses": _responses(_obj({"ocr": {"type": "object"}, "row_on_page": {"type": "integer"}},
                                         ("ocr", "row_on_page")))}},
        "/api/books/{book_id}/section-last": {"get": {
            "summary": "The last entry number keyed in a section, and the next one proposed",
            "operationId": "sectionLast",
            "parameters": [book] + [{"name": name, "in": "query", "required": False,
                                     "schema": {"type": "string", "maxLength": 100}}
                                    for name in ("KALENDERAAR", "KOEN", "SKEMA_NR")],
            "responses": _responses(_obj({"last": {"type": ["string", "null"]},
                                          "proposal": {"type": ["string", "null"]}},
                                         ("proposal",)))}},
        "/api/suggest": {"get": {
            "summary": "Autocomplete: spellings already keyed and the standard form", "operationId": "suggest",
            "parameters": [
                {"name": "book", "in": "query", "required": True,
                 "schema": {"type": "integer", "minimum": 1, "maximum": INT_MAX}},
                {"name": "field", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 64}},
                {"name": "q", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 100}},
                {"name": "sex", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 8}}],
            "responses": _responses(_obj({"values": {"type": "array"}, "standard": {}, "book": {"type": "integer"}},
                                         ("values",)))}},
    }
    schemas = {}
    for model in (FieldCheckBody, RecordCheckBody, RecordSaveBody, DraftBody):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return {
        "openapi": "3.1.0",
        "info": {"title": "mgr-ingest web entry: JSON endpoints", "version": "1",
                 "description": "Called by the entry screen. Every call needs a logged-in session; every "
                                "write needs the CSRF token in the X-CSRFToken header."},
        "paths": paths,
        "components": {"schemas": schemas},
    }
