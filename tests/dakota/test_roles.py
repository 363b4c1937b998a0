"""Who may write: every write operation of Dakota's contract names its roles, and the viewer key writes nothing."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from simulator.apispec.enforce import compile_contracts
from simulator.apispec.validation import Operation
from tests.support import VIEWER_KEY, Kit, dakota_headers, events, mint_and_import, target_for
from tests.support.fuzz import changed_tables, fingerprint

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def write_operations() -> list[Operation]:
    ops = compile_contracts()["dakota"].operations()
    return sorted((op for op in ops if op.method in WRITES), key=lambda op: op.key)


def app_token_only(op: Operation) -> bool:
    """Authenticated by the customer's X-Application-Token, not by an API key: roles do not apply."""
    return op.security == ["ApplicationTokenAuth"]


def test_every_write_operation_names_who_may_call_it() -> None:
    unnamed = [op.key for op in write_operations() if not (op.roles or op.permission or app_token_only(op))]
    assert unnamed == []
    assert len(write_operations()) >= 10


@pytest.fixture
def ids(kit: Kit) -> dict[str, str]:
    row = mint_and_import(kit, "gb-passport")
    target = target_for(kit, "http://127.0.0.1:9/hook")
    application = kit.application(row["customer_id"], row["application_id"], include="entities")
    event = events(kit)["data"][0]
    return {
        "customer_id": row["customer_id"],
        "application_id": row["application_id"],
        "individual_id": application["entities"]["primary_individual"]["id"],
        "webhook_target_id": target["id"],
        "event_id": event["id"],
    }


@pytest.mark.parametrize("op", write_operations(), ids=lambda op: op.key)
def test_the_viewer_key_cannot_call_a_write_operation(kit: Kit, app: Flask, ids: dict[str, str], op: Operation) -> None:
    """The audit: POST /customers with the read-only viewer key answered 201 and created a customer."""
    store = app.extensions["kyc_sandbox"].rt.store
    path = re.sub(r"\{([^}]+)\}", lambda m: ids[m.group(1)], op.template)
    body = {"name": "Viewer Made", "customer_type": "individual", "tokens": [kit.token()], "url": "http://x/y"}
    before = fingerprint(store)
    resp = kit.http.request(
        op.method,
        kit.base_url + path,
        json=body,
        headers=dakota_headers(VIEWER_KEY),
    )
    kit.contract_problems.clear()  # the refusal's shape is checked below; some of these statuses are sandbox-only
    expected = 401 if op.permission or app_token_only(op) else 403
    assert resp.status_code == expected, resp.text
    if op.roles:
        assert resp.json()["detail"] == op.roles["detail"]
    if op.permission:
        assert resp.json()["detail"] == op.permission["detail"]
    assert changed_tables(before, fingerprint(store)) == []
