"""The entry screen's JSON endpoints: checks through the importer's rules, saving with
checks, the conflict check, drafts, proposals, autocomplete and the audit trail."""

from __future__ import annotations

import json

from sqlalchemy import select
from web_support import Api, add_book, client_as, kbf_fields

from validators.schemas import KbfRecord, check_value

pytest_plugins = ["web_support"]  # the web fixture: an application with users and a book


def _api(web, who="tr1"):
    return Api(client_as(web, who)), web.config["BOOK_ID"]


def _save(api, book, fields, **extra):
    return api.post(f"/api/books/{book}/records", {"fields": fields, **extra})


def test_field_check_is_the_schemas_check(web):
    api, book = _api(web)
    api.client.set_cookie("mgr_lang", "en")  # the schemas' own words (Danish pages say them in Danish)
    for field, value in (("FOEDSELSDATO", "19210231"), ("FOEDSELSDATO", "15.5.21"), ("KOEN", "x"),
                         ("KILDE_SIDE", "Hansen"), ("FORNAVN", "Ha?s"), ("MODERS_ALDER", "28 Aar"),
                         ("FOEDSELSDATO", "19210515")):
        r = api.post(f"/api/books/{book}/check/field", {"field": field, "value": value})
        assert r.status_code == 200
        expected = check_value(KbfRecord, field, value).issues
        assert [(i["code"], i["message"], i["suggestion"]) for i in r.json["issues"]] == [
            (i.code, i.message, i.suggestion) for i in expected]
    r = api.post(f"/api/books/{book}/check/field", {"field": "FOEDSELSDATO", "value": "15.5.21"})
    issue = r.json["issues"][0]
    assert issue["suggestion"] == "19210515" and issue["severity"] == "error" and issue["title"]


def test_record_check_finds_gap_repeat_and_duplicate_against_the_neighbours(web):
    api, book = _api(web)
    for n in (1, 2, 3):
        assert _save(api, book, kbf_fields(n)).status_code == 201
    gap = api.post(f"/api/books/{book}/check/record", {"fields": kbf_fields(5)}).json["issues"]
    assert [(i["code"], i["field"]) for i in gap] == [("KILDE_LOEBE_NR_GAP", "KILDE_LOEBE_NR")]
    assert "4 mangler mellem 3 og 5" in gap[0]["message"]
    repeat = api.post(f"/api/books/{book}/check/record", {"fields": kbf_fields(4, KILDE_LOEBE_NR="3")}).json["issues"]
    assert "KILDE_LOEBE_NR_REPEAT" in {i["code"] for i in repeat}
    twin = kbf_fields(3)
    twin["KILDE_LOEBE_NR"] = "4"
    twin["FORNAVN"] = twin["FORNAVN"] + "s"  # the same child keyed again, a letter different
    dup = api.post(f"/api/books/{book}/check/record", {"fields": twin}).json["issues"]
    assert "DUPLICATE_RECORD" in {i["code"] for i in dup}
    other_section = api.post(f"/api/books/{book}/check/record",
                             {"fields": kbf_fields(1, KOEN="K")}).json["issues"]
    assert not [i for i in other_section if i["code"].startswith("KILDE_LOEBE_NR")]
    fine = api.post(f"/api/books/{book}/check/record", {"fields": kbf_fields(4)}).json["issues"]
    assert fine == []


def test_record_check_of_an_existing_record_sees_neighbours_on_both_sides(web):
    api, book = _api(web)
    for n in (1, 2, 3):
        _save(api, book, kbf_fields(n))
    r = api.post(f"/api/books/{book}/check/record", {"fields": kbf_fields(2, KILDE_LOEBE_NR="7"), "loebe_nr": 2})
    codes = {i["code"] for i in r.json["issues"]}
    assert "KILDE_LOEBE_NR_GAP" in codes


def test_record_rules_run_too(web):
    api, book = _api(web)
    r = api.post(f"/api/books/{book}/check/record", {"fields": kbf_fields(1, FOEDSELSDATO="19120515")})
    codes = {i["code"] for i in r.json["issues"]}
    assert {"DATE_OUT_OF_RANGE", "KALENDERAAR_INCONSISTENT"} <= codes


