"""x-idempotency-key: the canonical UUID form only; the same request is the same parsed body; one family of errors."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
import yaml

from simulator.apispec.loader import contract_path
from simulator.dakota.errors import DakotaProblem
from simulator.dakota.idempotency import parse_key
from tests.support import ADMIN_KEY, BULK, Kit
from tests.support.bulk import post_bulk_raw

PROBLEMS = "https://api.platform.dakota.xyz/problems/"


def post_customer(kit: Kit, raw: bytes, key: str) -> requests.Response:
    return kit.http.post(
        f"{kit.base_url}/customers",
        data=raw,
        headers={"x-api-key": ADMIN_KEY, "x-idempotency-key": key, "Content-Type": "application/json"},
    )


def test_the_same_json_reserialised_replays_instead_of_422(kit: Kit) -> None:
    """The audit: other whitespace or key order under the same key answered 422."""
    key = str(uuid.uuid4())
    first = post_customer(kit, b'{"name":"Ada Lovelace","customer_type":"individual"}', key)
    again = post_customer(kit, b'{ "customer_type" : "individual",\n  "name" : "Ada Lovelace" }', key)
    assert first.status_code == 201, first.text
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    other = post_customer(kit, b'{"name":"Ada Byron","customer_type":"individual"}', key)
    assert other.status_code == 422


def test_a_bulk_import_reserialised_replays(kit: Kit) -> None:
    token = kit.token()
    key = str(uuid.uuid4())
    first = post_bulk_raw(kit, json.dumps({"tokens": [token]}).encode(), idempotency_key=key)
    again = post_bulk_raw(kit, json.dumps({"tokens": [token]}, indent=4).encode(), idempotency_key=key)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()


@pytest.mark.parametrize(
    "key",
    [
        "{123e4567-e89b-12d3-a456-426614174000}",
        "123e4567e89b12d3a456426614174000",
        "urn:uuid:123e4567-e89b-12d3-a456-426614174000",
        "123e4567-e89b-12d3-a456-42661417400",
        "123e4567-e89b-12d3-a456-4266141740000",
        "123e4567_e89b_12d3_a456_426614174000",
        "\uff11\uff12\uff13e4567-e89b-12d3-a456-426614174000",  # fullwidth digits,
    ],
)
def test_a_key_not_in_the_canonical_uuid_form_is_a_400(kit: Kit, key: str) -> None:
    """The audit: `{...}` braces and 32 undashed hex digits were accepted though the spec says `format: uuid`."""
    resp = post_customer(kit, b'{"name":"Ada Lovelace","customer_type":"individual"}', key)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["errors"][0]["field"] == "x-idempotency-key"
    with pytest.raises(DakotaProblem, match="canonical form"):
        parse_key(key)


def test_a_key_is_case_insensitive_hex() -> None:
    assert parse_key("123E4567-E89B-12D3-A456-426614174000") == "123e4567-e89b-12d3-a456-426614174000"


def test_the_services_texts_are_the_contracts() -> None:
    """The key is checked at the edge (the contract) and by the service: their words must be the same."""
    overlay = yaml.safe_load((contract_path("dakota").parent / "overlays" / "dakota.yaml").read_text())
    messages = overlay["parameters"]["x-idempotency-key"]["x-error-messages"]
    for raw, keyword in ((None, "required"), ("{not-a-uuid}", "format")):
        with pytest.raises(DakotaProblem) as caught:
            parse_key(raw)
        assert caught.value.detail == messages[keyword]


def test_every_bulk_import_error_has_a_problems_type(kit: Kit) -> None:
    """409, 413, 422 (undeclared by Dakota's spec for this operation) use the same `/problems/` types as 400/401."""
    token = kit.token()
    key = str(uuid.uuid4())
    assert post_bulk_raw(kit, json.dumps({"tokens": [token]}).encode(), idempotency_key=key).status_code == 200
    reused = post_bulk_raw(kit, json.dumps({"tokens": [token, token]}).encode(), idempotency_key=key)
    too_big = post_bulk_raw(kit, b" " * (17 * 1024 * 1024), idempotency_key=str(uuid.uuid4()))
    kit.contract_problems.clear()  # 413 and 422 are documented deviations for this operation (fidelity notes)
    for resp, status, slug in ((reused, 422, "unprocessable-entity"), (too_big, 413, "payload-too-large")):
        assert resp.status_code == status, resp.text
        assert resp.json()["type"] == PROBLEMS + slug
        assert resp.headers["Content-Type"].startswith("application/json")
    assert BULK.startswith("/customers")
