"""/docs is complete: every operation described, every parameter and form field described, error
responses listed with the envelope schema (not FastAPI's default HTTPValidationError)."""

from __future__ import annotations

from fastapi.testclient import TestClient


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def test_every_operation_parameter_and_error_is_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    problems: list[str] = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            if not op.get("description") and not op.get("summary"):
                problems.append(f"{where}: no description")
            for p in op.get("parameters", []):
                if not p.get("description") and not p.get("schema", {}).get("description"):
                    problems.append(f"{where}: parameter {p['name']} undocumented")
            body = op.get("requestBody", {}).get("content", {})
            for media in body.values():
                schema = _resolve(spec, media.get("schema", {}))
                for name, prop in schema.get("properties", {}).items():
                    if not prop.get("description"):
                        problems.append(f"{where}: field {name} undocumented")
            takes_input = bool(op.get("parameters") or body)
            errors = {code: r for code, r in op.get("responses", {}).items() if code[0] in "45"}
            if takes_input and not errors:
                problems.append(f"{where}: no error responses listed")
            for code, r in errors.items():
                schema = r.get("content", {}).get("application/json", {}).get("schema", {})
                if schema.get("$ref", "").endswith("HTTPValidationError"):
                    problems.append(f"{where}: {code} documents FastAPI's default error, not the envelope")
    assert problems == [], "\n".join(problems)


def test_docs_page_is_served(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()