def test_save_refuses_an_error_until_kept_with_a_note(web):
    api, book = _api(web)
    fields = kbf_fields(1, FOEDSELSDATO="19210231")
    r = _save(api, book, fields)
    assert r.status_code == 422 and r.json["blocking"] == ["DATE_INVALID|FOEDSELSDATO"]
    r = _save(api, book, fields, notes={"FOEDSELSDATO": "står sådan i bogen"})
    assert r.status_code == 201
    assert r.json["record"]["notes"] == {"FOEDSELSDATO": "står sådan i bogen"}
    assert r.json["record"]["fields"]["FOEDSELSDATO"] == "19210231"  # the literal reading is kept


def test_save_asks_once_about_warnings(web):
    api, book = _api(web)
    _save(api, book, kbf_fields(1))
    r = _save(api, book, kbf_fields(3))
    assert r.status_code == 422 and r.json["unseen"] == ["KILDE_LOEBE_NR_GAP|KILDE_LOEBE_NR"]
    r = _save(api, book, kbf_fields(3), acknowledged=r.json["unseen"])
    assert r.status_code == 201 and r.json["record"]["loebe_nr"] == 2


def test_values_still_only_proposed_cannot_be_saved(web):
    api, book = _api(web)
    r = _save(api, book, kbf_fields(1), provenance={"KILDE_SIDE": {"how": "pending", "from": "carried"}})
    assert r.status_code == 422 and r.json["pending"] == ["KILDE_SIDE"]


def test_provenance_is_kept_per_field(web):
    api, book = _api(web)
    prov = {"KILDE_SIDE": {"how": "accepted", "from": "ocr", "confidence": 0.97, "suggested": "1"},
            "KILDE_LOEBE_NR": {"how": "corrected", "from": "ocr", "confidence": 0.93, "suggested": "7"},
            "FOEDSELSDATO": {"how": "accepted", "from": "check", "suggested": "19210202"},
            "KALENDERAAR": {"how": "bogus"}}
    rec = _save(api, book, kbf_fields(1), provenance=prov).json["record"]["provenance"]
    assert rec["KILDE_SIDE"] == {"how": "accepted", "from": "ocr", "confidence": 0.97, "suggested": "1"}
    assert rec["KILDE_LOEBE_NR"]["how"] == "corrected"
    assert rec["FOEDSELSDATO"]["from"] == "check"
    assert rec["KALENDERAAR"] == {"how": "typed"}  # an unknown kind is stored as typed
    assert rec["FORNAVN"] == {"how": "typed"}


def test_second_save_of_the_same_version_is_refused_with_both_versions(web):
    anna, book = _api(web, "tr1")
    _save(anna, book, kbf_fields(1))
    rev = Api(client_as(web, "rev1"))
    first = rev.put(f"/api/books/{book}/records/1", {"fields": kbf_fields(1, FORNAVN="Jens"), "version": 1})
    assert first.status_code == 200 and first.json["record"]["version"] == 2
    second = anna.put(f"/api/books/{book}/records/1", {"fields": kbf_fields(1, FORNAVN="Ole"), "version": 1})
    assert second.status_code == 409
    assert second.json["theirs"]["fields"]["FORNAVN"] == "Jens" and second.json["theirs"]["updated_by"] == "rev1"
    assert second.json["yours"]["fields"]["FORNAVN"] == "Ole"
    now = anna.get(f"/api/books/{book}/records/1").json["record"]
    assert now["fields"]["FORNAVN"] == "Jens" and now["version"] == 2
    forced = anna.put(f"/api/books/{book}/records/1", {"fields": kbf_fields(1, FORNAVN="Ole"), "version": 2,
                                                        "force_over": 2})
    assert forced.status_code == 200 and forced.json["record"]["version"] == 3


