"""The whole Reusable KYC flow as a Hypothesis state machine, checked against a plain Python model.

Rules mint tokens (profiles, TTLs, recipients), move the clock, redeem mixed batches (duplicates, spent, expired,
junk), replay idempotency keys, and complete and submit applications. After every step the invariants compare the
sandbox with the model: a token succeeds at most once and never at or after its expiry, the customer count equals
the successes, and every token's state agrees.

In-process by default; against a live sandbox with KYC_SANDBOX_URL or `--kyc-sandbox-url` (it is reset).
"""

from __future__ import annotations

import base64
import math
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, multiple, precondition, rule

from simulator.harness import strategies as kst
from simulator.harness.scenarios import Target, details_from_entity
from simulator.sumsub.profiles import fake_image

DAKOTA = "dakota.xyz_158913"
INITECH = "initech-bank_77001"
IDEMPOTENCY_WINDOW = 24 * 3600
# profile → the row error it fails with, or None when it imports (and its customer's name)
PROFILES: dict[str, tuple[str | None, str]] = {
    "gb-passport": (None, "Olivia Bennett (from Sumsub)"),
    "us-ssn": (None, "James Carter (from Sumsub)"),
    "weaker-level": (None, "Sofia Rossi (from Sumsub)"),
    "no-address": (None, "Lukas Schmidt (from Sumsub)"),
    "jp-passport-kanji": (None, "Nanami Suzuki (from Sumsub)"),
    "id-card-only": ("10513", "Unknown"),
    "not-approved": ("10507", "Unknown"),
    "business": ("individual applicants only", "Northwind Trading Ltd (from Sumsub)"),
}
JUNK = st.one_of(kst.token_like(), kst.malformed_tokens(), st.sampled_from(["", "🙂", "x" * 2000]))
# No `explain` phase: its line tracer makes shrinking a failing run minutes long on Python 3.11.
FLOW_SETTINGS = settings(
    max_examples=12,
    stateful_step_count=20,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)


@dataclass
class TokenModel:
    profile: str
    for_client: str
    expires_at: float
    redeemed: bool = False
    successes: int = 0


@dataclass
class KeyModel:
    tokens: list[str]
    response: dict[str, Any]
    created_at: float


@dataclass
class AppModel:
    customer_id: str
    application_id: str
    profile: str
    status: str = "pending"


