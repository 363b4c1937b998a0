"""Property: no operation in any contract answers 5xx for any JSON body its schema can parse, any Unicode included.

For every operation of contracts/openapi/{sumsub,dakota,control}.yaml with a JSON body, schemathesis draws a body
the operation's schema accepts; Hypothesis then puts arbitrary Unicode text (lone UTF-16 surrogates, NUL, astral
characters, controls, bidi marks) into one of its strings or keys. The body is sent as JSON (surrogates as `\\uXXXX`
escapes, as any client's encoder writes them) with valid credentials, to the seeded sandbox on the suite's store
(SQLite in memory, or PostgreSQL with KYC_SANDBOX_TEST_STORE=postgresql).

- never a 5xx;
- a string the store cannot hold (a lone surrogate, NUL) is a 400 that names the field, in the provider's envelope,
  except a bulk-import token, which fails its row (200);
- text the store can hold is judged on its content as usual (never 5xx).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import requests
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from simulator.apispec.loader import served_document
from simulator.core.text import unstorable
from simulator.harness.transport import in_process_session
from tests.support import ADMIN_KEY, DONOR_ID, dakota_headers, make_kit, mint_and_import, sign
from tests.support.fuzz import changed_tables, fingerprint

CONFIG = {
    "seed": 20261204,
    "generation": {"max-examples": 6, "deterministic": True, "mode": "positive", "with-security-parameters": False},
    "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}, "stateful": {"enabled": False}},
}
SETTINGS = settings(
    max_examples=6, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
UNSTORABLE = ["\ud800", "\udfff", "a\ud83d", "\udc00z", "\x00", "nul\x00here"]
# Any Unicode: Hypothesis' text() leaves surrogates out, so they are asked for by category too.
ANY_TEXT = st.one_of(
    st.sampled_from(UNSTORABLE),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),
    st.text(max_size=12),
    st.sampled_from(["💥", "\u202e", "ünï", "\x7f\x1b[31m", "\ufeff", "\U0010ffff"]),
)


def contract(api: str) -> Any:
    return schemathesis.openapi.from_dict(
        served_document(api, "http://sandbox.local"), config=schemathesis.Config.from_dict(CONFIG)
    ).include(
        func=lambda ctx: "application/json" in ctx.operation.definition.raw.get("requestBody", {}).get("content", {})
    )


sumsub, dakota, control = contract("sumsub"), contract("dakota"), contract("control")


class World:
    """The sandbox (on the suite's store), seeded once per module, with the ids the path parameters take."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.http, self.base = in_process_session(app)
        self.kit = make_kit(self.http, self.base, None)
        self.known = self.seed()

    def seed(self) -> dict[str, str]:
        donor = self.kit.control.create_donor("gb-passport").json()
        imported = mint_and_import(self.kit, "us-ssn")
        token = self.kit.admin.application_token(imported["customer_id"])
        application = self.kit.application(imported["customer_id"], imported["application_id"], include="entities")
        return {
            "applicantId": donor["applicant_id"],
            "applicant_id": donor["applicant_id"],
            "levelName": "basic-kyc-level",
            "application_id": imported["application_id"],
            "individual_id": application["entities"]["primary_individual"]["id"],
            "application_token": token,
        }

    def send(self, api: str, case: schemathesis.Case, body: Any) -> requests.Response:
        params = {k: self.known.get(k, str(v)) for k, v in (case.path_parameters or {}).items()}
        path = case.path.format(**{k: quote(v, safe="") for k, v in params.items()})
        query = {k: self.known.get(k, v) for k, v in (case.query or {}).items() if isinstance(v, str | int)}
        target = path + (f"?{urlencode(query, quote_via=quote)}" if query else "")
        raw = json.dumps(body).encode()  # ensure_ascii: a lone surrogate travels as a \\uXXXX escape
        headers = {"Content-Type": "application/json"}
        if api == "sumsub":
            headers.update(sign(DONOR_ID, case.method, target, raw))
        elif api == "dakota":
            headers.update(
                {
                    "x-api-key": ADMIN_KEY,
                    "X-Application-Token": self.known["application_token"],
                    "x-idempotency-key": str(uuid.uuid4()),
                }
            )
        return self.http.request(case.method, self.base + target, data=raw, headers=headers)


@pytest.fixture(scope="module")
def world(test_database_url: str) -> Iterator[World]:
    from simulator.app import create_app
    from simulator.settings import Settings

    app = create_app(Settings(database_url=test_database_url, seed=77, journal_size=50, background_dispatch=0))
    app.extensions["kyc_sandbox"].reset()  # a shared PostgreSQL database: start from the seed
    yield World(app)
    app.extensions["kyc_sandbox"].close()


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    """Every place a string can go: ("value", path) for a string leaf, ("key", path) for a new key of an object."""
    out: list[tuple[tuple[Any, ...], str]] = []
    if isinstance(value, str):
        out.append((path, "value"))
    elif isinstance(value, dict):
        out.append((path, "key"))
        for k, v in value.items():
            out.extend(_places(v, (*path, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_places(v, (*path, i)))
    return out


def _put(body: Any, path: tuple[Any, ...], kind: str, text: str) -> Any:
    if not path:
        if kind == "key":
            return {**body, text: "x"}
        return text
    head, rest = path[0], path[1:]
    if isinstance(body, dict):
        return {**body, head: _put(body[head], rest, kind, text)}
    copy = list(body)
    copy[head] = _put(copy[head], rest, kind, text)
    return copy


def _field(path: tuple[Any, ...], kind: str) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    if kind == "key":
        return f"{out}.<key>" if out else "<key>"
    return out or "body"


def _unstorable_fields(body: Any) -> list[str]:
    fields = []
    for path, kind in _places(body):
        target: Any = body
        for part in path:
            target = target[part]
        texts = [target] if kind == "value" else list(target)
        if any(unstorable(t) for t in texts):
            fields.append(_field(path, kind))
    return fields


def check(world: World, api: str, case: schemathesis.Case, data: st.DataObject) -> None:
    body = case.body if isinstance(case.body, dict | list) else {}
    path, kind = data.draw(st.sampled_from(_places(body) or [((), "key")]), label="where")
    text = data.draw(ANY_TEXT, label="text")
    if kind == "value":
        current = body
        for part in path:
            current = current[part]
        text = data.draw(st.sampled_from([text, str(current) + text, text + str(current)]), label="placed")
    sent = _put(body, path, kind, text)
    resp = world.send(api, case, sent)
    assert resp.status_code < 500, f"{case.method} {case.path} {sent!r} -> {resp.status_code} {resp.text[:300]}"
    if unstorable(text) is None:
        return
    in_tokens = api == "dakota" and case.path.endswith("bulk-import-sumsub-tokens") and path[:1] == ("tokens",)
    if in_tokens and kind == "value" and len(path) == 2:
        assert resp.status_code == 200, resp.text[:300]
        return
    assert resp.status_code == 400, f"{case.method} {case.path} {sent!r} -> {resp.status_code} {resp.text}"
    # The 400 names a field holding such text (the drawn body may hold more than the one placed here).
    named = [json.dumps(f)[1:-1] for f in _unstorable_fields(sent) if json.dumps(f)[1:-1] in resp.text]
    assert "must be valid Unicode text" in resp.text and named, resp.text


@sumsub.parametrize()
@sumsub.given(data=st.data())
@SETTINGS
def test_any_unicode_in_a_sumsub_body_never_5xx(case: schemathesis.Case, data: st.DataObject, world: World) -> None:
    check(world, "sumsub", case, data)


@dakota.parametrize()
@dakota.given(data=st.data())
@SETTINGS
def test_any_unicode_in_a_dakota_body_never_5xx(case: schemathesis.Case, data: st.DataObject, world: World) -> None:
    check(world, "dakota", case, data)


@control.parametrize()
@control.given(data=st.data())
@SETTINGS
def test_any_unicode_in_a_control_body_never_5xx(case: schemathesis.Case, data: st.DataObject, world: World) -> None:
    check(world, "control", case, data)


# ------------------------------------------------------------------ the audit's cases, one by one
LONE = "\ud800"
APPLICANTS = "/resources/applicants?levelName=basic-kyc-level"
AUDIT_CASES = [
    ("dakota", "POST", "/customers", {"name": LONE, "customer_type": "individual"}, "name"),
    ("dakota", "POST", "/customers", {"name": "A", "customer_type": "individual", "external_id": LONE}, "external_id"),
    ("dakota", "POST", "/sandbox/simulate/onboarding", {"type": "kyc_approve", "applicant_id": LONE}, "applicant_id"),
    ("dakota", "POST", "/webhooks/targets", {"url": "http://127.0.0.1:9/" + LONE, "global": True}, "url"),
    ("sumsub", "POST", APPLICANTS, {"externalUserId": LONE}, "externalUserId"),
    ("sumsub", "POST", APPLICANTS, {"externalUserId": "u", "email": LONE}, "email"),
    ("sumsub", "POST", APPLICANTS, {"externalUserId": "u2", "fixedInfo": {"firstName": LONE}}, "fixedInfo.firstName"),
    ("sumsub", "POST", "/resources/accessTokens/shareToken", {"applicantId": LONE, "forClientId": "x"}, "applicantId"),
    ("sumsub", "POST", "/resources/accessTokens/shareToken", {"applicantId": "a", "forClientId": LONE}, "forClientId"),
    ("control", "POST", "/_sandbox/donors", {"profile": "gb-passport", "external_user_id": LONE}, "external_user_id"),
    ("control", "POST", "/_sandbox/share-tokens", {"applicant_id": LONE}, "applicant_id"),
    ("control", "POST", "/_sandbox/sumsub/webhooks", {"client_id": "c", "url": None, "secret": LONE}, "secret"),
]


@pytest.mark.parametrize(("api", "method", "target", "body", "field"), AUDIT_CASES)
def test_a_lone_surrogate_is_a_400_naming_its_field_and_changes_nothing(
    world: World, api: str, method: str, target: str, body: dict[str, Any], field: str
) -> None:
    store = world.app.extensions["kyc_sandbox"].rt.store
    before = fingerprint(store)
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if api == "sumsub":
        headers.update(sign(DONOR_ID, method, target, raw))
    elif api == "dakota":
        headers.update(dakota_headers())
    resp = world.http.request(method, world.base + target, data=raw, headers=headers)
    assert resp.status_code == 400, resp.text
    assert f"{field}: must be valid Unicode text; it contains a lone UTF-16 surrogate (U+D800)" in resp.text
    assert changed_tables(before, fingerprint(store)) == []


def test_a_lone_surrogate_in_a_sumsub_document_metadata_is_a_400(world: World) -> None:
    api = world.kit.donor
    resp = api.add_id_doc(world.known["applicantId"], {"idDocType": "PASSPORT", "country": "GBR", "number": LONE}, b"x")
    assert resp.status_code == 400, resp.text
    assert "metadata.number: must be valid Unicode text" in resp.json()["description"]
