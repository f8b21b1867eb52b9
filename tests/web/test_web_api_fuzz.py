"""schemathesis against the JSON endpoints, through their own OpenAPI description.

The description is the one the application serves (``/api/openapi.json``, generated from
the request models in ``webentry.api_schema``). Every operation gets valid and invalid
requests (bodies of the wrong shape, numbers out of range, missing parameters) as the
book's transcriber, with the CSRF header. No request may end in a server error, and every
answer must be one the description lists, with the content type and body shape it gives.
The book and record ids are pinned to ones that exist (and one that does not), so the
requests reach the checks and the saving code instead of stopping at "no such book".
"""

from __future__ import annotations

import collections
import io

import pytest
from web_support import SCANS, Api, client_as, csrf_of, kbf_fields

pytest_plugins = ["web_support"]  # the web fixture: an application with users and a book

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES = 60  # per operation and generation mode


def test_json_endpoints_survive_schemathesis(web):
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    book = web.config["BOOK_ID"]
    admin = client_as(web, "admin1")
    jpeg = (SCANS / "kbf_clean_p0037.jpg").read_bytes()
    up = admin.post(f"/books/{book}/pages", data={"csrf_token": csrf_of(admin, f"/books/{book}"),
                                                  "pages": [(io.BytesIO(jpeg), "p37.jpg")]},
                    content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert up.json["added"] == [1]
    client = client_as(web, "tr1")
    api = Api(client)
    for n in (1, 2):
        assert api.post(f"/api/books/{book}/records", {"fields": kbf_fields(n), "page_seq": 1}).status_code == 201

    from importlib.metadata import version

    agent = f"Werkzeug/{version('werkzeug')}"  # what Flask's test client sent at the log-in
    raw = client.get("/api/openapi.json").json
    assert raw["openapi"].startswith("3.1")
    pinned = {"book_id": [book, book + 1], "loebe_nr": [0, 1, 2, 40], "seq": [1, 2], "book": [book, book + 1]}
    for item in raw["paths"].values():
        for operation in item.values():
            for p in operation.get("parameters", []):
                if p["name"] in pinned:
                    p["schema"] = {"type": "integer", "enum": pinned[p["name"]]}
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = web  # in-process WSGI calls, with the logged-in client's cookies

    seen: collections.Counter = collections.Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 11
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

    def fuzz(operation, mode):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def call(case):
            # the browser's own User-Agent: a session is bound to the browser that logged in
            response = case.call(session=client, headers={"X-CSRFToken": api.token, "User-Agent": agent})
            seen[(operation.label, mode.value, response.status_code)] += 1
            case.validate_response(response, checks=checks)

        call()

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode)

    total = sum(seen.values())
    by_status = collections.Counter()
    for (_label, _mode, status), n in seen.items():
        by_status[status] += n
    # The requests got past "no such book" into the views: every operation answered at least
    # once with something other than 404 (a result, a refusal of the body, a conflict).
    for operation in operations:
        assert any(label == operation.label and status != 404 for (label, _m, status) in seen), operation.label
    assert not any(status >= 500 for status in by_status)
    # The session was a real one all along (not 401 for everything).
    assert by_status[401] == 0
    from conftest import SUMMARY_LINES

    SUMMARY_LINES.append(f"schemathesis: {total} requests over {len(operations)} JSON operations, no server error; "
                         f"answers {dict(sorted(by_status.items()))}")
