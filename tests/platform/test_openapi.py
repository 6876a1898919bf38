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


def _typed(spec: dict, schema: dict, depth: int = 0) -> bool:
    """True when a schema says what is inside: a model, a typed list or map, a scalar or a union of those.
    `{}` (any JSON) and a bare `object` (an untyped dict) are not typed."""
    if depth > 20:
        return True
    if "$ref" in schema:
        return _typed(spec, _resolve(spec, schema), depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return all(_typed(spec, s, depth + 1) for s in schema[key])
    kind = schema.get("type")
    if kind == "object":
        extra = schema.get("additionalProperties")
        return bool(schema.get("properties")) or (isinstance(extra, dict) and _typed(spec, extra, depth + 1))
    if kind == "array":
        return _typed(spec, schema.get("items", {}), depth + 1)
    return bool(kind or schema.get("enum") or "const" in schema)


def test_every_json_success_response_declares_its_schema(client: TestClient) -> None:
    """Each JSON route documents what it returns: a typed schema, and for the envelope a typed `result`."""
    spec = client.get("/openapi.json").json()
    problems: list[str] = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            ok_codes = sorted(c for c in op.get("responses", {}) if c.startswith("2"))
            if not ok_codes:
                problems.append(f"{where}: no success response")
                continue
            content = op["responses"][ok_codes[0]].get("content", {})
            if "application/json" not in content:
                continue  # files, subtitles, event streams, metrics: documented by content type
            schema = content["application/json"].get("schema", {})
            if not _typed(spec, schema):
                problems.append(f"{where}: {ok_codes[0]} response has no schema")
                continue
            resolved = _resolve(spec, schema)
            data = resolved.get("properties", {}).get("data")
            # the envelope; a seed contract's own `{success, data}` shapes (music recommendations) are not
            envelope = data is not None and "metadata" in _resolve(spec, data).get("properties", {})
            if envelope and "success" in resolved.get("properties", {}):
                result = _resolve(spec, data).get("properties", {}).get("result", {})
                if not _typed(spec, result):
                    problems.append(f"{where}: envelope `result` is untyped")
    assert problems == [], "\n".join(problems)
