"""Tenant isolation: a Sumsub client never reaches another client's applicants or tokens; a Dakota organisation
never sees or touches another organisation's customers, applications, events, webhook targets or deliveries.

Every attempt is answered as the provider answers "no such thing" (Sumsub 404, or 400 10502 for a token minted for
someone else; Dakota 404, or 401 for an application token of another application), and changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from flask import Flask

from simulator.sumsub.profiles import fake_image
from tests.support import (
    ADMIN_KEY,
    DAKOTA_CLIENT_ID,
    DONOR_ID,
    OTHER_ORG_KEY,
    Kit,
    dakota_headers,
    events,
    mint_and_import,
    target_for,
    token_state,
)
from tests.support.fuzz import changed_tables, fingerprint
from tests.support.sumsub import PASSPORT_META, assert_sumsub_error, mint, verified_applicant

Fingerprint = dict[str, tuple[int, str]]


def snapshot(app: Flask) -> Fingerprint:
    return fingerprint(app.extensions["kyc_sandbox"].rt.store)


def assert_unchanged(app: Flask, before: Fingerprint) -> None:
    assert changed_tables(before, snapshot(app)) == []


# ============================================================================================== Sumsub
@dataclass
class DonorSide:
    applicant: dict[str, Any]
    token: str  # minted for Dakota, unredeemed


@pytest.fixture
def acme(kit: Kit) -> DonorSide:
    applicant = verified_applicant(kit.donor)
    return DonorSide(applicant, mint(kit.donor, applicant["id"], DAKOTA_CLIENT_ID))


OUTSIDERS = ["donor2", "other_recipient", "dakota_sumsub"]


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_another_sumsub_client_cannot_read_an_applicant(kit: Kit, app: Flask, acme: DonorSide, outsider: str) -> None:
    api = getattr(kit, outsider)
    a = acme.applicant
    before = snapshot(app)
    assert_sumsub_error(api.get_applicant(a["id"]), 404)
    assert_sumsub_error(api.get_applicant_by_external_id(a["externalUserId"]), 404)
    assert_sumsub_error(api.review_status(a["id"]), 404)
    assert_sumsub_error(api.required_id_docs_status(a["id"]), 404)
    assert_unchanged(app, before)
    assert kit.donor.get_applicant(a["id"]).status_code == 200  # still the owner's


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_another_sumsub_client_cannot_upload_review_or_mint_for_an_applicant(
    kit: Kit, app: Flask, acme: DonorSide, outsider: str
) -> None:
    api = getattr(kit, outsider)
    a = acme.applicant
    before = snapshot(app)
    assert_sumsub_error(api.add_id_doc(a["id"], PASSPORT_META, fake_image("intruder")), 404)
    assert_sumsub_error(api.test_completed(a["id"], "RED", ["FORGERY"], reviewRejectType="FINAL"), 404)
    for for_client in (DAKOTA_CLIENT_ID, "initech-bank_77001", DONOR_ID):
        assert_sumsub_error(api.generate_share_token(a["id"], for_client), 404)
        assert_sumsub_error(api.generate_share_token_query(a["id"], for_client), 404)
    assert_unchanged(app, before)
    assert kit.donor.review_status(a["id"]).json()["reviewResult"] == {"reviewAnswer": "GREEN"}


@pytest.mark.parametrize("outsider", ["donor2", "other_recipient", "donor"])
def test_a_token_minted_for_dakota_cannot_be_redeemed_by_anyone_else(
    kit: Kit, app: Flask, acme: DonorSide, outsider: str
) -> None:
    api = getattr(kit, outsider)
    before = snapshot(app)
    assert_sumsub_error(api.import_applicant(acme.token), 400, 10502)
    assert_sumsub_error(api.reuse(acme.token, "basic-kyc-level"), 400, 10502)
    preview = api.request(
        "GET",
        "/resources/api/reusableIdentity/reuse/preview",
        params={"shareToken": acme.token, "levelName": "basic-kyc-level"},
    )
    assert_sumsub_error(preview, 400, 10502)
    assert_unchanged(app, before)
    assert token_state(kit, acme.token) == "active"
    assert kit.bulk([acme.token])["succeeded"] == 1  # still Dakota's to redeem


def test_an_applicant_redeemed_into_dakotas_workspace_is_invisible_to_the_donor_and_others(
    kit: Kit, app: Flask, acme: DonorSide
) -> None:
    row = kit.bulk([acme.token])["results"][0]
    copy_id = kit.application(row["customer_id"], row["application_id"])["entities"]["primary_individual"][
        "sumsub_verification"
    ]["provider_applicant_id"]
    assert copy_id != acme.applicant["id"]
    assert kit.dakota_sumsub.get_applicant(copy_id).status_code == 200
    before = snapshot(app)
    for api in (kit.donor, kit.donor2, kit.other_recipient):
        assert_sumsub_error(api.get_applicant(copy_id), 404)
        assert_sumsub_error(api.review_status(copy_id), 404)
        assert_sumsub_error(api.add_id_doc(copy_id, PASSPORT_META, fake_image("into-dakota")), 404)
        assert_sumsub_error(api.test_completed(copy_id, "RED", ["FORGERY"]), 404)
        assert_sumsub_error(api.generate_share_token(copy_id, DAKOTA_CLIENT_ID), 404)
    assert_unchanged(app, before)


def test_a_client_cannot_reach_another_clients_applicant_by_its_external_user_id(kit: Kit, app: Flask) -> None:
    """External user ids are per workspace: the same id in two workspaces names two applicants."""
    ext = f"shared-{uuid.uuid4()}"
    mine = kit.donor.create_applicant("basic-kyc-level", {"externalUserId": ext}).json()
    theirs = kit.donor2.create_applicant("basic-kyc-level", {"externalUserId": ext}).json()
    assert mine["id"] != theirs["id"]
    assert kit.donor.get_applicant_by_external_id(ext).json()["id"] == mine["id"]
    assert kit.donor2.get_applicant_by_external_id(ext).json()["id"] == theirs["id"]
    before = snapshot(app)
    assert_sumsub_error(kit.other_recipient.get_applicant_by_external_id(ext), 404)
    assert_unchanged(app, before)


def test_a_token_minted_for_another_recipient_fails_at_dakota_and_stays_that_recipients(
    kit: Kit, app: Flask, acme: DonorSide
) -> None:
    initech_token = mint(kit.donor, acme.applicant["id"], "initech-bank_77001")
    row = kit.bulk([initech_token])["results"][0]
    assert row["success"] is False and row["error"].startswith("Failed to redeem share token: ")
    assert token_state(kit, initech_token) == "active"
    assert kit.other_recipient.import_applicant(initech_token).status_code == 200


# ============================================================================================== Dakota
@dataclass
class TwoOrgs:
    customer_id: str  # the admin organisation's imported customer
    application_id: str
    app_token: str
    event_id: str
    target_id: str
    other_customer_id: str  # the other organisation's own customer (POST /customers)
    other_application_id: str
    other_app_token: str


@pytest.fixture
def orgs(kit: Kit) -> TwoOrgs:
    row = mint_and_import(kit, "gb-passport")
    base = kit.base_url
    target = target_for(kit, "http://127.0.0.1:9/hook")
    # An event with a delivery to that target.
    mint_and_import(kit, "us-ssn")
    emitted = events(kit)["data"]
    assert emitted, "the imports emitted no event"
    created = kit.http.post(
        f"{base}/customers",
        json={"name": "Other Org Customer", "customer_type": "individual"},
        headers=dakota_headers(OTHER_ORG_KEY),
    )
    assert created.status_code == 201, created.text
    other = created.json()
    other_app_id = other.get("application_id") or kit.other_org.get_customer(other["id"]).json()["application_id"]
    return TwoOrgs(
        customer_id=row["customer_id"],
        application_id=row["application_id"],
        app_token=kit.admin.application_token(row["customer_id"]),
        event_id=emitted[0]["id"],
        target_id=target["id"],
        other_customer_id=other["id"],
        other_application_id=other_app_id,
        other_app_token=kit.other_org.application_token(other["id"]),
    )


def ids_of(body: dict[str, Any], key: str = "id") -> set[str]:
    return {str(item.get(key)) for item in body["data"]}


def test_another_organisation_sees_none_of_the_customers_whatever_the_filter(
    kit: Kit, app: Flask, orgs: TwoOrgs
) -> None:
    mine = kit.admin.get_customer(orgs.customer_id).json()
    before = snapshot(app)
    for params in (
        {},
        {"search": mine["name"].split(" ")[0]},
        {"search": mine["name"]},
        {"search": orgs.customer_id},
        {"kyc_statuses": "pending,approved,rejected,not_started,expired"},
        {"application_statuses": "pending,submitted,completed"},
        {"limit": "100"},
    ):
        listed = kit.other_org.list_customers(**params)
        assert listed.status_code == 200, listed.text
        assert orgs.customer_id not in ids_of(listed.json()), params
        assert ids_of(listed.json()) <= {orgs.other_customer_id}, params
    cursor = kit.other_org.list_customers(starting_after=orgs.customer_id)
    assert cursor.status_code == 400  # a cursor of another organisation is no item of this one
    assert kit.other_org.get_customer(orgs.customer_id).status_code == 404
    assert kit.admin.get_customer(orgs.other_customer_id).status_code == 404
    assert_unchanged(app, before)


def test_another_organisation_sees_none_of_the_applications(kit: Kit, app: Flask, orgs: TwoOrgs) -> None:
    before = snapshot(app)
    for params in ({}, {"status": "pending"}, {"type": "individual"}, {"limit": "100"}):
        listed = kit.other_org.list_applications(**params)
        assert listed.status_code == 200, listed.text
        found = {a["application_id"] for a in listed.json()["data"]}
        assert orgs.application_id not in found, params
        assert found <= {orgs.other_application_id}, params
    assert kit.other_org.list_applications(ending_before=orgs.application_id).status_code == 400
    mine = {a["application_id"] for a in kit.admin.list_applications(limit="100").json()["data"]}
    assert orgs.other_application_id not in mine
    assert_unchanged(app, before)


def test_an_application_is_reachable_only_with_its_own_application_token(kit: Kit, app: Flask, orgs: TwoOrgs) -> None:
    before = snapshot(app)
    # The other organisation's own (valid) application token opens its application only.
    assert kit.other_org.get_application(orgs.other_application_id, orgs.other_app_token).status_code == 200
    assert kit.other_org.get_application(orgs.application_id, orgs.other_app_token).status_code == 401
    assert kit.admin.get_application(orgs.other_application_id, orgs.app_token).status_code == 401
    # An API key of the other organisation is no way in either.
    by_key = kit.http.get(f"{kit.base_url}/applications/{orgs.application_id}", headers={"x-api-key": OTHER_ORG_KEY})
    assert by_key.status_code == 403
    assert_unchanged(app, before)


def test_an_application_token_is_not_an_api_key(kit: Kit, app: Flask, orgs: TwoOrgs) -> None:
    before = snapshot(app)
    for token in (orgs.app_token, orgs.other_app_token):
        as_key = kit.dakota(token)
        assert as_key.list_customers().status_code == 401
        assert as_key.get_customer(orgs.customer_id).status_code == 401
        assert as_key.get_customer(orgs.other_customer_id).status_code == 401
        assert as_key.list_applications().status_code == 401
        assert kit.http.get(f"{kit.base_url}/events", headers={"x-api-key": token}).status_code == 401
        assert kit.http.get(f"{kit.base_url}/webhooks/targets", headers={"x-api-key": token}).status_code == 401
        imported = as_key.bulk_import_sumsub_tokens([kit.token("gb-passport")])
        assert imported.status_code == 401
    # (each kit.token() above minted a donor and a token at Sumsub: compare Dakota's side only)
    after = snapshot(app)
    for table in ("dakota_customers", "dakota_applications", "dakota_events", "dakota_idempotency"):
        assert after[table] == before[table], table


def step3_calls(kit: Kit, application_id: str, token: str) -> list[requests.Response]:
    base = f"{kit.base_url}/applications/{application_id}"
    h = {"X-Application-Token": token, "x-idempotency-key": str(uuid.uuid4())}
    individual = kit.http.get(base, params={"include": "entities"}, headers={"X-Application-Token": token})
    individual_id = "2hSbxNoSuchIndividual000001"
    if individual.status_code == 200:
        individual_id = individual.json()["entities"]["primary_individual"]["id"]
    return [
        kit.http.put(
            f"{base}/individual-details",
            json={"employment_status": "employed", "purpose_of_account": "investment"},
            headers={"X-Application-Token": token},
        ),
        kit.http.post(
            f"{base}/associated-individuals/{individual_id}/documents",
            json={"document_type": "source_of_wealth", "file_name": "x.pdf", "content": "eA=="},
            headers=h,
        ),
        kit.http.post(
            f"{base}/attestations",
            json={"attestation_type": "terms_of_service"},
            headers={**h, "x-idempotency-key": str(uuid.uuid4())},
        ),
        kit.http.post(f"{base}/submissions", headers={**h, "x-idempotency-key": str(uuid.uuid4())}),
    ]


def test_step_3_of_an_application_cannot_be_driven_with_another_applications_token(
    kit: Kit, app: Flask, orgs: TwoOrgs
) -> None:
    before = snapshot(app)
    for resp in step3_calls(kit, orgs.application_id, orgs.other_app_token):
        assert resp.status_code == 401, (resp.request.method, resp.url, resp.text)
    for resp in step3_calls(kit, orgs.other_application_id, orgs.app_token):
        assert resp.status_code == 401, (resp.request.method, resp.url, resp.text)
    assert_unchanged(app, before)


def test_another_organisation_cannot_simulate_a_review_of_an_application(kit: Kit, app: Flask, orgs: TwoOrgs) -> None:
    before = snapshot(app)
    for kind in ("kyc_approve", "kyc_reject", "kyc_info_request", "applicant_activate", "applicant_suspend"):
        resp = kit.http.post(
            f"{kit.base_url}/sandbox/simulate/onboarding",
            json={"type": kind, "simulation_id": f"sim-{kind}", "applicant_id": orgs.application_id},
            headers=dakota_headers(OTHER_ORG_KEY),
        )
        assert resp.status_code == 404, resp.text
    assert_unchanged(app, before)


def test_another_organisation_sees_none_of_the_events_or_deliveries(kit: Kit, app: Flask, orgs: TwoOrgs) -> None:
    base = kit.base_url
    other = dakota_headers(OTHER_ORG_KEY, idempotency=False)
    assert kit.control.http.post(f"{base}/_sandbox/webhooks/dispatch").status_code == 200  # attempts delivery
    mine = kit.http.get(f"{base}/webhooks", headers=dakota_headers(ADMIN_KEY, False)).json()["data"]
    assert mine, "no delivery history to hide"
    ours = kit.http.get(f"{base}/events", headers=dakota_headers(ADMIN_KEY, False)).json()["data"]
    before = snapshot(app)
    events = kit.http.get(f"{base}/events", headers=other)
    assert events.status_code == 200
    assert ids_of(events.json()).isdisjoint(ids_of({"data": ours}))
    assert orgs.customer_id not in events.text  # only its own customer.created
    assert kit.http.get(f"{base}/events", params={"starting_after": orgs.event_id}, headers=other).status_code == 400
    history = kit.http.get(f"{base}/webhooks", headers=other)
    assert history.status_code == 200 and history.json()["data"] == []
    for ident in {orgs.event_id, *(str(d.get("id")) for d in mine), *(str(d.get("event_id")) for d in mine)}:
        assert kit.http.get(f"{base}/webhooks/{ident}", headers=other).status_code == 404, ident
    replay = kit.http.post(f"{base}/webhooks/events/{orgs.event_id}/replay", headers=dakota_headers(OTHER_ORG_KEY))
    assert replay.status_code == 404
    assert_unchanged(app, before)


def test_another_organisation_can_neither_see_nor_touch_a_webhook_target(kit: Kit, app: Flask, orgs: TwoOrgs) -> None:
    base = f"{kit.base_url}/webhooks/targets"
    other = dakota_headers(OTHER_ORG_KEY, idempotency=False)
    target = kit.http.get(f"{base}/{orgs.target_id}", headers=dakota_headers(ADMIN_KEY, False)).json()
    before = snapshot(app)
    assert kit.http.get(base, headers=other).json()["data"] == []
    assert kit.http.get(f"{base}/{orgs.target_id}", headers=other).status_code == 404
    patched = kit.http.patch(
        f"{base}/{orgs.target_id}", json={"url": "http://127.0.0.1:9/stolen"}, headers=dakota_headers(OTHER_ORG_KEY)
    )
    assert patched.status_code == 404
    assert kit.http.delete(f"{base}/{orgs.target_id}", headers=other).status_code == 404
    assert_unchanged(app, before)
    assert kit.http.get(f"{base}/{orgs.target_id}", headers=dakota_headers(ADMIN_KEY, False)).json() == target


def test_idempotency_keys_are_per_api_key_so_another_organisation_never_gets_a_replay(
    kit: Kit, app: Flask, orgs: TwoOrgs
) -> None:
    """The same x-idempotency-key and body from another organisation runs on its own, never replays ours."""
    key = str(uuid.uuid4())
    body = {"name": "Same Key Customer", "customer_type": "individual"}
    first = kit.http.post(
        f"{kit.base_url}/customers", json=body, headers={"x-api-key": ADMIN_KEY, "x-idempotency-key": key}
    )
    assert first.status_code == 201
    theirs = kit.http.post(
        f"{kit.base_url}/customers", json=body, headers={"x-api-key": OTHER_ORG_KEY, "x-idempotency-key": key}
    )
    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["id"] != first.json()["id"]
    assert kit.admin.get_customer(theirs.json()["id"]).status_code == 404
    assert kit.other_org.get_customer(first.json()["id"]).status_code == 404
