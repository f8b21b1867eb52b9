"""Cross-source findings in the web QA queue: both records side by side, "one person or
two" taken as a decision, stored and audited, counted by `status`, and kept when a delivery
is delivered again."""

from __future__ import annotations

from sqlalchemy import select
from web_support import client_as, csrf_of, danish

from fixtures.generator_population import write
from ingest.store import import_paths
from ingest.store.status import cross_source

pytest_plugins = ["web_support"]  # the web fixture: an application with users and a book


def _cross(app, code):
    from ingest.store.models import findings

    with app.extensions["mgr_store"].reading() as conn:
        return list(conn.execute(select(findings).where(findings.c.code == code).order_by(findings.c.id)))


def test_one_person_or_two_is_decided_beside_both_records_and_kept_across_deliveries(web, tmp_path):
    from webentry.models import Decision

    key = write(tmp_path / "in")
    store = web.extensions["mgr_store"]
    import_paths(store, [tmp_path / "in"])
    dup = next(f for f in _cross(web, "DUPLICATE_ACROSS_DELIVERIES") if f.other["entry_number"] == "K5001")
    rev = client_as(web, "rev1")
    assert danish("The same child registered in two deliveries") in rev.get("/qa").get_data(as_text=True)
    page = rev.get(f"/qa/{dup.id}").get_data(as_text=True)
    # both records, each named by its delivery and running number, and the two choices
    assert danish("Both records side by side") in page and 'id="record-compare"' in page
    assert f"KBF {dup.other['entry_number']} · LOEBE_NR {dup.other['loebe_nr']}" in page
    assert f"{dup.entry_number} · LOEBE_NR {dup.loebe_nr}" in page
    assert 'value="same_person"' in page and 'value="two_persons"' in page

    missing = _cross(web, "BIRTH_NOT_KEYED_KBD")[0]
    shown = rev.get(f"/qa/{missing.id}").get_data(as_text=True)
    assert danish("The record that shows it") in shown and f"KBD {missing.other['entry_number']} · LOEBE_NR" in shown
    assert 'id="pair-form"' not in shown  # a missing birth is not a question of one person or two

    token = csrf_of(rev, "/qa")
    assert rev.post(f"/qa/{missing.id}/resolve", data={"csrf_token": token, "decision": "same_person"}).status_code == 400
    open_before = cross_source(store)["open"]
    r = rev.post(f"/qa/{dup.id}/resolve", data={"csrf_token": token, "decision": "two_persons",
                                                "note": "twins: the book says so"})
    assert r.status_code == 302
    with web.extensions["mgr_sessions"]() as s:
        [d] = s.scalars(select(Decision).where(Decision.finding_id == dup.id)).all()
        assert (d.decision, d.who, d.note) == ("two_persons", "rev1", "twins: the book says so")
    from ingest.store.models import audit_log

    with store.reading() as conn:
        logged = [a.detail for a in conn.execute(select(audit_log).where(audit_log.c.action == "finding_resolved"))]
    assert {"decision": "two_persons", "code": "DUPLICATE_ACROSS_DELIVERIES", "correction_id": None}.items() <= \
        logged[-1].get("new", logged[-1]).items()
    assert cross_source(store)["open"] == open_before - 1
    # the tables for linkage follow the reviewer: two children, so neither is a copy
    import pandas as pd

    from ingest.store.clean import write_rebuilt

    kbf = pd.read_parquet(write_rebuilt(store, tmp_path / "tables", ["KBF", "KBD"]).paths["kbf"])
    row = kbf[(kbf["INDTASTNINGSNUMMER"] == dup.entry_number) & (kbf["LOEBE_NR"] == dup.loebe_nr)].iloc[0]
    assert pd.isna(row["KOPI_AF"]) and bool(row["TIL_LINKAGE"])
    undecided = [f for f in _cross(web, "DUPLICATE_ACROSS_DELIVERIES") if f.id != dup.id]
    marked = kbf[kbf["KOPI_AF"].notna()]
    assert {(f.entry_number, f.loebe_nr) for f in undecided} <= set(zip(marked["INDTASTNINGSNUMMER"],
                                                                         marked["LOEBE_NR"]))

    # The book of deaths is delivered again (one death less): the check runs again, and the
    # decided pair keeps its finding, its id and so its decision; it stays out of the queue.
    gone = key["birth_not_keyed"][0]["kbd"]
    data = tmp_path / "in" / f"{gone['entry_number']}dd.csv"
    raw = data.read_bytes()
    nl = b"\r\n" if b"\r\n" in raw else b"\n"
    lines = raw.split(nl)
    del lines[gone["line"] - 1]
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / data.name).write_bytes(nl.join(lines))
    dok = data.with_name(f"{gone['entry_number']}dok.csv")
    (tmp_path / "again" / dok.name).write_bytes(dok.read_bytes())
    run = import_paths(store, [tmp_path / "again"])
    assert [o.status for o in run.outcomes] == ["new_version"] and run.cross is not None and run.cross.removed == 1
    assert dup.id in {f.id for f in _cross(web, "DUPLICATE_ACROSS_DELIVERIES")}
    queue = rev.get("/qa?code=DUPLICATE_ACROSS_DELIVERIES").get_data(as_text=True)
    assert f"/qa/{dup.id}?" not in queue and f'/qa/{dup.id}"' not in queue
    assert cross_source(store)["open"] == open_before - 2  # the decided pair and the death taken out