class FlowMachine(RuleBasedStateMachine):
    """Set `FlowMachine.target` before running (the test below does)."""

    target: Target
    minted = Bundle("minted")
    imported = Bundle("imported")

    def __init__(self) -> None:
        super().__init__()
        t = self.target
        self.http, self.base = t.http, t.base_url
        self.admin = {"x-api-key": t.api_key("admin")}
        assert t.control.reset().status_code == 200
        # A frozen clock on a whole second: every time in the run is an exact integer, so boundaries are exact.
        held = t.control.set_clock(frozen=True)
        assert held.status_code == 200, held.text
        start = math.floor(float(held.json()["epoch"])) + 1
        frozen = t.control.set_clock(now=start, frozen=True)
        assert frozen.status_code == 200, frozen.text
        self.now = float(frozen.json()["epoch"])
        assert self.now == start
        self.tokens: dict[str, TokenModel] = {}
        self.keys: dict[str, KeyModel] = {}
        self.apps: dict[str, AppModel] = {}
        self.successes = 0

    # ------------------------------------------------------------------ the model's verdict on one row
    def expected_row(self, token: str) -> tuple[bool, str]:
        tok = self.tokens.get(token)
        if tok is None:
            return False, "Failed to redeem share token"
        if tok.for_client != DAKOTA:
            return False, "not issued for Dakota's Sumsub client"
        if tok.redeemed:
            return False, "Tokens are single-use"
        if self.now >= tok.expires_at:
            return False, "Failed to redeem share token: Share token expired"
        error, _ = PROFILES[tok.profile]
        return (False, error) if error else (True, "")

    def post_batch(self, tokens: list[str], key: str) -> requests.Response:
        return self.http.post(
            f"{self.base}/customers/bulk-import-sumsub-tokens",
            json={"tokens": tokens},
            headers={**self.admin, "x-idempotency-key": key},
            timeout=60,
        )

    def apply_batch(self, tokens: list[str], body: dict[str, Any]) -> list[AppModel]:
        """Check a fresh redemption row by row against the model, then advance the model."""
        results = body["results"]
        assert body["total"] == len(tokens) == len(results), "results align with inputs"
        assert body["total"] == body["succeeded"] + body["failed"]
        assert body["succeeded"] == sum(1 for r in results if r["success"])
        new_apps = []
        for token, row in zip(tokens, results, strict=True):
            ok, text = self.expected_row(token)
            assert row["success"] is ok, (token[:60], row, text)
            if ok:
                tok = self.tokens[token]
                tok.redeemed = True
                tok.successes += 1
                self.successes += 1
                assert row["name"] == PROFILES[tok.profile][1]
                app = AppModel(row["customer_id"], row["application_id"], tok.profile)
                self.apps[app.application_id] = app
                new_apps.append(app)
            else:
                assert text in row["error"], (row, text)
        return new_apps

    # ------------------------------------------------------------------ rules
    @rule(
        target=minted,
        profile=st.sampled_from(sorted(PROFILES)),
        ttl=st.sampled_from([1, 60, 600, 1200]),
        for_client=st.sampled_from([DAKOTA, DAKOTA, DAKOTA, INITECH]),
    )
    def mint(self, profile: str, ttl: int, for_client: str) -> str:
        resp = self.target.control.create_donor(profile, share_with=for_client, ttl_in_secs=ttl)
        assert resp.status_code == 201, resp.text
        token = str(resp.json()["share_token"]["token"])
        self.tokens[token] = TokenModel(profile, for_client, self.now + ttl)
        return token

    @rule(seconds=st.sampled_from([0, 1, 59, 60, 599, 600, 1199, 1200, 1201, 3600, IDEMPOTENCY_WINDOW + 1]))
    def advance(self, seconds: int) -> None:
        self.advance_by(seconds)

    def advance_by(self, seconds: float) -> None:
        resp = self.target.control.advance(seconds)
        assert resp.status_code == 200, resp.text
        self.now += seconds
        assert resp.json()["epoch"] == self.now

    @rule(token=minted, offset=st.sampled_from([-1, 0]))
    def advance_to_expiry(self, token: str, offset: int) -> None:
        """Move the clock to a second before a token's expiry, or exactly to it (the boundary)."""
        seconds = self.tokens[token].expires_at + offset - self.now
        if seconds >= 0:
            self.advance_by(seconds)

    @precondition(lambda self: bool(self.tokens))
    @rule(target=imported, tokens=st.lists(st.one_of(minted, minted, minted, JUNK), min_size=1, max_size=8))
    def redeem(self, tokens: list[str]) -> Any:
        key = str(uuid.uuid4())
        resp = self.post_batch(tokens, key)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        self.keys[key] = KeyModel(tokens, body, self.now)
        return multiple(*self.apply_batch(tokens, body))

    @rule(tokens=st.lists(JUNK, min_size=1, max_size=4))
    def redeem_junk(self, tokens: list[str]) -> None:
        resp = self.post_batch(tokens, str(uuid.uuid4()))
        assert resp.status_code == 200, resp.text
        self.apply_batch(tokens, resp.json())

    @precondition(lambda self: bool(self.keys))
    @rule(data=st.data())
    def replay_same_body(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(list(self.keys)), label="key")  # creation order: reproducible
        record = self.keys[key]
        resp = self.post_batch(record.tokens, key)
        assert resp.status_code == 200, resp.text
        if self.now - record.created_at > IDEMPOTENCY_WINDOW:
            # The key's window has passed: it is a new request, redeemed afresh.
            assert resp.headers.get("Idempotent-Replayed") is None
            self.apply_batch(record.tokens, resp.json())
            self.keys[key] = KeyModel(record.tokens, resp.json(), self.now)
        else:
            assert resp.headers.get("Idempotent-Replayed") == "true"
            assert resp.json() == record.response, "a replay returns the original response unchanged"

    @precondition(lambda self: any(self.now - k.created_at <= IDEMPOTENCY_WINDOW for k in self.keys.values()))
    @rule(data=st.data(), extra=JUNK)
    def replay_other_body(self, data: st.DataObject, extra: str) -> None:
        live = [k for k, v in self.keys.items() if self.now - v.created_at <= IDEMPOTENCY_WINDOW]
        key = data.draw(st.sampled_from(live), label="key")
        resp = self.post_batch([*self.keys[key].tokens, extra], key)
        assert resp.status_code == 422, resp.text
        assert "x-idempotency-key" in resp.json()["detail"]

    @rule(app=consumes(imported))
    def complete_and_submit(self, app: AppModel) -> None:
        token = self.app_token(app)
        auth = {"X-Application-Token": token}
        current = self.http.get(
            f"{self.base}/applications/{app.application_id}", params={"include": "all"}, headers=auth, timeout=60
        ).json()
        individual = current["entities"]["primary_individual"]
        details = details_from_entity(individual)
        if details["address"]["country"] == "ZZ":  # the no-address placeholder: give a real one
            details["address"] = {"street1": "Unter den Linden 5", "city": "Berlin", "country": "DE"}
        us_person = "US" in details.get("nationalities", []) or details["address"]["country"] == "US"
        if us_person and "ssn" not in details:
            details["ssn"] = "123-45-6789"
        put = self.http.put(
            f"{self.base}/applications/{app.application_id}/individual-details", json=details, headers=auth, timeout=60
        )
        assert put.status_code == 200, put.text
        missing = {d["purpose"] for d in current["validation"]["primary_individual"]["documents"]["missing_documents"]}
        uploads = ["source_of_wealth"] + (["passport"] if "individual_identity" in missing else [])
        for doc_type in uploads:
            doc = {
                "type": doc_type,
                "file_type": "png",
                "file_content": base64.b64encode(fake_image(f"{app.application_id}:{doc_type}")).decode(),
                "country": "GB",
                "id_number": "PA1234567",
            }
            up = self.http.post(
                f"{self.base}/applications/{app.application_id}/associated-individuals/{individual['id']}/documents",
                json=doc,
                headers={**auth, "x-idempotency-key": str(uuid.uuid4())},
                timeout=60,
            )
            assert up.status_code == 201, up.text
        for i, kind in enumerate(("e_sign", "terms_of_service", "privacy_policy", "information_accuracy")):
            att = self.http.post(
                f"{self.base}/applications/{app.application_id}/attestations",
                json={"attestation_type": kind, "timestamp": int(self.now) - 60 + i, "applicant_id": individual["id"]},
                headers={**auth, "x-idempotency-key": str(uuid.uuid4())},
                timeout=60,
            )
            assert att.status_code == 204, att.text
        sub = self.submit(app, token)
        assert sub.status_code == 200, sub.text
        assert sub.json()["application_status"] == "submitted"
        app.status = "submitted"

    @rule(app=imported)
    def submit_incomplete(self, app: AppModel) -> None:
        assert app.status == "pending"  # completed ones were consumed from the bundle
        resp = self.submit(app, self.app_token(app))
        assert resp.status_code == 400, resp.text
        assert resp.json()["code"] == "application_not_ready"

    def app_token(self, app: AppModel) -> str:
        customer = self.http.get(f"{self.base}/customers/{app.customer_id}", headers=self.admin, timeout=60)
        assert customer.status_code == 200, customer.text
        return str(customer.json()["application_url"].split("token=", 1)[1])

    def submit(self, app: AppModel, token: str) -> requests.Response:
        return self.http.post(
            f"{self.base}/applications/{app.application_id}/submissions",
            json={},
            headers={"X-Application-Token": token, "x-idempotency-key": str(uuid.uuid4())},
            timeout=60,
        )

    # ------------------------------------------------------------------ invariants
    @invariant()
    def a_token_succeeds_at_most_once(self) -> None:
        assert all(t.successes <= 1 for t in self.tokens.values())

    @invariant()
    def customers_equal_successes(self) -> None:
        resp = self.http.get(f"{self.base}/customers", params={"limit": 1}, headers=self.admin, timeout=60)
        assert resp.json()["meta"]["total_count"] == self.successes

    @invariant()
    def token_states_agree_with_the_model(self) -> None:
        for token, tok in self.tokens.items():
            status = self.target.control.token_status(token).json()
            expected = "redeemed" if tok.redeemed else ("expired" if self.now >= tok.expires_at else "active")
            assert status["state"] == expected, (tok, status)
            if status["redeemed_at"] is not None:
                assert status["redeemed_at"] < status["expires_at"], "redeemed at or after expiry"

    @invariant()
    def submitted_applications_agree(self) -> None:
        submitted = sum(1 for a in self.apps.values() if a.status == "submitted")
        resp = self.http.get(f"{self.base}/applications", params={"limit": 100}, headers=self.admin, timeout=60).json()
        statuses = [a.get("status") or a.get("application_status") for a in resp["data"]]
        assert len(resp["data"]) == len(self.apps)
        assert statuses.count("submitted") == submitted


@pytest.fixture(scope="module")
def flow_target(request: pytest.FixtureRequest) -> Iterator[Target]:
    url = request.config.getoption("kyc_sandbox_url", default=None) or os.environ.get("KYC_SANDBOX_URL")
    target = Target.for_url(url) if url else Target.local()
    yield target
    target.close()


@pytest.mark.timeout(900)  # passing takes ~15 s; shrinking a failure replays many long runs
def test_flow_machine_agrees_with_the_model(flow_target: Target) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    FlowMachine.target = flow_target
    run_state_machine_as_test(FlowMachine, settings=FLOW_SETTINGS)
