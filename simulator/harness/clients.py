"""Reference clients: a signing Sumsub client, a Dakota client and a control-plane client (requests-based).

Each takes a base URL and an optional `requests.Session` (use `transport.in_process_session` to run in-process).
Methods return the raw `requests.Response`, so callers can assert on status and body as they need.
"""

from __future__ import annotations

import json as jsonlib
import time
import uuid
from typing import Any
from urllib.parse import quote, urlencode

import requests

from simulator.control.access import TOKEN_HEADER
from simulator.settings import control_token_from_env
from simulator.sumsub.signing import signed_headers

DEFAULT_TIMEOUT = 30.0


def control_headers(token: str | None = None) -> dict[str, str]:
    """What the harness sends with every control-plane request: `X-Sandbox-Token` with the sandbox's token
    (`SANDBOX_CONTROL_TOKEN`), or, when there is none, with a placeholder: the header alone shows that no web page
    sent the request (see simulator/control/access.py)."""
    return {TOKEN_HEADER: token or control_token_from_env() or "kyc-sandbox-harness"}


def harness_session(token: str | None = None) -> requests.Session:
    """A requests session whose requests carry `control_headers()` (the other APIs ignore the header)."""
    session = requests.Session()
    session.headers.update(control_headers(token))
    return session


class _Base:
    def __init__(self, base_url: str, session: requests.Session | None = None, timeout: float = DEFAULT_TIMEOUT):
        self.base_url = base_url.rstrip("/")
        self.http = session or harness_session()
        self.timeout = timeout


class SumsubApi(_Base):
    """Sumsub's API with real request signing (`X-App-Token`, `X-App-Access-Ts`, `X-App-Access-Sig`)."""

    def __init__(
        self,
        base_url: str,
        app_token: str,
        secret_key: str,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(base_url, session, timeout)
        self.app_token = app_token
        self.secret_key = secret_key

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        ts: int | None = None,
    ) -> requests.Response:
        """Sign and send; `path` is signed with its query string exactly as sent."""
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None}, quote_via=quote)
        target = f"{path}?{query}" if query else path
        body = data if data is not None else (jsonlib.dumps(json).encode() if json is not None else b"")
        hdrs = dict(headers or {})
        if json is not None and data is None:
            hdrs.setdefault("Content-Type", "application/json")
        hdrs.update(
            signed_headers(
                self.app_token, self.secret_key, ts if ts is not None else int(time.time()), method, target, body
            )
        )
        return self.http.request(method, self.base_url + target, data=body, headers=hdrs, timeout=self.timeout)

    def create_applicant(self, level_name: str, body: dict[str, Any]) -> requests.Response:
        return self.request("POST", "/resources/applicants", params={"levelName": level_name}, json=body)

    def get_applicant(self, applicant_id: str) -> requests.Response:
        return self.request("GET", f"/resources/applicants/{applicant_id}/one")

    def get_applicant_by_external_id(self, external_user_id: str) -> requests.Response:
        return self.request("GET", f"/resources/applicants/-;externalUserId={quote(external_user_id, safe='')}/one")

    def add_id_doc(
        self, applicant_id: str, metadata: dict[str, Any], content: bytes, filename: str = "doc.png"
    ) -> requests.Response:
        """Multipart upload; the signature covers the whole multipart body."""
        prepared = requests.Request(
            "POST",
            "http://x/",
            files={
                "metadata": (None, jsonlib.dumps(metadata), "application/json"),
                "content": (filename, content, "image/png"),
            },
        ).prepare()
        body = prepared.body if isinstance(prepared.body, bytes) else str(prepared.body or "").encode()
        return self.request(
            "POST",
            f"/resources/applicants/{applicant_id}/info/idDoc",
            data=body,
            headers={"Content-Type": prepared.headers["Content-Type"]},
        )

    def review_status(self, applicant_id: str) -> requests.Response:
        return self.request("GET", f"/resources/applicants/{applicant_id}/status")

    def required_id_docs_status(self, applicant_id: str) -> requests.Response:
        return self.request("GET", f"/resources/applicants/{applicant_id}/requiredIdDocsStatus")

    def test_completed(
        self, applicant_id: str, answer: str = "GREEN", reject_labels: list[str] | None = None, **extra: Any
    ) -> requests.Response:
        body = {"reviewAnswer": answer, "rejectLabels": reject_labels or [], **extra}
        return self.request("POST", f"/resources/applicants/{applicant_id}/status/testCompleted", json=body)

    def generate_share_token(
        self, applicant_id: str, for_client_id: str, ttl_in_secs: int | None = None
    ) -> requests.Response:
        body: dict[str, Any] = {"applicantId": applicant_id, "forClientId": for_client_id}
        if ttl_in_secs is not None:
            body["ttlInSecs"] = ttl_in_secs
        return self.request("POST", "/resources/accessTokens/shareToken", json=body)

    def generate_share_token_query(
        self, applicant_id: str, for_client_id: str, ttl_in_secs: int | None = None
    ) -> requests.Response:
        params = {"applicantId": applicant_id, "forClientId": for_client_id, "ttlInSecs": ttl_in_secs}
        return self.request("POST", "/resources/accessTokens/-/shareToken", params=params)

    def import_applicant(self, share_token: str) -> requests.Response:
        return self.request("POST", "/resources/applicants/-/import", params={"shareToken": share_token})

    def reuse(self, share_token: str, level_name: str, user_id: str | None = None) -> requests.Response:
        params = {"shareToken": share_token, "levelName": level_name, "userId": user_id}
        return self.request("POST", "/resources/api/reusableIdentity/reuse", params=params)

    def health(self) -> requests.Response:
        return self.request("GET", "/resources/status/api")