def test_every_save_is_audited_with_versions_and_no_person_data(web):
    from ingest.store.models import audit_log
    from webentry.models import Record, RecordVersion

    api, book = _api(web)
    _save(api, book, kbf_fields(1, FORNAVN="Valdemar"))
    api.put(f"/api/books/{book}/records/1", {"fields": kbf_fields(1, FORNAVN="Waldemar"), "version": 1})
    with web.extensions["mgr_store"].reading() as conn:
        entries = [r for r in conn.execute(select(audit_log)) if r.action in ("record_added", "record_changed")]
    assert [e.action for e in entries] == ["record_added", "record_changed"]
    changed = entries[1]
    detail = changed.detail if isinstance(changed.detail, dict) else json.loads(changed.detail)
    assert changed.actor == "tr1" and changed.entry_number == "K2697" and changed.at is not None
    assert detail["old"] == {"version": 1} and detail["new"] == {"version": 2}
    assert detail["fields_changed"] == ["FORNAVN"] and detail["loebe_nr"] == 1
    assert "aldemar" not in json.dumps(detail)
    with web.extensions["mgr_sessions"]() as s:
        rid = s.scalar(select(Record.id))
        versions = {v.version: v.fields["FORNAVN"] for v in s.scalars(select(RecordVersion)
                                                                        .where(RecordVersion.record_id == rid))}
    assert versions == {1: "Valdemar", 2: "Waldemar"}
    admin = client_as(web, "admin1")
    html = admin.get("/admin/audit/record/K2697/1").get_data(as_text=True)
    assert "Valdemar" in html and "Waldemar" in html


def test_draft_survives_and_is_cleared_by_saving(web):
    api, book = _api(web)
    draft = {"loebe_nr": None, "fields": {"KILDE_SIDE": "1", "FORNAVN": "Hans"}, "provenance": {},
             "marks": {"KILDE_LOEBE_NR": {"kind": "proposed", "value": "1"}}, "page_seq": None}
    assert api.put(f"/api/books/{book}/draft", draft).status_code == 200
    again = Api(client_as(web, "tr1"))  # another browser, same person
    got = again.get(f"/api/books/{book}/draft").json["draft"]
    assert got["fields"] == {"KILDE_SIDE": "1", "FORNAVN": "Hans"} and got["marks"]["KILDE_LOEBE_NR"]["kind"] == "proposed"
    html = again.get(f"/books/{book}/entry?r=new").get_data(as_text=True)
    assert '"FORNAVN": "Hans"' in html
    assert Api(client_as(web, "rev1")).get(f"/api/books/{book}/draft").json["draft"] is None
    _save(again, book, kbf_fields(1))
    assert again.get(f"/api/books/{book}/draft").json["draft"] is None


def test_a_half_keyed_new_record_survives_a_correction_to_an_older_one(web):
    """Halfway through a new record the transcriber goes back (Alt+Up) to correct record 1,
    whose autosave and save must leave the new record's draft as it was."""
    api, book = _api(web)
    first = _save(api, book, kbf_fields(1)).json["record"]
    new = {"loebe_nr": None, "fields": {"KILDE_SIDE": "1", "FORNAVN": "Halvt"}, "provenance": {}, "page_seq": None}
    assert api.put(f"/api/books/{book}/draft", new).status_code == 200
    older = {"loebe_nr": 1, "version": first["version"], "fields": {**kbf_fields(1), "FORNAVN": "Rettet"},
             "provenance": {}, "page_seq": None}
    assert api.put(f"/api/books/{book}/draft", older).status_code == 200  # the correction autosaved
    assert api.get(f"/api/books/{book}/draft?r=1").json["draft"]["fields"]["FORNAVN"] == "Rettet"
    assert api.get(f"/api/books/{book}/draft").json["draft"]["fields"]["FORNAVN"] == "Halvt"
    r = api.put(f"/api/books/{book}/records/1", {"fields": {**kbf_fields(1), "FORNAVN": "Rettet"},
                                                "version": first["version"]})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert api.get(f"/api/books/{book}/draft?r=1").json["draft"] is None  # that record's draft is done
    kept = api.get(f"/api/books/{book}/draft?r=new").json["draft"]
    assert kept is not None and kept["fields"] == {"KILDE_SIDE": "1", "FORNAVN": "Halvt"}
    assert '"FORNAVN": "Halvt"' in api.get(f"/books/{book}/entry?r=new").get_data(as_text=True)
    assert '"FORNAVN": "Halvt"' not in api.get(f"/books/{book}/entry?r=1").get_data(as_text=True)
    # discarding one draft leaves the other
    assert api.put(f"/api/books/{book}/draft", older).status_code == 200
    assert api.delete(f"/api/books/{book}/draft?r=1").json["deleted"] is True
    assert api.get(f"/api/books/{book}/draft").json["draft"]["fields"]["FORNAVN"] == "Halvt"
    assert api.get(f"/api/books/{book}/draft?r=x").status_code == 404


