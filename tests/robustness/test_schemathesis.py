"""Schemathesis against the app's own OpenAPI schema (in-process ASGI): every operation gets generated
requests; no answer may be a 5xx, and every answer must conform to what the schema declares for it (status
code, content type, headers, body schema).

Bounded: SCHEMATHESIS_EXAMPLES examples per operation (default 30, derandomized, so a run is reproducible),
about 30 s per mode on this machine. The upload endpoints get random bytes (INVALID_FILE_TYPE); real media
is the malformed corpus' job (test_malformed.py)."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402  (schemathesis brings hypothesis)
from schemathesis import checks  # noqa: E402

from sensorium.api.app import create_app  # noqa: E402
from sensorium.services import build_services  # noqa: E402
from testkit.settings import make_settings  # noqa: E402

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "30"))
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance]
ADMIN_KEY = "schemathesis-admin-key-0123456789"
#: (AUTH_MODE, headers sent): open server; accounts with an admin key; accounts with no credentials (401s)
MODES = {"off": ("off", {}), "accounts-key": ("accounts", {"X-API-Key": ADMIN_KEY}),
         "accounts-anonymous": ("accounts", {})}


def run_operations(schema, headers: dict[str, str], examples: int) -> dict[str, list[str]]:
    """Every operation of `schema`, `examples` generated cases each; failures by operation."""
    failures: dict[str, list[str]] = defaultdict(list)
    for result in schema.get_all_operations():
        _run_one(result.ok(), headers, examples, failures)
    return failures


def _run_one(operation, headers: dict[str, str], examples: int, failures: dict[str, list[str]]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def check(case) -> None:
        try:
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=180)  # first calls load models
        except BaseException as exc:  # schemathesis raises a FailureGroup (a BaseExceptionGroup)
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures[operation.label].append(str(exc)[:1500])

    check()


@pytest.mark.parametrize("mode", list(MODES))
def test_no_5xx_and_every_answer_matches_its_declared_schema(tmp_path: Path, mode: str) -> None:
    auth_mode, headers = MODES[mode]
    services = build_services(make_settings(tmp_path, auth_mode=auth_mode,
                                             api_keys=[ADMIN_KEY] if auth_mode != "off" else []))
    app = create_app(services=services)
    try:
        with TestClient(app):  # runs the lifespan (job threads) like a server
            schema = schemathesis.openapi.from_asgi("/openapi.json", app)
            operations = [r.ok().label for r in schema.get_all_operations()]
            assert len(operations) >= 40 and "POST /api/analyze/image" in operations
            failures = run_operations(schema, headers, EXAMPLES)
    finally:
        services.close()
    report = "\n\n".join(f"== {op} ({len(msgs)}x)\n" + "\n--\n".join(dict.fromkeys(msgs))
                         for op, msgs in failures.items())
    assert not failures, report
