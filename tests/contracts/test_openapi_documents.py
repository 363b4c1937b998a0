"""The contract documents themselves: valid OpenAPI 3.1, complete, served as JSON and as a docs page."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from simulator.apispec.enforce import compile_contracts
from simulator.apispec.loader import APIS, load_contract, schema_files, served_document

NOT_API_ENDPOINTS = ("dashboard.", "apispec.", "static")


@pytest.mark.parametrize("api", APIS)
def test_contract_is_a_valid_openapi_31_document(api: str) -> None:
    doc = load_contract(api)
    assert doc["openapi"].startswith("3.1")
    validate_openapi(doc)


@pytest.mark.parametrize("path", schema_files(), ids=lambda p: p.name)
def test_shared_schema_files_are_valid_json_schema_2020_12(path: Any) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("api", APIS)
def test_every_operation_documents_its_errors_and_has_an_operation_id(api: str) -> None:
    doc = load_contract(api)
    ids = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            ids.append(op.get("operationId"))
            statuses = set(op["responses"])
            assert any(s.startswith("2") for s in statuses), f"{method} {path}: no 2xx"
            assert {"400", "503"} <= statuses, f"{method} {path}: {sorted(statuses)}"
            if api != "control":
                assert {"401", "429"} <= statuses, f"{method} {path}: {sorted(statuses)}"
            if "{" in path:
                assert "404" in statuses, f"{method} {path}: {sorted(statuses)}"
    assert all(ids) and len(ids) == len(set(ids))


def test_every_route_the_sandbox_serves_is_in_a_contract(app: Flask) -> None:
    contracts = compile_contracts()
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(NOT_API_ENDPOINTS) or rule.rule == "/":
            continue
        api = (
            "sumsub"
            if rule.rule.startswith("/resources")
            else "control"
            if rule.rule.startswith("/_sandbox")
            else "dakota"
        )
        path = re.sub(r"<(?:[a-z]+:)?([^>]+)>", r"x\1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if contracts[api].find(method, path) is None:
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"routes without a contract operation: {missing}"


@pytest.mark.parametrize("api", APIS)
def test_openapi_json_is_the_contract_with_this_sandbox_as_server(app: Flask, api: str) -> None:
    resp = app.test_client().get(f"/openapi/{api}.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    served = resp.get_json()
    base = app.extensions["kyc_sandbox"].rt.settings.resolved_base_url
    assert served["servers"] == [{"url": base, "description": "this kyc-sandbox"}]
    assert served == served_document(api, base)
    assert "$ref" not in json.dumps(served).replace('"$ref": "#/', "")  # self-contained: only local references


def test_unknown_contract_is_404(app: Flask) -> None:
    assert app.test_client().get("/openapi/stripe.json").status_code == 404


def test_docs_page_lists_every_operation_and_loads_nothing_from_elsewhere(app: Flask) -> None:
    resp = app.test_client().get("/docs")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    for api in APIS:
        assert f'href="/openapi/{api}.json"' in page
        for path, item in load_contract(api)["paths"].items():
            for method in item:
                if method in ("get", "put", "post", "patch", "delete"):
                    assert f">{method.upper()}</span> <code>{path.replace('&', '&amp;')}</code>" in page, (method, path)
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
