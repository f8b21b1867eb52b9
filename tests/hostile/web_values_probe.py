"""A pytest plugin for the log test of the web suite (``test_web_suite_logs.py``): every
application the web tests make records the person values its requests carry (names,
dates, places and notes in JSON bodies, form fields, typed autocomplete text, passwords)
in the file ``$MGR_PROBE_VALUES``, one JSON string per line. Loaded only in that test's
child pytest run (``-p web_values_probe``)."""

from __future__ import annotations

import json
import os
import re

PERSON = re.compile(r"NAVN|STED|DATO|DAG$|BEMAERKNING|ANMAERKNING|STILLING|ERHVERV|ADRESSE|FOEDEAAR|ALDER$|"
                    r"KIRKE|^notes$|^note$|^new_value$|^password$|^q$|^value$|^suggested$|^offered$", re.I)
# Keys of a value's provenance whose values come from the application's fixed vocabularies
# (webentry.records.HOW and FROM: "typed", "accepted", "ocr", "check"...), not from a person.
VOCABULARY = ("how", "from")


def _vocabulary_word(key, value) -> bool:
    from webentry.records import FROM, HOW

    return key in VOCABULARY and value in (HOW if key == "how" else FROM)


def _keep(value) -> bool:
    return isinstance(value, str) and len(value.strip()) >= 4 and not (value.strip().isdigit()
                                                                       and len(value.strip()) < 8)


def _walk(node, person: bool, out: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if _vocabulary_word(key, value):
                continue
            _walk(value, person or bool(PERSON.search(str(key))), out)
    elif isinstance(node, list):
        for value in node:
            _walk(value, person, out)
    elif person and _keep(node):
        out.add(node.strip())


def _record_values():
    from flask import request

    found: set[str] = set()
    _walk(request.get_json(silent=True) or {}, False, found)
    for key in request.form:
        if PERSON.search(key):
            found |= {v.strip() for v in request.form.getlist(key) if _keep(v)}
    for key in ("q",):
        found |= {v.strip() for v in request.args.getlist(key) if _keep(v)}
    if found:
        with open(os.environ["MGR_PROBE_VALUES"], "a", encoding="utf-8") as fh:
            for value in sorted(found):
                fh.write(json.dumps(value) + "\n")


def pytest_configure(config):
    import webentry
    import webentry.app

    made = webentry.app.create_app

    def create_app(*args, **kwargs):
        app = made(*args, **kwargs)
        app.before_request(_record_values)
        return app

    webentry.create_app = create_app
    webentry.app.create_app = create_app