def test_a_record_confirmed_as_keyed_twice_leaves_the_linkage_and_stays_out_across_versions(web, tmp_path):
    """A duplicate inside one delivery (DUPLICATE_RECORD) decided as one person: the later
    record becomes a copy (KOPI_AF, TIL_LINKAGE false) in the tables for linkage, also after
    the book is delivered again; decided again as two, it is linkable once more."""
    import pandas as pd
    from conftest import kbf_row, write_delivery

    from ingest.store.clean import write_rebuilt
    from ingest.store.models import findings

    store = web.extensions["mgr_store"]
    rows = [kbf_row(i, i) for i in range(1, 7)]
    rows[4].update({k: v for k, v in rows[2].items() if k not in ("LOEBE_NR", "KILDE_LOEBE_NR", "KILDE_SIDE")})
    write_delivery(tmp_path / "in", rows, entry="K2697")
    import_paths(store, [tmp_path / "in"])
    with store.reading() as conn:
        [dup] = conn.execute(select(findings).where(findings.c.code == "DUPLICATE_RECORD")).all()
    assert (dup.entry_number, dup.loebe_nr) == ("K2697", 5) and "(LOEBE_NR 3)" in dup.message

    def table():
        kbf = pd.read_parquet(write_rebuilt(store, tmp_path / "tables", ["KBF"]).paths["kbf"])
        return kbf.set_index("LOEBE_NR")

    before = table()
    assert bool(before.at[5, "TIL_LINKAGE"]) and "KOPI_AF" not in before  # nothing decided: as `clean` writes it

    rev = client_as(web, "rev1")
    page = rev.get(f"/qa/{dup.id}").get_data(as_text=True)
    assert 'id="pair-form"' in page and danish("Keyed twice: this record is the copy") in page
    token = csrf_of(rev, "/qa")
    assert rev.post(f"/qa/{dup.id}/resolve", data={"csrf_token": token, "decision": "same_person"}).status_code == 302
    after = table()
    assert after.at[5, "KOPI_AF"] == "K2697:3" and not bool(after.at[5, "TIL_LINKAGE"])
    assert pd.isna(after.at[3, "KOPI_AF"]) and bool(after.at[3, "TIL_LINKAGE"])  # the original is the one linked
    assert after["KOPI_AF"].notna().sum() == 1

    # a new export of the book (another record corrected in KIIP): the decision still holds
    rows[5]["FORNAVN"] = "Svend"
    write_delivery(tmp_path / "in2", rows, entry="K2697")
    assert import_paths(store, [tmp_path / "in2"]).outcomes[0].status == "new_version"
    again = table()
    assert again.at[6, "FORNAVN"] == "Svend"
    assert again.at[5, "KOPI_AF"] == "K2697:3" and not bool(again.at[5, "TIL_LINKAGE"])

    # decided again, as two different records: linkable again
    with store.reading() as conn:
        newest = conn.execute(select(findings).where(findings.c.code == "DUPLICATE_RECORD")
                              .order_by(findings.c.id.desc())).first()
    assert newest.id != dup.id
    r = rev.post(f"/qa/{newest.id}/resolve", data={"csrf_token": token, "decision": "two_persons",
                                                   "note": "two births on one day"})
    assert r.status_code == 302
    last = table()
    assert "KOPI_AF" not in last and bool(last.at[5, "TIL_LINKAGE"])  # no copy left: the table as before
