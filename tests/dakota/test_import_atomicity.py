"""Bulk-import rows are atomic and independent whatever fails inside one, and nothing done is ever lost.

A failure inside a row, expected or not, before or after its token is spent (in the Sumsub copy, in Dakota's
insert, in the event), fails that row alone with an error text; the other rows of its chunk succeed, its token
stays unspent. A request that cannot finish keeps what it did under its idempotency key: the retry carries on.
These run on both stores (the suite's PostgreSQL pass includes tests/dakota).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from simulator.dakota import importer as importer_module
from simulator.dakota import queries as dakota_queries
from simulator.dakota.importer import CHUNK_ROWS, ROW_INTERNAL_ERROR
from simulator.dakota.models import Customer
from simulator.sumsub import queries as sumsub_queries
from simulator.sumsub.errors import SumsubError
from simulator.sumsub.models import Applicant
from tests.support import ADMIN_KEY, Kit, token_state
from tests.support.bulk import post_bulk_raw, tokens_body

POISON = "James"  # the first name of the `us-ssn` profile: the row every injected failure below aims at


def counts(app: Flask) -> tuple[int, int]:
    """(customers, recipient-side applicants) in the store."""
    sb = app.extensions["kyc_sandbox"]
    with sb.rt.store.read() as tx:
        customers = tx.scalar(select(func.count()).select_from(Customer))
        copies = tx.scalar(select(func.count()).select_from(Applicant).where(Applicant.reuse_scope.is_not(None)))
    return int(customers or 0), int(copies or 0)


def batch(kit: Kit, size: int, poisoned_at: int) -> list[str]:
    """`size` tokens of `gb-passport` donors, with a `us-ssn` donor's (the poisoned row) at `poisoned_at`."""
    return [kit.token("us-ssn" if i == poisoned_at else "gb-passport") for i in range(size)]


