"""Property-based tests over the OpenAPI schema (Schemathesis): for every operation, generated requests (valid
and not) never get a 5xx, and every response conforms to the schema documented for it.

Bounded: AUTOCODER_FUZZ_EXAMPLES examples per operation (default 8, derandomized so a run is repeatable) and a
time budget for the whole module, AUTOCODER_FUZZ_SECONDS (default 150): operations not reached within it are
skipped, saying so. Each operation runs against a fresh app and database with a coded transcript, a coder and
a decision in it, signed in as an admin.
"""

import json
import os
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.config import Settings
from app.main import create_app
from tests.conftest import add_user

EXAMPLES = int(os.environ.get("AUTOCODER_FUZZ_EXAMPLES", "8"))
BUDGET = float(os.environ.get("AUTOCODER_FUZZ_SECONDS", "150"))
STARTED: list[float] = []
TEXT = "Interviewer: How was it?\nSP3: She helped me plan my week. We set a goal to walk every morning.\n"

# The schema is the app's own; building it needs no database or model (create_app starts nothing).
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


@schemathesis.serializer("application/x-ndjson", "application/yaml")
def as_text(ctx, value) -> dict:
    """Job manifests (JSONL) and YAML codebooks: generated values sent as JSON text (valid YAML, one line)."""
    return {"data": value if isinstance(value, bytes) else json.dumps(value).encode()}


# Conformance: the status, media type, headers and body are the ones documented for the operation, and a
# request the schema calls invalid is refused (4xx).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]


@pytest.fixture
def seeded(client):
    """A coded transcript, a coder and one decision, so reads by id have something to find."""
    out = client.post("/transcripts", json={"text": TEXT, "title": "Seed"}).json()
    coder = add_user(client.app, "fuzz-coder", "coder")
    segment = next(s for s in out["segments"] if s["suggestions"])
    client.post(f"/segments/{segment['id']}/decisions", headers=coder,
                json={"action": "accept", "suggestion_id": segment["suggestions"][0]["id"]})
    return client


def send(client, case):
    """The generated request, through the test's own client (its app is already started and seeded)."""
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    request = {k: kwargs[k] for k in ("method", "url", "headers", "params", "cookies") if kwargs.get(k)}
    # Signed in as the admin: the schema's bearer scheme makes Schemathesis send made-up tokens, which would
    # only ever reach the 401 (tests/api/test_review.py covers that). Headers made invalid on purpose (the
    # token left out or malformed) are sent as generated: they must get the 401.
    header = case.meta.components.get(ParameterLocation.HEADER) if case.meta is not None else None
    as_generated = header is not None and header.mode == GenerationMode.NEGATIVE
    if not as_generated:
        headers = {k: v for k, v in (request.get("headers") or {}).items() if k.lower() != "authorization"}
        request["headers"] = {**headers, "Authorization": client.headers["Authorization"]}
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    if kwargs.get("files"):  # requests' multipart parts: (name, (filename or None for a form field, content))
        def raw(value) -> bytes:
            return value if isinstance(value, bytes) else str(value).encode()

        parts = [(name, part if isinstance(part, tuple) else (None, part)) for name, part in kwargs["files"]]
        request["files"] = [(name, (part[0] or "field", raw(part[1]))) for name, part in parts if part[0]]
        form = [(name, raw(part[1]).decode("utf-8", "replace")) for name, part in parts if not part[0]]
        request["data"] = dict(form) | dict(kwargs.get("data") or {})
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        if isinstance(data, dict):
            request["data"] = data
        else:
            request["content"] = data.encode() if isinstance(data, str) else data
    sent = client.build_request(**request)
    if as_generated and not any(k.lower() == "authorization" for k in request.get("headers") or {}):
        del sent.headers["Authorization"]  # the client's own admin token must not fill the gap
    return client.send(sent)


@schema.parametrize()
@hypothesis_settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                     phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case, seeded):
    client = seeded
    if not STARTED:
        STARTED.append(time.monotonic())
    if time.monotonic() - STARTED[0] > BUDGET:
        pytest.skip(f"the fuzzing budget of {BUDGET:.0f} s (AUTOCODER_FUZZ_SECONDS) is spent")
    if case.path == "/jobs" and case.method.upper() == "POST":
        case.query = {**(case.query or {}), "store": "false"}  # background jobs must not outlive the app
    response = send(client, case)
    case.validate_response(response, checks=CHECKS)
