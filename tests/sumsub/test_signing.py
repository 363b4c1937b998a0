"""Sumsub request signing: X-App-Token, X-App-Access-Ts (±60 s of wall time), X-App-Access-Sig (hex HMAC-SHA256)."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time

import pytest
import requests
from flask import Flask

from simulator.sumsub.signing import signature, signatures_match, signed_headers
from tests.support import DONOR_ID, Kit
from tests.support.sumsub import PASSPORT_META, assert_sumsub_error, create_applicant, ext_id, png, raw_request, sign

DOCS_TS = "1607551635"
DOCS_TARGET = (
    "/resources/accessTokens?userId=cfd20712-24a2-4c7d-9ab0-146f3c142335&levelName=basic-kyc-level&ttlInSecs=600"
)
SECRET = "Hej2ch71kG2kTd1iIUDZFNsO5C1lh5Gq"


# ---------------------------------------------------------------- the function itself
def test_signature_is_lowercase_hex_hmac_sha256_of_ts_method_path_and_body() -> None:
    body = b'{"externalUserId":"x"}'
    expected = hmac.new(SECRET.encode(), (DOCS_TS + "POST" + DOCS_TARGET).encode() + body, hashlib.sha256).hexdigest()
    got = signature(SECRET, DOCS_TS, "POST", DOCS_TARGET, body)
    assert got == expected
    assert re.fullmatch(r"[0-9a-f]{64}", got)


def test_signature_of_the_documented_example_string_without_body() -> None:
    message = b"1607551635POST" + DOCS_TARGET.encode()
    assert signature(SECRET, DOCS_TS, "POST", DOCS_TARGET) == hmac.new(SECRET.encode(), message, "sha256").hexdigest()


def test_signature_uppercases_the_method() -> None:
    assert signature(SECRET, DOCS_TS, "post", DOCS_TARGET) == signature(SECRET, DOCS_TS, "POST", DOCS_TARGET)


def test_signature_changes_with_every_part_of_the_string_to_sign() -> None:
    base = signature(SECRET, DOCS_TS, "POST", DOCS_TARGET, b"{}")
    assert signature(SECRET, "1607551636", "POST", DOCS_TARGET, b"{}") != base
    assert signature(SECRET, DOCS_TS, "GET", DOCS_TARGET, b"{}") != base
    assert signature(SECRET, DOCS_TS, "POST", DOCS_TARGET.replace("600", "601"), b"{}") != base
    assert signature(SECRET, DOCS_TS, "POST", DOCS_TARGET, b"{ }") != base
    assert signature(SECRET + "x", DOCS_TS, "POST", DOCS_TARGET, b"{}") != base


def test_signed_headers_carry_token_ts_and_signature() -> None:
    h = signed_headers("sbx:tok", SECRET, 1607551635, "GET", "/resources/status/api")
    assert h == {
        "X-App-Token": "sbx:tok",
        "X-App-Access-Ts": "1607551635",
        "X-App-Access-Sig": signature(SECRET, "1607551635", "GET", "/resources/status/api"),
    }


def test_signatures_match_ignores_case_and_rejects_other_digests() -> None:
    sig = signature(SECRET, DOCS_TS, "GET", "/x")
    assert signatures_match(sig, sig.upper())
    assert not signatures_match(sig, signature(SECRET, DOCS_TS, "GET", "/y"))
    assert not signatures_match(sig, "")


# ---------------------------------------------------------------- over HTTP
def test_correctly_signed_request_succeeds(kit: Kit) -> None:
    resp = kit.donor.health()
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"ok": 1}


def test_bad_signature_is_401_4003_in_sumsubs_envelope(kit: Kit) -> None:
    target = "/resources/status/api"
    headers = sign(kit.donor, "GET", target)
    headers["X-App-Access-Sig"] = "0" * 64
    resp = raw_request(kit.http, kit.base_url, "GET", target, headers=headers)
    body = assert_sumsub_error(resp, 401, 4003)
    assert body["errorName"] == "app-token-signature-mismatch"
    assert set(body) == {"description", "code", "correlationId", "errorCode", "errorName"}


def test_signature_made_with_another_clients_secret_is_rejected(kit: Kit) -> None:
    target = "/resources/status/api"
    headers = sign(kit.donor, "GET", target)
    headers["X-App-Token"] = kit.donor2.app_token  # donor's signature, donor2's token
    assert_sumsub_error(raw_request(kit.http, kit.base_url, "GET", target, headers=headers), 401, 4003)


def test_missing_signature_header_is_401_4003(kit: Kit) -> None:
    target = "/resources/status/api"
    headers = sign(kit.donor, "GET", target)
    del headers["X-App-Access-Sig"]
    assert_sumsub_error(raw_request(kit.http, kit.base_url, "GET", target, headers=headers), 401, 4003)


def test_timestamp_61_seconds_in_the_past_is_401_4004(kit: Kit) -> None:
    resp = kit.donor.request("GET", "/resources/status/api", ts=int(time.time()) - 61)
    body = assert_sumsub_error(resp, 401, 4004)
    assert body["errorName"] == "app-token-request-expired"


def test_timestamp_61_seconds_in_the_future_is_401_4004(kit: Kit) -> None:
    # Round up: X-App-Access-Ts is whole seconds, so `int(now) + 61` can be as little as 60.01 s ahead.
    resp = kit.donor.request("GET", "/resources/status/api", ts=math.ceil(time.time()) + 61)
    assert_sumsub_error(resp, 401, 4004)


def test_timestamp_59_seconds_off_either_way_is_accepted(kit: Kit) -> None:
    # Truncation only ever moves these further inside the window: 58-59 s off when the server checks.
    assert kit.donor.request("GET", "/resources/status/api", ts=math.ceil(time.time()) - 59).status_code == 200
    assert kit.donor.request("GET", "/resources/status/api", ts=math.floor(time.time()) + 59).status_code == 200


def test_signature_window_is_exactly_sixty_seconds_each_way(
    kit: Kit, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    wall = 1_700_000_000
    monkeypatch.setattr(app.extensions["kyc_sandbox"].rt.clock, "_wall", lambda: float(wall))
    for offset, ok in ((-61, False), (-60, True), (0, True), (60, True), (61, False)):
        resp = kit.donor.request("GET", "/resources/status/api", ts=wall + offset)
        if ok:
            assert resp.status_code == 200, (offset, resp.text)
        else:
            assert_sumsub_error(resp, 401, 4004)


def test_non_numeric_timestamp_is_401_4004(kit: Kit) -> None:
    for bad in ("abc", "-5", "1607551635.5", ""):
        target = "/resources/status/api"
        headers = sign(kit.donor, "GET", target, ts=bad)
        if not bad:
            del headers["X-App-Access-Ts"]
        resp = raw_request(kit.http, kit.base_url, "GET", target, headers=headers)
        assert_sumsub_error(resp, 401, 4004)


def test_non_ascii_digit_timestamp_is_401_4004_not_500(kit: Kit) -> None:
    # '²' is a digit to str.isdigit() but not to int(); header values are latin-1, so a client can send it.
    target = "/resources/status/api"
    headers = sign(kit.donor, "GET", target, ts="\u00b2")
    assert_sumsub_error(raw_request(kit.http, kit.base_url, "GET", target, headers=headers), 401, 4004)


def test_non_ascii_signature_is_401_4003_not_500(kit: Kit) -> None:
    target = "/resources/status/api"
    headers = sign(kit.donor, "GET", target)
    headers["X-App-Access-Sig"] = "\u00e9" * 64
    assert_sumsub_error(raw_request(kit.http, kit.base_url, "GET", target, headers=headers), 401, 4003)


def test_missing_app_token_is_401(kit: Kit) -> None:
    target = "/resources/status/api"
    headers = sign(kit.donor, "GET", target)
    del headers["X-App-Token"]
    body = assert_sumsub_error(raw_request(kit.http, kit.base_url, "GET", target, headers=headers), 401, 4000)
    assert body["errorName"] == "app-token-invalid-format"


def test_unknown_app_token_is_401(kit: Kit) -> None:
    target = "/resources/status/api"
    headers = sign(kit.donor, "GET", target)
    headers["X-App-Token"] = "sbx:notARealToken.notARealPrivatePart"
    assert_sumsub_error(raw_request(kit.http, kit.base_url, "GET", target, headers=headers), 401, 4000)


def test_request_without_any_auth_headers_is_401(kit: Kit) -> None:
    resp = raw_request(kit.http, kit.base_url, "GET", "/resources/status/api")
    assert_sumsub_error(resp, 401, 4000)


def test_signature_covers_the_query_string(kit: Kit) -> None:
    ext = ext_id()
    body = json.dumps({"externalUserId": ext}).encode()
    signed_target = "/resources/applicants?levelName=basic-kyc-level"
    headers = {**sign(kit.donor, "POST", signed_target, body), "Content-Type": "application/json"}
    tampered = raw_request(
        kit.http, kit.base_url, "POST", "/resources/applicants?levelName=id-only", body=body, headers=headers
    )
    assert_sumsub_error(tampered, 401, 4003)
    # Nothing was created by the rejected request; the untampered one goes through.
    assert kit.donor.get_applicant_by_external_id(ext).status_code == 404
    good = raw_request(kit.http, kit.base_url, "POST", signed_target, body=body, headers=headers)
    assert good.status_code == 200, good.text
    assert good.json()["review"]["levelName"] == "basic-kyc-level"


def test_signature_covers_the_raw_json_body(kit: Kit) -> None:
    target = "/resources/applicants?levelName=basic-kyc-level"
    body = json.dumps({"externalUserId": ext_id()}).encode()
    headers = {**sign(kit.donor, "POST", target, body), "Content-Type": "application/json"}
    other = json.dumps({"externalUserId": ext_id()}).encode()
    assert_sumsub_error(raw_request(kit.http, kit.base_url, "POST", target, body=other, headers=headers), 401, 4003)
    # Re-serialising the same JSON differently is a different body too.
    spaced = body.replace(b":", b": ")
    assert_sumsub_error(raw_request(kit.http, kit.base_url, "POST", target, body=spaced, headers=headers), 401, 4003)


def test_multipart_upload_signed_over_the_whole_multipart_body_succeeds(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    resp = kit.donor.add_id_doc(a["id"], PASSPORT_META, png())
    assert resp.status_code == 200, resp.text
    assert resp.headers["X-Image-Id"].isdigit()


def test_multipart_upload_with_tampered_file_bytes_is_rejected(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    prepared = requests.Request(
        "POST",
        "http://x/",
        files={
            "metadata": (None, json.dumps(PASSPORT_META), "application/json"),
            "content": ("doc.png", png("original"), "image/png"),
        },
    ).prepare()
    assert isinstance(prepared.body, bytes)
    target = f"/resources/applicants/{a['id']}/info/idDoc"
    headers = {**sign(kit.donor, "POST", target, prepared.body), "Content-Type": prepared.headers["Content-Type"]}
    tampered = prepared.body.replace(b"original", b"ORIGINAL")
    assert tampered != prepared.body
    resp = raw_request(kit.http, kit.base_url, "POST", target, body=tampered, headers=headers)
    assert_sumsub_error(resp, 401, 4003)
    status = kit.donor.required_id_docs_status(a["id"]).json()
    assert status["IDENTITY"] is None  # nothing uploaded


def test_multipart_upload_without_filename_is_signed_over_the_raw_body(kit: Kit) -> None:
    a = create_applicant(kit.donor)
    boundary = "nodeFormDataBoundary0123"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{json.dumps(PASSPORT_META)}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="content"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + png("signed")
        + f"\r\n--{boundary}--\r\n".encode()
    )
    target = f"/resources/applicants/{a['id']}/info/idDoc"
    headers = {**sign(kit.donor, "POST", target, body), "Content-Type": f"multipart/form-data; boundary={boundary}"}

    tampered = body.replace(b"PASSPORT", b"PASSPORt")
    assert_sumsub_error(raw_request(kit.http, kit.base_url, "POST", target, body=tampered, headers=headers), 401, 4003)
    resp = raw_request(kit.http, kit.base_url, "POST", target, body=body, headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["X-Image-Id"].isdigit()


def test_path_with_encoded_characters_is_signed_as_sent(kit: Kit) -> None:
    ext = f"user @{ext_id()}+x"
    a = create_applicant(kit.donor, external_user_id=ext)
    resp = kit.donor.get_applicant_by_external_id(ext)
    assert resp.status_code == 200, resp.text
    assert resp.json()["id"] == a["id"]


def test_simulated_clock_does_not_move_the_signature_window(kit: Kit) -> None:
    assert kit.control.advance(86_400).status_code == 200
    # Wall-time timestamps still pass...
    assert kit.donor.health().status_code == 200
    a = create_applicant(kit.donor)
    assert kit.donor.get_applicant(a["id"]).status_code == 200
    # ...and a timestamp on the simulated clock (a day ahead of wall time) is stale.
    simulated = int(kit.control.clock()["epoch"])
    assert simulated - time.time() > 86_000
    assert_sumsub_error(kit.donor.request("GET", "/resources/status/api", ts=simulated), 401, 4004)


def test_frozen_simulated_clock_does_not_expire_signatures(kit: Kit) -> None:
    assert kit.control.set_clock(frozen=True).status_code == 200
    assert kit.control.advance(3600).status_code == 200
    assert kit.donor.health().status_code == 200


def test_unknown_resources_route_is_404_in_sumsubs_envelope(kit: Kit) -> None:
    signed = kit.donor.request("GET", "/resources/no/such/thing")
    body = assert_sumsub_error(signed, 404)
    assert "<html" not in signed.text.lower()
    assert set(body) <= {"description", "code", "correlationId", "errorCode", "errorName"}
    unsigned = raw_request(kit.http, kit.base_url, "POST", "/resources/nothing-here")
    assert_sumsub_error(unsigned, 404)
    assert_sumsub_error(kit.donor.request("GET", "/resources/applicants/abc/nothing"), 404)


def test_wrong_method_on_a_known_resources_route_is_405_in_sumsubs_envelope(kit: Kit) -> None:
    resp = kit.donor.request("DELETE", "/resources/status/api")
    assert_sumsub_error(resp, 405)


def test_every_seeded_client_can_sign_its_own_requests(kit: Kit) -> None:
    for api in (kit.donor, kit.donor2, kit.dakota_sumsub, kit.other_recipient):
        assert api.health().status_code == 200
    assert kit.sumsub(DONOR_ID).health().status_code == 200