def in_the_copy(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Sumsub copy fails as it is written (after its token was spent in the same step)."""
    real = sumsub_queries.insert_applicant

    def insert_applicant(tx: Any, a: Any, **kw: Any) -> None:
        if a.fixed_info.get("firstName") == POISON:
            raise RuntimeError("injected: the copy failed")
        real(tx, a, **kw)

    monkeypatch.setattr(sumsub_queries, "insert_applicant", insert_applicant)


def in_dakotas_insert(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The customer row holds a value the store cannot encode (the audit's case): the failure comes when the chunk's
    rows are written, after every row of it was spent."""
    real = dakota_queries.insert_customer

    def insert_customer(tx: Any, c: Any, **kw: Any) -> None:
        if c.name.startswith(POISON):
            c = dataclasses.replace(c, name=POISON + "\ud800")
        real(tx, c, **kw)

    monkeypatch.setattr(dakota_queries, "insert_customer", insert_customer)


def in_the_event(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    events = app.extensions["kyc_sandbox"].dakota.events
    real = events.emit

    def emit(tx: Any, organization_id: str, event_type: str, data: dict[str, Any], *a: Any, **kw: Any) -> Any:
        if str(data.get("name", "")).startswith(POISON):
            raise ValueError("injected: the event failed")
        return real(tx, organization_id, event_type, data, *a, **kw)

    monkeypatch.setattr(events, "emit", emit)


def an_expected_error_type_in_the_writes(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error of a kind the plan raises (a Sumsub error), raised among the writes: still a row of its own."""
    real = importer_module.map_applicant

    def map_applicant(applicant: dict[str, Any], *args: Any, **kw: Any) -> Any:
        if applicant.get("fixedInfo", {}).get("firstName") == POISON:
            raise SumsubError("refused among the writes", status=400)
        return real(applicant, *args, **kw)

    monkeypatch.setattr(importer_module, "map_applicant", map_applicant)


INJECTIONS: dict[str, tuple[Callable[[Flask, pytest.MonkeyPatch], None], str]] = {
    "copy": (in_the_copy, ROW_INTERNAL_ERROR),
    "dakota-insert": (in_dakotas_insert, ROW_INTERNAL_ERROR),
    "event": (in_the_event, ROW_INTERNAL_ERROR),
    "expected-error-type-in-the-writes": (an_expected_error_type_in_the_writes, ROW_INTERNAL_ERROR),
}


@pytest.mark.parametrize("where", list(INJECTIONS))
def test_a_row_failing_after_its_spend_fails_alone_and_the_rest_of_its_chunk_succeeds(
    kit: Kit, app: Flask, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    inject, error = INJECTIONS[where]
    tokens = batch(kit, CHUNK_ROWS, poisoned_at=10)
    inject(app, monkeypatch)
    body = kit.bulk(tokens)
    assert (body["total"], body["succeeded"], body["failed"]) == (CHUNK_ROWS, CHUNK_ROWS - 1, 1)
    failed = body["results"][10]
    assert failed["success"] is False and failed["error"] == error
    assert "customer_id" not in failed
    assert all(r["success"] for i, r in enumerate(body["results"]) if i != 10)
    assert counts(app) == (CHUNK_ROWS - 1, CHUNK_ROWS - 1)
    states = [token_state(kit, t) for t in tokens]
    assert states == ["redeemed"] * 10 + ["active"] + ["redeemed"] * (CHUNK_ROWS - 11)


def test_the_audits_29_token_import_with_a_bad_row_at_27_keeps_every_other_row_and_replays(
    kit: Kit, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit: a row the store cannot write, in the second chunk, answered 500 after 25 rows were spent."""
    tokens = batch(kit, 29, poisoned_at=27)
    in_dakotas_insert(app, monkeypatch)
    key = str(uuid.uuid4())
    first = kit.admin.bulk_import_sumsub_tokens(tokens, idempotency_key=key)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["succeeded"], body["failed"]) == (28, 1)
    assert body["results"][27]["error"] == ROW_INTERNAL_ERROR
    again = kit.admin.bulk_import_sumsub_tokens(tokens, idempotency_key=key)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == body
    assert counts(app) == (28, 28)
    assert token_state(kit, tokens[27]) == "active"


@pytest.fixture
def store_fails_in_the_third_chunk(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """The store goes away (OperationalError) while the third chunk of the next import is being written."""
    real = importer_module.BulkImporter.rows
    calls = {"n": 0, "fail_at": 3}

    def rows(self: Any, tx: Any, key: Any, tokens: list[str]) -> list[dict[str, Any]]:
        calls["n"] += 1
        if calls["n"] == calls["fail_at"]:
            raise OperationalError("INSERT ...", {}, Exception("the server closed the connection"))
        return real(self, tx, key, tokens)

    monkeypatch.setattr(importer_module.BulkImporter, "rows", rows)
    yield calls


def test_a_request_that_cannot_finish_keeps_its_rows_and_a_retry_carries_on(
    kit: Kit, app: Flask, store_fails_in_the_third_chunk: dict[str, int]
) -> None:
    tokens = [kit.token("gb-passport") for _ in range(3 * CHUNK_ROWS + 5)]
    key = str(uuid.uuid4())
    raw = tokens_body(tokens)
    stopped = post_bulk_raw(kit, raw, idempotency_key=key)
    assert stopped.status_code == 503, stopped.text  # the store is busy or gone: retry
    kit.contract_problems.clear()  # 503 is declared; the property: what the first two chunks did is kept
    assert counts(app)[0] == 2 * CHUNK_ROWS
    retried = post_bulk_raw(kit, raw, idempotency_key=key)
    assert retried.status_code == 200, retried.text
    body = retried.json()
    assert body["succeeded"] == len(tokens), [r for r in body["results"] if not r["success"]][:3]
    # Every token redeemed exactly once, each row's customer known: none "Tokens are single-use".
    assert counts(app) == (len(tokens), len(tokens))
    assert len({r["customer_id"] for r in body["results"]}) == len(tokens)
    replay = post_bulk_raw(kit, raw, idempotency_key=key)
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json() == body


def test_a_retry_with_a_new_key_after_a_stopped_request_sees_the_done_rows_as_used(
    kit: Kit, app: Flask, store_fails_in_the_third_chunk: dict[str, int]
) -> None:
    """Keys are the way to learn a stopped request's rows; another key is another request (the guide's rule)."""
    tokens = [kit.token("gb-passport") for _ in range(3 * CHUNK_ROWS)]
    assert post_bulk_raw(kit, tokens_body(tokens), idempotency_key=str(uuid.uuid4())).status_code == 503
    kit.contract_problems.clear()
    body = kit.bulk(tokens)
    assert [r["success"] for r in body["results"]] == [False] * (2 * CHUNK_ROWS) + [True] * CHUNK_ROWS
    assert "Tokens are single-use" in body["results"][0]["error"]


def test_a_company_token_is_refused_before_it_is_spent(kit: Kit, app: Flask) -> None:
    good, company = kit.token("gb-passport"), kit.token("business")
    body = kit.bulk([good, company])
    assert [r["success"] for r in body["results"]] == [True, False]
    assert "individual applicants only" in body["results"][1]["error"]
    assert body["results"][1]["name"].endswith("(from Sumsub)")
    assert [token_state(kit, t) for t in (good, company)] == ["redeemed", "active"]
    assert counts(app) == (1, 1)


def test_a_token_that_is_not_text_fails_its_row_and_the_others_import(kit: Kit) -> None:
    """`{"tokens": ["\\ud800"]}` (a lone surrogate): a malformed token, not a 500 and not a failed request."""
    good = kit.token("gb-passport")
    raw = b'{"tokens": ["' + good.encode() + b'", "\\ud800", "a\\u0000b"]}'
    resp = post_bulk_raw(kit, raw, idempotency_key=str(uuid.uuid4()))
    assert resp.status_code == 200, resp.text
    rows = resp.json()["results"]
    assert [r["success"] for r in rows] == [True, False, False]
    assert all(r["error"] == "Failed to redeem share token: Token is invalid: malformed share token" for r in rows[1:])
    assert json.dumps(resp.json()).isascii()


@pytest.mark.parametrize("admin", [ADMIN_KEY])
def test_a_slowed_import_uses_the_same_protocol_and_replays(kit: Kit, admin: str) -> None:
    """With a fault rule slowing rows (one transaction per row), the same key still replays the same response."""
    tokens = [kit.token("gb-passport") for _ in range(3)]
    rule = {"id": "slow-rows", "api": "internal", "path": "dakota.import_row", "latency": {"ms": 1}}
    assert kit.http.post(f"{kit.base_url}/_sandbox/faults", json={"rules": [rule]}).status_code == 200
    key = str(uuid.uuid4())
    first = kit.admin.bulk_import_sumsub_tokens(tokens, idempotency_key=key)
    second = kit.admin.bulk_import_sumsub_tokens(tokens, idempotency_key=key)
    assert first.json()["succeeded"] == 3
    assert second.headers.get("Idempotent-Replayed") == "true" and second.json() == first.json()