def test_new_record_proposals_and_carried_values(web):
    api, book = _api(web)
    _save(api, book, kbf_fields(1))
    _save(api, book, kbf_fields(2, KILDE_LOEBE_NR="2a"))
    html = api.get(f"/books/{book}/entry?r=new").get_data(as_text=True)
    data = json.loads(html.split('id="entry-data">', 1)[1].split("</script>", 1)[0])
    assert data["proposal"] == "3"
    assert data["previous"]["fields"]["KALENDERAAR"] == "1921"
    assert set(data["carried"]) == {"KILDE_SIDE", "KALENDERAAR", "KOEN"}
    assert data["proposed"] == ["KILDE_LOEBE_NR"]
    assert [f["name"] for f in data["layout"]][:3] == ["KILDE_SIDE", "KILDE_LOEBE_NR", "KALENDERAAR"]
    girls = api.get(f"/api/books/{book}/section-last?KALENDERAAR=1921&KOEN=K").json
    assert girls == {"last": None, "proposal": None}  # no previous record: no "previous + 1"
    boys = api.get(f"/api/books/{book}/section-last?KALENDERAAR=1921&KOEN=M").json
    assert boys == {"last": "2a", "proposal": "3"}


def test_autocomplete_offers_spellings_already_keyed_and_the_standard_form(web):
    from webentry import suggest

    suggest.forget()
    api, book = _api(web)
    _save(api, book, kbf_fields(1, FORNAVN="Christian"))
    _save(api, book, kbf_fields(2, FORNAVN="Christen", FADERS_FORNAVN="Christian"))
    suggest.forget()
    r = api.get(f"/api/suggest?book={book}&field=MODERS_FORNAVN&q=chr").json
    # what was keyed first, most frequent first; then the name database's spellings (count 0)
    assert [v["value"] for v in r["values"]][:2] == ["Christian", "Christen"]
    assert [v["count"] for v in r["values"]][:2] == [2, 1]
    assert all(v["count"] == 0 for v in r["values"][2:])
    assert api.get(f"/api/suggest?book={book}&field=KILDE_SIDE&q=1").json["values"] == []
    std = api.get(f"/api/suggest?book={book}&field=FORNAVN&q=Carl").json["standard"]
    assert std is None or std.upper() != "CARL"


def _wait_for(condition, seconds=10.0):
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_autocomplete_lists_are_read_at_start_and_renewed_in_the_background(web):
    """Nobody waits for the pass over the stored rows: the application reads the lists when
    it starts, and an expired list is served while the new one is read."""
    from webentry import suggest

    store_url = web.extensions["mgr_store"].engine.url.render_as_string(hide_password=True)
    assert _wait_for(lambda: all((store_url, k) in suggest._CACHE for k in suggest.KINDS))  # the warm-up
    api, book = _api(web)
    _save(api, book, kbf_fields(1, FORNAVN="Xantippe"))
    web.config["SUGGEST_CACHE_SECONDS"] = 0  # every list is expired from now on
    calls = []
    real = suggest._known_values

    def counted(session, kind):
        calls.append(kind)
        return real(session, kind)

    suggest._known_values = counted
    reviewer = Api(client_as(web, "rev1"))  # the whole-store list serves reviewers and admins
    try:
        first = reviewer.get(f"/api/suggest?book={book}&field=FORNAVN&q=Xant").json
        assert first["values"] == []  # the list read at start, served as it is …
        assert _wait_for(lambda: not suggest._REFRESHING and "fornavn" in calls)  # … while it is read again
        later = reviewer.get(f"/api/suggest?book={book}&field=FORNAVN&q=Xant").json
        assert [v["value"] for v in later["values"]] == ["Xantippe"]
    finally:
        suggest._known_values = real
        _wait_for(lambda: not suggest._REFRESHING)


def test_existing_record_is_shown_with_its_values(web):
    api, book = _api(web)
    _save(api, book, kbf_fields(1, FORNAVN="Valdemar"))
    html = api.get(f"/books/{book}/entry?r=1").get_data(as_text=True)
    assert "Valdemar" in html and 'Post <b id="loebe-nr">1</b>' in html
    assert api.get(f"/books/{book}/entry?r=99").status_code == 404


