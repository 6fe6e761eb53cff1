"""Schemathesis over the whole API: no input gives a 5xx, and every answer is one the OpenAPI document describes.

Generated requests (valid and invalid, NUL and odd Unicode included) go to the app in-process against a
seeded database on both engines; deterministic, with few examples per operation, so it stays quick and
cannot flake.
"""

from __future__ import annotations

import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode, checks

from bot.runtime import Runtime
from tests.helpers import DETRACTORS_TO_RECOVERY, event, flow_yaml, install_flow, tick

EXAMPLES_PER_OPERATION = 8
# Whether a schema-valid request is accepted is not among them: a phone number or a time zone can fit the
# schema and still be wrong, and the answer to that is a documented 422.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.ignored_auth,
]


def seed(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    """A case, its response and delivery, a site and a queue, so that small ids and known keys find something."""
    install_flow(rt, flow_yaml(ask="never", extra=DETRACTORS_TO_RECOVERY))
    client.post("/api/v1/events", json=event(), headers=auth)
    tick(rt)
    client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": "+447911123456", "text": "2"},
                headers=auth)
    client.post("/api/v1/sites", json={"key": "web", "allowed_origins": ["https://app.example.com"]}, headers=auth)


def test_the_api_answers_as_its_document_says(app: Flask, rt: Runtime, client: FlaskClient, auth: dict) -> None:
    seed(rt, client, auth)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.config.generation.update(with_security_parameters=False)  # the key is ours; ignored_auth checks it
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        # Only a body or a query can be made invalid and still be sent (an empty path segment cannot).
        invalid = [GenerationMode.NEGATIVE] if len(operation.body) or len(operation.query) else []
        for mode in (GenerationMode.POSITIVE, *invalid):

            @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink])
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=auth, checks=CHECKS)

            try:
                check()
            except (Exception, BaseExceptionGroup) as exc:  # every operation runs; the report lists each that failed
                failures.append(f"{operation.label} ({mode}): {exc}")
    assert not failures, "\n\n".join(failures)
