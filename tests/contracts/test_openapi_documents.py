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


# ---------------------------------------------------------------------------------------------- the JSON cache
def _uncached(api: str) -> dict[str, Any]:
    from simulator.apispec.loader import bundle, contract_path, read_yaml

    return bundle(read_yaml(contract_path(api)))


def test_bundled_contracts_are_cached_as_json_keyed_by_their_sources(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("KYC_SANDBOX_CACHE_DIR", str(tmp_path))
    load_contract.cache_clear()
    try:
        first = {api: load_contract(api) for api in APIS}
        files = sorted(p.name for p in tmp_path.iterdir())
        assert [f.split("-")[0] for f in files] == sorted(APIS)
        for api in APIS:
            assert first[api] == _uncached(api)
            (cached,) = tmp_path.glob(f"{api}-*.json")
            assert json.loads(cached.read_text(encoding="utf-8")) == first[api]
        # A second process reads the file instead of the YAML: what it holds is what it gets.
        (cached,) = tmp_path.glob("control-*.json")
        doc = json.loads(cached.read_text(encoding="utf-8"))
        doc["info"]["title"] = "read from the cache"
        cached.write_text(json.dumps(doc), encoding="utf-8")
        load_contract.cache_clear()
        assert load_contract("control")["info"]["title"] == "read from the cache"
    finally:
        load_contract.cache_clear()


def test_a_corrupt_cache_file_is_rebuilt_and_an_edited_source_is_a_miss(tmp_path: Any, monkeypatch: Any) -> None:
    from simulator.apispec import loader

    monkeypatch.setenv("KYC_SANDBOX_CACHE_DIR", str(tmp_path))
    load_contract.cache_clear()
    try:
        load_contract("sumsub")
        (cached,) = tmp_path.glob("sumsub-*.json")
        cached.write_text('{"truncated": ', encoding="utf-8")
        load_contract.cache_clear()
        assert load_contract("sumsub") == _uncached("sumsub")
        assert json.loads(cached.read_text(encoding="utf-8")) == _uncached("sumsub")

        # An edited shared schema file changes the key, so the old file is never read for it.
        before = loader._sources_digest("sumsub")
        contracts = tmp_path / "contracts"
        (contracts / "openapi").mkdir(parents=True)
        (contracts / "schemas").mkdir()
        (contracts / "openapi" / "sumsub.yaml").write_bytes(loader.contract_path("sumsub").read_bytes())
        for path in schema_files():
            (contracts / "schemas" / path.name).write_bytes(path.read_bytes())
        monkeypatch.setattr(loader, "contracts_dir", lambda: contracts)
        assert loader._sources_digest("sumsub") == before
        (contracts / "schemas" / "sumsub-error.schema.json").write_text("{}", encoding="utf-8")
        assert loader._sources_digest("sumsub") != before
    finally:
        load_contract.cache_clear()


def test_an_unwritable_cache_dir_only_costs_the_parse(tmp_path: Any, monkeypatch: Any) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache dir would go", encoding="utf-8")
    monkeypatch.setenv("KYC_SANDBOX_CACHE_DIR", str(blocker / "cache"))
    load_contract.cache_clear()
    try:
        assert load_contract("dakota") == _uncached("dakota")
    finally:
        load_contract.cache_clear()
