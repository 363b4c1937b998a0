"""Consumer contract of the reference Sumsub client (`SumsubApi`, signed requests) with the Sumsub API.

The signing headers are matched by shape: the verifier's requests pass through a signing proxy that signs them
afresh, because a signature over a timestamp cannot be replayed from a file (see docs/contracts-and-pact.md).
"""

from __future__ import annotations

from pact import Pact, match

from simulator.control import pact_states as states
from simulator.harness.clients import SumsubApi
from tests.support.pact import DAKOTA_SUMSUB, DONOR, SUMSUB_TIME, TOKEN, TOKEN_RE, from_state, hex24, signed_by

JSON = "application/json"
PROFILE = {
    "externalUserId": "user-001",
    "email": "jane.doe@mail.example",
    "fixedInfo": {"firstName": "Jane", "lastName": "Doe", "dob": "1990-02-03", "nationality": "GBR"},
}


def donor_api(url: str) -> SumsubApi:
    return SumsubApi(url, DONOR["app_token"], DONOR["secret_key"])


def applicant_path(suffix: str) -> object:
    example = "/resources/applicants/5f1e3b2a9c8d7e6f5a4b3c2d" + suffix
    return from_state("/resources/applicants/${applicantId}" + suffix, example)


def verified_applicant(client_id: str = DONOR["client_id"], level: str = "basic-kyc-level") -> dict[str, object]:
    return {
        "id": hex24(),
        "createdAt": match.regex("2026-01-02 03:04:05", regex=SUMSUB_TIME),
        "clientId": client_id,
        "inspectionId": hex24(),
        "externalUserId": match.like("user-001"),
        "review": {
            "levelName": level,
            "reviewStatus": "completed",
            "reviewResult": {"reviewAnswer": "GREEN"},
        },
        "type": "individual",
    }


def test_create_applicant(sumsub_pact: Pact) -> None:
    (
        sumsub_pact.upon_receiving("a request to create an applicant")
        .given(states.EMPTY)
        .with_request("POST", "/resources/applicants")
        .with_query_parameter("levelName", "basic-kyc-level")
        .with_headers(signed_by(DONOR))
        .with_body(PROFILE, JSON)
        .will_respond_with(200)
        .with_body(
            {
                "id": hex24(),
                "createdAt": match.regex("2026-01-02 03:04:05", regex=SUMSUB_TIME),
                "clientId": DONOR["client_id"],
                "inspectionId": hex24(),
                "externalUserId": "user-001",
                "email": "jane.doe@mail.example",
                "fixedInfo": {"firstName": "Jane", "lastName": "Doe"},
                "review": {"levelName": "basic-kyc-level", "reviewStatus": "init"},
                "type": "individual",
            },
            JSON,
        )
    )
    with sumsub_pact.serve() as srv:
        resp = donor_api(str(srv.url)).create_applicant("basic-kyc-level", PROFILE)
    assert resp.status_code == 200
    assert resp.json()["review"]["reviewStatus"] == "init"


def test_get_applicant_by_id(sumsub_pact: Pact) -> None:
    (
        sumsub_pact.upon_receiving("a request for a verified applicant by id")
        .given(states.VERIFIED_DONOR, {"profile": "gb-passport"})
        .with_request("GET", applicant_path("/one"))
        .with_headers(signed_by(DONOR))
        .will_respond_with(200)
        .with_body(verified_applicant(), JSON)
    )
    with sumsub_pact.serve() as srv:
        resp = donor_api(str(srv.url)).get_applicant("5f1e3b2a9c8d7e6f5a4b3c2d")
    assert resp.json()["review"]["reviewResult"]["reviewAnswer"] == "GREEN"


def test_get_applicant_by_external_user_id(sumsub_pact: Pact) -> None:
    (
        sumsub_pact.upon_receiving("a request for a verified applicant by external user id")
        .given(states.VERIFIED_DONOR, {"profile": "gb-passport", "externalUserId": "user-001"})
        .with_request("GET", "/resources/applicants/-;externalUserId=user-001/one")
        .with_headers(signed_by(DONOR))
        .will_respond_with(200)
        .with_body({**verified_applicant(), "externalUserId": "user-001"}, JSON)
    )
    with sumsub_pact.serve() as srv:
        resp = donor_api(str(srv.url)).get_applicant_by_external_id("user-001")
    assert resp.json()["externalUserId"] == "user-001"


def test_review_status(sumsub_pact: Pact) -> None:
    (
        sumsub_pact.upon_receiving("a request for a verified applicant's review status")
        .given(states.VERIFIED_DONOR, {"profile": "gb-passport"})
        .with_request("GET", applicant_path("/status"))
        .with_headers(signed_by(DONOR))
        .will_respond_with(200)
        .with_body(
            {"levelName": "basic-kyc-level", "reviewStatus": "completed", "reviewResult": {"reviewAnswer": "GREEN"}},
            JSON,
        )
    )
    with sumsub_pact.serve() as srv:
        resp = donor_api(str(srv.url)).review_status("5f1e3b2a9c8d7e6f5a4b3c2d")
    assert resp.json()["reviewStatus"] == "completed"