class DakotaApi(_Base):
    """Dakota's API with `x-api-key`; POSTs get a fresh `x-idempotency-key` unless one is given."""

    def __init__(
        self, base_url: str, api_key: str, session: requests.Session | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        super().__init__(base_url, session, timeout)
        self.api_key = api_key

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"x-api-key": self.api_key, **(extra or {})}

    def bulk_import_sumsub_tokens(self, tokens: Any, idempotency_key: str | None = None) -> requests.Response:
        headers = self._headers({"x-idempotency-key": idempotency_key or str(uuid.uuid4())})
        return self.http.post(
            f"{self.base_url}/customers/bulk-import-sumsub-tokens",
            json={"tokens": tokens},
            headers=headers,
            timeout=self.timeout,
        )

    def list_customers(self, **params: Any) -> requests.Response:
        return self.http.get(f"{self.base_url}/customers", params=params, headers=self._headers(), timeout=self.timeout)

    def get_customer(self, customer_id: str) -> requests.Response:
        return self.http.get(f"{self.base_url}/customers/{customer_id}", headers=self._headers(), timeout=self.timeout)

    def list_applications(self, **params: Any) -> requests.Response:
        return self.http.get(
            f"{self.base_url}/applications", params=params, headers=self._headers(), timeout=self.timeout
        )

    def get_application(self, application_id: str, token: str, include: str | None = None) -> requests.Response:
        params = {"include": include} if include else None
        return self.http.get(
            f"{self.base_url}/applications/{application_id}",
            params=params,
            headers={"X-Application-Token": token},
            timeout=self.timeout,
        )

    def application_token(self, customer_id: str) -> str:
        """The application token embedded in the customer's `application_url`."""
        url = self.get_customer(customer_id).json()["application_url"]
        return str(url.split("token=", 1)[1])


class ControlApi(_Base):
    """The /_sandbox control plane; `token`: the sandbox's control token (default SANDBOX_CONTROL_TOKEN)."""

    def __init__(
        self,
        base_url: str,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        token: str | None = None,
    ) -> None:
        super().__init__(base_url, session, timeout)
        self.headers = control_headers(token)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> requests.Response:
        url = f"{self.base_url}/_sandbox{path}"
        return self.http.get(url, params=params, timeout=self.timeout, headers=self.headers)

    def _post(self, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        url = f"{self.base_url}/_sandbox{path}"
        return self.http.post(url, json=body or {}, timeout=self.timeout, headers=self.headers)

    def health(self) -> requests.Response:
        return self._get("/health")

    def credentials(self) -> dict[str, Any]:
        resp = self._get("/credentials")
        resp.raise_for_status()
        data: dict[str, Any] = resp.json()
        return data

    def reset(self) -> requests.Response:
        return self._post("/reset")

    def clock(self) -> dict[str, Any]:
        data: dict[str, Any] = self._get("/clock").json()
        return data

    def advance(self, seconds: float) -> requests.Response:
        return self._post("/clock/advance", {"seconds": seconds})

    def set_clock(self, now: str | float | None = None, frozen: bool | None = None) -> requests.Response:
        body: dict[str, Any] = {}
        if now is not None:
            body["now"] = now
        if frozen is not None:
            body["frozen"] = frozen
        return self._post("/clock", body)

    def create_donor(self, profile: str, **kw: Any) -> requests.Response:
        return self._post("/donors", {"profile": profile, **kw})

    def mint(self, applicant_id: str, **kw: Any) -> requests.Response:
        return self._post("/share-tokens", {"applicant_id": applicant_id, **kw})

    def donor_token(self, profile: str = "gb-passport", **kw: Any) -> str:
        """Shortcut: a verified donor applicant from `profile` and a share token for Dakota."""
        kw.setdefault("share_with", "dakota.xyz_158913")
        resp = self.create_donor(profile, **kw)
        resp.raise_for_status()
        return str(resp.json()["share_token"]["token"])

    def token_status(self, token: str) -> requests.Response:
        return self._get("/share-tokens", {"token": token})

    def journal(self, **params: Any) -> requests.Response:
        return self._get("/journal", params)

    def webhook_public_key(self) -> requests.Response:
        return self._get("/webhooks/public-key")
