"""The provider-state catalogue at `/_sandbox/pact/provider-states`: each state builds what it promises."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.control import pact_states as states
from tests.support import ADMIN_KEY, VIEWER_KEY, Kit, token_state

URL = "/_sandbox/pact/provider-states"


def setup(kit: Kit, state: str, **params: Any) -> dict[str, Any]:
    resp = kit.http.post(kit.base_url + URL, json={"action": "setup", "state": state, "params": params})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


@pytest.mark.parametrize("name", list(states.CATALOGUE))
def test_every_state_sets_up_with_its_example_and_answers_what_it_documents(kit: Kit, name: str) -> None:
    entry = states.CATALOGUE[name]
    values = setup(kit, name, **entry.example)
    assert set(entry.returns) <= set(values), f"{name} documents values it does not answer"


def test_share_token_for_dakota_is_active_and_importable(kit: Kit) -> None:
    values = setup(kit, states.TOKEN_FOR_DAKOTA, profile="us-ssn", ttlInSecs=600)
    assert token_state(kit, values["token"]) == "active"
    assert values["forClientId"] == "dakota.xyz_158913"
    assert values["ttlInSecs"] == 600
    row = kit.bulk([values["token"]])["results"][0]
    assert row["success"] is True


def test_expired_and_redeemed_tokens_are_what_they_say(kit: Kit) -> None:
    expired = setup(kit, states.TOKEN_EXPIRED)
    assert token_state(kit, expired["token"]) == "expired"
    redeemed = setup(kit, states.TOKEN_REDEEMED)
    assert token_state(kit, redeemed["token"]) == "redeemed"
    assert kit.admin.get_customer(redeemed["customerId"]).status_code == 200


@pytest.mark.parametrize(
    ("state", "error"),
    [
        (states.TOKEN_INCOMPATIBLE, "10513"),
        (states.TOKEN_FOR_ANOTHER_CLIENT, "not issued for Dakota"),
        (states.TOKEN_NOT_APPROVED, "10507"),
        (states.TOKEN_COMPANY, "individual applicants only"),
    ],
)
def test_failing_token_states_fail_the_import_row(kit: Kit, state: str, error: str) -> None:
    values = setup(kit, state)
    row = kit.bulk([values["token"]])["results"][0]
    assert row["success"] is False
    assert error in row["error"]


def test_imported_application_is_pending_and_reachable_with_its_token(kit: Kit) -> None:
    values = setup(kit, states.APPLICATION_PENDING)
    resp = kit.admin.get_application(values["applicationId"], values["applicationToken"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["application_status"] == "pending"
    assert values["applicationUrl"].endswith(f"?token={values['applicationToken']}")
    assert values["apiKey"] == ADMIN_KEY


def test_donor_applicant_states(kit: Kit) -> None:
    fresh = setup(kit, states.DONOR_APPLICANT, externalUserId="user-001")
    assert kit.donor.get_applicant(fresh["applicantId"]).json()["review"]["reviewStatus"] == "init"
    verified = setup(kit, states.VERIFIED_DONOR, externalUserId="user-001")
    status = kit.donor.review_status(verified["applicantId"]).json()
    assert status["reviewResult"]["reviewAnswer"] == "GREEN"
    assert verified["appToken"] == kit.donor.app_token


def test_scenario_states_reset_but_key_states_keep_the_data(kit: Kit) -> None:
    first = setup(kit, states.TOKEN_FOR_DAKOTA)
    assert setup(kit, states.VIEWER_KEY) == {"apiKey": VIEWER_KEY}
    assert token_state(kit, first["token"]) == "active"  # the key state changed nothing
    setup(kit, states.EMPTY)
    assert kit.control.token_status(first["token"]).status_code == 404  # a scenario state starts from scratch


def test_no_state_resets_and_teardown_does_nothing(kit: Kit) -> None:
    values = setup(kit, states.TOKEN_FOR_DAKOTA)
    teardown = kit.http.post(kit.base_url + URL, json={"action": "teardown", "state": states.TOKEN_FOR_DAKOTA})
    assert teardown.json() == {}
    assert token_state(kit, values["token"]) == "active"
    assert setup(kit, "") == {}
    assert kit.control.token_status(values["token"]).status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"action": "setup", "state": "a unicorn exists"}, "unknown provider state 'a unicorn exists'; known states:"),
        ({"state": states.TOKEN_EXPIRED, "params": {"ttl": 5}}, "takes no param(s) ttl; its params: profile,"),
        ({"state": states.TOKEN_EXPIRED, "params": {"ttlInSecs": -1}}, "'ttlInSecs' must be a positive integer"),
        ({"state": states.VERIFIED_DONOR, "params": {"profile": "nobody"}}, "profile must be one of"),
        ({"action": "explode", "state": ""}, "action"),
        ({"state": states.EMPTY, "params": ["x"]}, "params"),
    ],
)
def test_bad_state_requests_get_a_clear_error(kit: Kit, body: dict[str, Any], message: str) -> None:
    resp = kit.http.post(kit.base_url + URL, json=body)
    assert resp.status_code in (400, 404), resp.text
    assert message in resp.json()["error"]["message"]


def test_catalogue_is_listed_with_examples(kit: Kit) -> None:
    listed = kit.http.get(kit.base_url + URL).json()["states"]
    assert [s["name"] for s in listed] == list(states.CATALOGUE)
    expired = next(s for s in listed if s["name"] == states.TOKEN_EXPIRED)
    assert expired["example"] == {"state": states.TOKEN_EXPIRED, "params": {"ttlInSecs": 600}}
    assert "token" in expired["returns"]
    assert expired["resets_sandbox"] is True
