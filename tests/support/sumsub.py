"""Sumsub: donor flows over the signed API, hand-signed (raw) requests, multipart bodies and Sumsub's error envelope."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import requests

from simulator.harness.clients import SumsubApi
from simulator.sumsub.profiles import fake_image
from simulator.sumsub.signing import signed_headers
from tests.support.kit import CLIENTS, DAKOTA_CLIENT_ID, Kit

SERVICE_EXCEPTION = "de.smtdp.commons.service.exceptions.ServiceException"
BOUNDARY = "sandboxboundary7MA4YWxk"
REVIEW_DT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+0000")  # a review's createDate / reviewDate

PASSPORT_META: dict[str, Any] = {
    "idDocType": "PASSPORT",
    "country": "GBR",
    "firstName": "OLIVIA",
    "lastName": "BENNETT",
    "dob": "1990-04-12",
    "number": "533401372",
    "issuedDate": "2019-02-01",
    "validUntil": "2029-02-01",
}


def ext_id(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4()}"


def png(seed: str | None = None) -> bytes:
    """A small valid PNG, different per seed (so uploads are never duplicates by accident)."""
    return fake_image(seed or str(uuid.uuid4()))


def create_applicant(
    api: SumsubApi, level: str = "basic-kyc-level", external_user_id: str | None = None, **body: Any
) -> dict[str, Any]:
    payload = {
        "externalUserId": external_user_id or ext_id(),
        "email": "olivia.bennett@mailbox.co.uk",
        "fixedInfo": {"firstName": "Olivia", "lastName": "Bennett", "country": "GBR"},
        **body,
    }
    resp = api.create_applicant(level, payload)
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


def verified_applicant(api: SumsubApi, level: str = "basic-kyc-level", selfie: bool = True) -> dict[str, Any]:
    """Create an applicant, upload a passport (and a selfie), approve it GREEN: the donor's side of the flow."""
    a = create_applicant(api, level)
    up = api.add_id_doc(a["id"], PASSPORT_META, png())
    assert up.status_code == 200, up.text
    if selfie:
        up = api.add_id_doc(a["id"], {"idDocType": "SELFIE", "country": "GBR"}, png())
        assert up.status_code == 200, up.text
    done = api.test_completed(a["id"], "GREEN")
    assert done.status_code == 200, done.text
    got = api.get_applicant(a["id"])
    assert got.status_code == 200, got.text
    data: dict[str, Any] = got.json()
    return data


def upload(kit: Kit, applicant_id: str, meta: dict[str, Any], content: bytes | None = None) -> requests.Response:
    """The donor uploads a document of `meta` (a fresh PNG unless `content`) to its applicant."""
    return kit.donor.add_id_doc(applicant_id, meta, png() if content is None else content)


def mint(api: SumsubApi, applicant_id: str, for_client_id: str = DAKOTA_CLIENT_ID, ttl: int | None = None) -> str:
    """A share token minted by `api`'s client over the signed API (`POST /resources/accessTokens/shareToken`)."""
    resp = api.generate_share_token(applicant_id, for_client_id, ttl)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["token"])


def raw_request(
    http: requests.Session,
    base_url: str,
    method: str,
    target: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """Send exactly `target` and `body` with exactly `headers` (no signing)."""
    return http.request(method, base_url + target, data=body, headers=headers or {}, timeout=30)


def sign(
    signer: SumsubApi | str, method: str, target: str, body: bytes = b"", ts: int | str | None = None
) -> dict[str, str]:
    """The X-App-* headers of a request to `target` (path and query) with `body`, as `signer` sends them: a
    `SumsubApi`, or a seeded client id. `ts` defaults to the wall clock now."""
    if isinstance(signer, SumsubApi):
        app_token, secret_key = signer.app_token, signer.secret_key
    else:
        app_token, secret_key = CLIENTS[signer]["app_token"], CLIENTS[signer]["secret_key"]
    return signed_headers(app_token, secret_key, int(time.time()) if ts is None else ts, method, target, body)


class SumsubSigner(requests.auth.AuthBase):
    """`requests` auth: X-App-Token / X-App-Access-Ts / X-App-Access-Sig over exactly what is sent."""

    def __init__(self, app_token: str, secret_key: str) -> None:
        self.app_token = app_token
        self.secret_key = secret_key

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
            r.body = body
        r.headers.update(
            signed_headers(self.app_token, self.secret_key, int(time.time()), r.method or "GET", r.path_url, body)
        )
        return r


def multipart_doc(
    meta: bytes | dict[str, Any],
    content: bytes | None,
    filename: str | None = "doc.png",
    content_type: str | None = "image/png",
    boundary: str = BOUNDARY,
) -> tuple[bytes, str]:
    """A document upload body (a `metadata` part, then a `content` part unless None) and its Content-Type;
    `filename` / `content_type` None leave that header parameter / header out of `content`."""
    metadata = json.dumps(meta).encode() if isinstance(meta, dict) else meta
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n'.encode()
        + b"Content-Type: application/json\r\n\r\n"
        + metadata
        + b"\r\n"
    ]
    if content is not None:
        disposition = 'form-data; name="content"' + (f'; filename="{filename}"' if filename is not None else "")
        parts.append(
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
            + (f"Content-Type: {content_type}\r\n" if content_type is not None else "").encode()
            + b"\r\n"
            + content
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def assert_sumsub_error(resp: requests.Response, status: int, error_code: int | None = None) -> dict[str, Any]:
    """A Sumsub JSON error body: {description, code, correlationId, errorCode?, errorName?}."""
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json"), resp.headers["Content-Type"]
    body: dict[str, Any] = resp.json()
    assert body["code"] == status
    assert isinstance(body["description"], str) and body["description"]
    assert isinstance(body["correlationId"], str) and body["correlationId"]
    if error_code is None:
        assert "errorCode" not in body, body
    else:
        assert body["errorCode"] == error_code, body
        assert isinstance(body["errorName"], str) and body["errorName"]
    return body
