"""Hostile input on every endpoint of the app: never a 5xx, errors in the provider's envelope, a 4xx changes nothing.

Every rule of `app.url_map` (and every method it accepts, plus one it does not) gets Hypothesis-drawn requests:
hostile path ids (traversal, encoded traversal, NUL, very long, unicode, SQL-ish) mixed with real ids, hostile
query strings, bodies of wrong types, bad encodings (invalid UTF-8, BOMs, UTF-16), wrong Content-Types, sizes
around MAX_CONTENT_LENGTH, odd header values, and credentials that are missing, wrong, or valid (a correct Sumsub
signature over the hostile body, a Dakota admin key, the real X-Application-Token), so requests get past auth
(the strategies: tests/support/hostile.py).

Properties, per request:
- the status is never 5xx;
- a 4xx body is the provider's envelope: Sumsub `{description, code == status, correlationId}`, Dakota problem
  details with `status` == the HTTP status (or Dakota's own `application_not_ready` body on submissions), the
  control plane's `{"error": {"status", "message"}}`;
- a 4xx changes nothing: every table (the request journal aside) has the same rows before and after;
- a body over the size limit gets 413 in the envelope.

Runs in-process on the suite's store (SQLite in memory, or PostgreSQL with KYC_SANDBOX_TEST_STORE=postgresql), with
background dispatch off, a small MAX_CONTENT_LENGTH so "too big" is cheap, and a bounded example count.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings

from simulator.app import Sandbox, api_of, create_app
from simulator.core.store import Store
from simulator.dakota.models import Customer, WebhookTarget
from simulator.harness.clients import control_headers
from simulator.harness.transport import in_process_session
from simulator.settings import Settings
from tests.support import (
    ADMIN_KEY,
    DONOR2_ID,
    DONOR_ID,
    OTHER_ORG_KEY,
    create_customer,
    events,
    make_kit,
    mint_and_import,
    sign,
    target_for,
)
from tests.support.fuzz import Reply, call, changed_tables, envelope_problems, fingerprint
from tests.support.hostile import LIMIT, VARIABLE, Request, World, multipart_body, requests_for, sized_body

EXAMPLES_PER_METHOD = 10  # per (rule, method) the rule serves
EXAMPLES_UNSUPPORTED = 3  # a method the rule does not serve (405)


# ------------------------------------------------------------------------------------------ the endpoints
def _rules() -> list[tuple[str, list[str], str]]:
    """(rule, the methods it serves, one method it does not) for every rule of the app."""
    app = create_app(Settings(database_url="sqlite://"), prepare=False)
    out: list[tuple[str, list[str], str]] = []
    for rule in app.url_map.iter_rules():
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        unsupported = next(m for m in ("PATCH", "PUT", "DELETE", "POST", "GET") if m not in methods)
        out.append((rule.rule, methods, unsupported))
    app.extensions["kyc_sandbox"].close()
    return sorted(out)


RULES = _rules()
ENDPOINTS = [(rule, m) for rule, methods, _u in RULES for m in methods]


# ------------------------------------------------------------------------------------------ the world
def build_world(app: Flask) -> tuple[list[str], list[str]]:
    """Donor applicants of two clients, an imported customer and application, another organisation's customer,
    a webhook target and an event: (ids, application tokens)."""
    http, base = in_process_session(app)
    kit = make_kit(http, base, None)
    donor = kit.control.create_donor("gb-passport").json()
    globex = kit.control.create_donor("us-ssn", client_id=DONOR2_ID).json()
    row = mint_and_import(kit, "gb-passport")
    ids = [donor["applicant_id"], globex["applicant_id"], row["customer_id"], row["application_id"]]
    app_tokens = [kit.admin.application_token(row["customer_id"])]
    created = create_customer(kit, {"name": "Other Org Person", "customer_type": "individual"}, key=OTHER_ORG_KEY)
    assert created.status_code == 201, created.text
    ids.append(created.json()["id"])
    ids.append(target_for(kit, "http://127.0.0.1:9/hook")["id"])
    ids += [ev["id"] for ev in events(kit)["data"][:1]]
    return ids, app_tokens


@dataclass
class Template:
    app: Flask
    ids: list[str]
    app_tokens: list[str]
    snapshot: sqlite3.Connection | None  # in-memory SQLite: a copy of the world, restored before each test
    uses: int = 0


def _copy_db(store: Store, other: sqlite3.Connection, *, into_store: bool) -> None:
    raw = store.engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert isinstance(conn, sqlite3.Connection)
        if into_store:
            other.backup(conn)
        else:
            conn.backup(other)
    finally:
        raw.close()


@pytest.fixture(scope="module")
def template(test_database_url: str) -> Iterator[Template]:
    settings = Settings(
        database_url=test_database_url, seed=4321, journal_size=50, background_dispatch=0, max_request_bytes=LIMIT
    )
    app = create_app(settings)
    sb: Sandbox = app.extensions["kyc_sandbox"]
    snapshot = None
    if sb.rt.store.is_sqlite:
        ids, tokens = build_world(app)
        snapshot = sqlite3.connect(":memory:", check_same_thread=False)
        _copy_db(sb.rt.store, snapshot, into_store=False)
    else:
        ids, tokens = [], []
    yield Template(app, ids, tokens, snapshot)
    if snapshot is not None:
        snapshot.close()
    sb.close()


@pytest.fixture
def world(template: Template) -> World:
    """The template's world, fresh for each test: restored from the snapshot, or rebuilt (PostgreSQL)."""
    sb: Sandbox = template.app.extensions["kyc_sandbox"]
    template.uses += 1
    if template.snapshot is not None:
        _copy_db(sb.rt.store, template.snapshot, into_store=True)
        sb.rt.ids.reseed(sb.rt.settings.seed, salt=template.uses)  # new ids, never the snapshot's again
        sb.dakota.events.forget_key()
        return World(template.app, sb, template.ids, template.app_tokens)
    # PostgreSQL: no cheap snapshot, so the world carries over from test to test (every property is per request)
    # and is rebuilt only when a fuzzed request took it away (a reset, a deleted target).
    if not template.ids or not _intact(sb, template.ids):
        sb.reset()
        template.ids, template.app_tokens = build_world(template.app)
    return World(template.app, sb, template.ids, template.app_tokens)