def test_test_completed(sumsub_pact: Pact) -> None:
    (
        sumsub_pact.upon_receiving("a sandbox review (testCompleted) approving an applicant")
        .given(states.DONOR_APPLICANT, {"externalUserId": "user-001"})
        .with_request("POST", applicant_path("/status/testCompleted"))
        .with_headers(signed_by(DONOR))
        .with_body({"reviewAnswer": "GREEN", "rejectLabels": []}, JSON)
        .will_respond_with(200)
        .with_body({"ok": 1}, JSON)
    )
    with sumsub_pact.serve() as srv:
        resp = donor_api(str(srv.url)).test_completed("5f1e3b2a9c8d7e6f5a4b3c2d")
    assert resp.json() == {"ok": 1}


def test_generate_share_token(sumsub_pact: Pact) -> None:
    (
        sumsub_pact.upon_receiving("a request to generate a share token for Dakota")
        .given(states.VERIFIED_DONOR, {"profile": "gb-passport"})
        .with_request("POST", "/resources/accessTokens/shareToken")
        .with_headers(signed_by(DONOR))
        .with_body(
            {
                "applicantId": from_state("${applicantId}", "5f1e3b2a9c8d7e6f5a4b3c2d"),
                "forClientId": "dakota.xyz_158913",
                "ttlInSecs": 1200,
            },
            JSON,
        )
        .will_respond_with(200)
        .with_body({"token": match.regex(TOKEN, regex=TOKEN_RE), "forClientId": "dakota.xyz_158913"}, JSON)
    )
    with sumsub_pact.serve() as srv:
        resp = donor_api(str(srv.url)).generate_share_token("5f1e3b2a9c8d7e6f5a4b3c2d", "dakota.xyz_158913", 1200)
    assert resp.json()["token"].startswith("_act-sbx-jwt-")


def test_generate_share_token_query_form(sumsub_pact: Pact) -> None:
    (
        sumsub_pact.upon_receiving("a request to generate a share token for Dakota (query form)")
        .given(states.VERIFIED_DONOR, {"profile": "gb-passport"})
        .with_request("POST", "/resources/accessTokens/-/shareToken")
        .with_query_parameter("applicantId", from_state("${applicantId}", "5f1e3b2a9c8d7e6f5a4b3c2d"))
        .with_query_parameter("forClientId", "dakota.xyz_158913")
        .with_query_parameter("ttlInSecs", "600")
        .with_headers(signed_by(DONOR))
        .will_respond_with(200)
        .with_body({"token": match.regex(TOKEN, regex=TOKEN_RE), "forClientId": "dakota.xyz_158913"}, JSON)
    )
    with sumsub_pact.serve() as srv:
        resp = donor_api(str(srv.url)).generate_share_token_query("5f1e3b2a9c8d7e6f5a4b3c2d", "dakota.xyz_158913", 600)
    assert resp.json()["forClientId"] == "dakota.xyz_158913"


def test_reuse_share_token(sumsub_pact: Pact) -> None:
    (
        sumsub_pact.upon_receiving("a reuse of a share token by Dakota's Sumsub client")
        .given(states.TOKEN_FOR_DAKOTA, {"profile": "gb-passport"})
        .with_request("POST", "/resources/api/reusableIdentity/reuse")
        .with_query_parameter("shareToken", from_state("${token}", TOKEN))
        .with_query_parameter("levelName", "id-only")
        .with_query_parameter("userId", "dakota-user-001")
        .with_headers(signed_by(DAKOTA_SUMSUB))
        .will_respond_with(200)
        .with_body(
            {
                **verified_applicant(DAKOTA_SUMSUB["client_id"], "id-only"),
                "externalUserId": "dakota-user-001",
                "info": {"idDocs": match.each_like({"idDocType": "PASSPORT", "country": "GBR"})},
            },
            JSON,
        )
    )
    with sumsub_pact.serve() as srv:
        api = SumsubApi(str(srv.url), DAKOTA_SUMSUB["app_token"], DAKOTA_SUMSUB["secret_key"])
        resp = api.reuse(TOKEN, "id-only", "dakota-user-001")
    assert resp.json()["clientId"] == "dakota.xyz_158913"


def test_import_expired_share_token(sumsub_pact: Pact) -> None:
    (
        sumsub_pact.upon_receiving("an import of an expired share token")
        .given(states.TOKEN_EXPIRED)
        .with_request("POST", "/resources/applicants/-/import")
        .with_query_parameter("shareToken", from_state("${token}", TOKEN))
        .with_headers(signed_by(DAKOTA_SUMSUB))
        .will_respond_with(401)
        .with_body(
            {
                "code": 401,
                "description": match.regex(
                    "Token is invalid: Token _act-sbx-1 is invalid now: created at Wed Nov 25 20:06:51 UTC 2026 "
                    "with ttl 1200 but accessed at Wed Nov 25 20:27:51 UTC 2026",
                    regex=r"^Token is invalid: .* with ttl \d+ but accessed at .*",
                ),
                "correlationId": match.like("6e948b1870a8cdee8f8e91749ca2dc98"),
            },
            JSON,
        )
    )
    with sumsub_pact.serve() as srv:
        api = SumsubApi(str(srv.url), DAKOTA_SUMSUB["app_token"], DAKOTA_SUMSUB["secret_key"])
        resp = api.import_applicant(TOKEN)
    assert resp.status_code == 401