def test_autocomplete_never_offers_what_was_keyed_only_in_another_book(web):
    """A transcriber is offered spellings from the books they may open and the reference
    lists; a first name, surname or place keyed only in someone else's book is never listed
    (prefix by prefix that would list the whole store). A reviewer sees the whole store."""
    from webentry import suggest

    suggest.forget()
    mine = web.config["BOOK_ID"]
    other = add_book(web, entry="K2698", assign=("tr2",))
    api2 = Api(client_as(web, "tr2"))
    _save(api2, other, kbf_fields(1, FORNAVN="Bozilla", EFTERNAVN="Bobjerg", STEDNAVN="Bobæk Mark"))
    api1, _ = _api(web)
    _save(api1, mine, kbf_fields(1, FORNAVN="Bolette"))
    for field, q, secret in (("FORNAVN", "Bo", "Bozilla"), ("MODERS_FORNAVN", "Bod", "Bozilla"),
                             ("EFTERNAVN", "Bob", "Bobjerg"), ("STEDNAVN", "Bob", "Bobæk Mark")):
        got = [v["value"] for v in api1.get(f"/api/suggest?book={mine}&field={field}&q={q}").json["values"]]
        assert secret not in got, (field, got)
    assert "Bolette" in [v["value"] for v in api1.get(f"/api/suggest?book={mine}&field=FORNAVN&q=Bo").json["values"]]
    # tr2 sees their own book's spelling, and the reviewer the whole store
    assert "Bozilla" in [v["value"] for v in api2.get(f"/api/suggest?book={other}&field=FORNAVN&q=Bo").json["values"]]
    reviewer = Api(client_as(web, "rev1"))
    suggest.forget()
    got = [v["value"] for v in reviewer.get(f"/api/suggest?book={mine}&field=FORNAVN&q=Bo").json["values"]]
    assert {"Bozilla", "Bolette"} <= set(got)
    # another book's id answers 404 to the transcriber, as every other book route does
    assert api1.client.get(f"/api/suggest?book={other}&field=FORNAVN&q=Bo").status_code == 404


def test_first_record_gets_no_proposal_and_gaps_wait_for_a_gap_inside_the_keyed_range(web):
    """A partly scanned book starts anywhere: record 1 keyed as entry 36 is no gap and gets no
    "previous + 1"; a gap inside what was keyed is reported, in the source's words."""
    api, book = _api(web)
    html = api.get(f"/books/{book}/entry?r=new").get_data(as_text=True)
    data = json.loads(html.split('type="application/json" id="entry-data">', 1)[1].split("</script>", 1)[0])
    assert data["proposal"] is None
    first = api.post(f"/api/books/{book}/check/record", {"fields": kbf_fields(36)}).json["issues"]
    assert "KILDE_LOEBE_NR_GAP" not in [i["code"] for i in first]
    assert _save(api, book, kbf_fields(36)).status_code == 201
    gap = api.post(f"/api/books/{book}/check/record", {"fields": kbf_fields(38)}).json["issues"]
    [g] = [i for i in gap if i["code"] == "KILDE_LOEBE_NR_GAP"]
    assert "37 mangler mellem 36 og 38" in g["message"] and "manglende fødselsindførsel?" in g["title"]


def test_gap_title_names_the_source_in_a_death_register(web):
    from conftest import kbd_row

    kbd = add_book(web, entry="K2800", source="KBD", assign=("tr1",))
    api = Api(client_as(web, "tr1"))

    def fields(n):
        row = kbd_row(n, n)
        return {k: v for k, v in row.items() if v and k not in ("INDTASTNINGSNUMMER", "KILDE", "LOEBE_NR",
                                                                "KILDEANGIVELSE", "LOEBENR_KONTROL")}

    assert api.post(f"/api/books/{kbd}/records", {"fields": fields(1)}).status_code == 201
    issues = api.post(f"/api/books/{kbd}/check/record", {"fields": fields(3)}).json["issues"]
    [g] = [i for i in issues if i["code"] == "KILDE_LOEBE_NR_GAP"]
    assert "manglende dødsindførsel?" in g["title"] and "barn" not in g["title"]