def _intact(sb: Sandbox, ids: list[str]) -> bool:
    with sb.rt.store.read() as tx:
        return tx.get(Customer, ids[2]) is not None and tx.get(WebhookTarget, ids[5]) is not None


# ------------------------------------------------------------------------------------------ the properties
def check(world: World, req: Request, reply: Reply, before: dict[str, Any], after: dict[str, Any]) -> None:
    assert reply.status < 500, f"{req}\n→ {reply.status} {reply.body[:500]!r}"
    path = req.target.split("?", 1)[0]
    if reply.status >= 400:
        problems = envelope_problems(path, reply)
        assert not problems, f"{req}\n→ {reply.status} {reply.body[:500]!r}\n{problems}"
        changed = changed_tables(before, after)
        assert not changed, f"{req}\n→ {reply.status} changed {changed}: {reply.body[:300]!r}"


def neutralise(world: World, req: Request, reply: Reply) -> None:
    """A fuzzed request that *configured* faults or rate limits would make later requests fail on purpose."""
    if reply.status < 300 and req.target.startswith(("/_sandbox/faults", "/_sandbox/rate-limits")):
        call(world.app, "DELETE", "/_sandbox/faults", headers=control_headers())
        off = json.dumps({"sumsub": {"enabled": False}, "dakota": {"enabled": False}}).encode()
        call(world.app, "POST", "/_sandbox/rate-limits", off, {"Content-Type": "application/json"})


@pytest.mark.parametrize(("rule", "methods", "unsupported"), RULES, ids=[r for r, _m, _u in RULES])
def test_hostile_requests_never_5xx_answer_in_the_envelope_and_a_4xx_changes_nothing(
    world: World, rule: str, methods: list[str], unsupported: str
) -> None:
    store = world.sb.rt.store
    state = {"before": fingerprint(store)}

    def fuzz(method: str, examples: int) -> None:
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=[
                HealthCheck.function_scoped_fixture,
                HealthCheck.too_slow,
                HealthCheck.data_too_large,
            ],
        )
        @given(req=requests_for(rule, method, world))
        def run(req: Request) -> None:
            reply = call(world.app, req.method, req.target, req.body, req.headers)
            neutralise(world, req, reply)
            after = fingerprint(store)
            check(world, req, reply, state["before"], after)
            state["before"] = after

        run()

    for method in methods:
        fuzz(method, EXAMPLES_PER_METHOD)
    fuzz(unsupported, EXAMPLES_UNSUPPORTED)


def test_the_fuzz_covers_every_rule_of_the_app(app: Flask) -> None:
    fuzzed = {(r, m) for r, methods, _u in RULES for m in methods}
    served = {
        (rule.rule, m) for rule in app.url_map.iter_rules() for m in rule.methods or () if m not in ("HEAD", "OPTIONS")
    }
    assert served <= fuzzed
    assert len(fuzzed) >= 40


# ------------------------------------------------------------------------------------------ size limits
def _valid_headers(rule: str, method: str, target: str, body: bytes, world: World) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if api_of(rule) == "sumsub":
        headers.update(sign(DONOR_ID, method, target, body))
    else:
        headers.update(
            {
                "x-api-key": ADMIN_KEY,
                "X-Application-Token": world.app_tokens[0],
                "x-idempotency-key": str(uuid.uuid4()),
            }
        )
    return headers


@pytest.mark.parametrize("size", [LIMIT + 1, 4 * LIMIT])
def test_no_endpoint_accepts_a_body_over_the_limit(world: World, size: int) -> None:
    """POST/PUT/PATCH everywhere, and any Sumsub call (its signature covers the body), with valid credentials:
    413 in the envelope, or an earlier 4xx (credentials, unknown id) in the envelope; never a 2xx; nothing changes.
    """
    store = world.sb.rt.store
    failures: list[str] = []
    for rule, method in ENDPOINTS:
        if method not in ("POST", "PUT", "PATCH") and api_of(rule) != "sumsub":
            continue
        path = VARIABLE.sub(lambda _m: world.ids[3], rule)  # the real application id
        body = sized_body(size)
        before = fingerprint(store)
        reply = call(world.app, method, path, body, _valid_headers(rule, method, path, body, world))
        after = fingerprint(store)
        if reply.status < 400:
            failures.append(f"{method} {rule} accepted a body over the limit: {reply.status} {reply.body[:120]!r}")
        elif envelope_problems(path, reply) or changed_tables(before, after):
            failures.append(f"{method} {rule}: {envelope_problems(path, reply)} {changed_tables(before, after)}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/customers/bulk-import-sumsub-tokens"),
        ("POST", "/customers"),
        ("POST", "/resources/applicants?levelName=basic-kyc-level"),
        ("GET", "/resources/status/api"),
        ("POST", "/_sandbox/donors"),
        ("POST", "/_sandbox/clock/advance"),
        ("GET", "/customers"),  # routes that never read a body: refused on the declared length alone
        ("GET", "/_sandbox/health"),
    ],
)
def test_a_body_over_the_limit_gets_413_in_the_providers_envelope(world: World, method: str, path: str) -> None:
    body = sized_body(LIMIT + 1)
    before = fingerprint(world.sb.rt.store)
    reply = call(world.app, method, path, body, _valid_headers(path, method, path, body, world))
    assert reply.status == 413, reply.body[:300]
    assert envelope_problems(path, reply) == []
    assert changed_tables(before, fingerprint(world.sb.rt.store)) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/customers"),
        ("POST", "/customers/bulk-import-sumsub-tokens"),
        ("POST", "/resources/applicants?levelName=basic-kyc-level"),
        ("POST", "/_sandbox/donors"),
        ("GET", "/customers"),
    ],
)
def test_a_chunked_body_over_the_limit_gets_413_whatever_its_framing(world: World, method: str, path: str) -> None:
    """The audit: valid JSON followed by spaces past the limit, sent chunked (no Content-Length), was cut at the
    limit and accepted (201); with a Content-Length the same body was 413."""
    body = json.dumps({"name": "Chunky Customer", "customer_type": "individual"}).encode() + b" " * LIMIT
    before = fingerprint(world.sb.rt.store)
    reply = call(world.app, method, path, body, _valid_headers(path, method, path, body, world), chunked=True)
    assert reply.status == 413, reply.body[:300]
    assert envelope_problems(path, reply) == []
    assert changed_tables(before, fingerprint(world.sb.rt.store)) == []


def test_a_chunked_body_within_the_limit_is_read_whole(world: World) -> None:
    body = json.dumps({"name": "Chunky Customer", "customer_type": "individual"}).encode() + b" " * (LIMIT - 100)
    path = "/customers"
    reply = call(world.app, "POST", path, body, _valid_headers(path, "POST", path, body, world), chunked=True)
    assert reply.status == 201, reply.body[:300]
    assert reply.json()["id"]  # the whole body was read: the customer was created from it


def test_a_body_at_the_limit_is_read_and_judged_on_its_content(world: World) -> None:
    body = sized_body(LIMIT)
    path = "/customers/bulk-import-sumsub-tokens"
    reply = call(world.app, "POST", path, body, _valid_headers(path, "POST", path, body, world))
    assert reply.status == 200, reply.body[:300]  # one (unknown) token: a failed row, not a 413
    assert reply.json()["failed"] == 1


def test_a_sumsub_upload_over_the_limit_gets_413_in_sumsubs_envelope(world: World) -> None:
    body, ctype = multipart_body(b'{"idDocType": "PASSPORT", "country": "GBR"}', b"x" * (LIMIT + 1))
    target = f"/resources/applicants/{world.ids[0]}/info/idDoc"
    headers = {
        "Content-Type": ctype,
        **sign(DONOR_ID, "POST", target, body),
    }
    before = fingerprint(world.sb.rt.store)
    reply = call(world.app, "POST", target, body, headers)
    assert reply.status == 413, reply.body[:300]
    assert envelope_problems(target, reply) == []
    assert changed_tables(before, fingerprint(world.sb.rt.store)) == []
