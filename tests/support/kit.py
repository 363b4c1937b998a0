"""The seeded credentials, and `Kit`: the reference clients bound to one sandbox (in-process or served).

Every response a kit receives can be checked against Dakota's published spec (`contract`) and the sandbox's own
contracts (`own_contracts`); what breaks them collects in `Kit.contract_problems`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from simulator.harness.clients import ControlApi, DakotaApi, SumsubApi
from simulator.harness.openapi import OpenApiContract
from simulator.seed import DAKOTA_KEYS, SUMSUB_CLIENTS

ROOT = Path(__file__).resolve().parents[2]
VENDOR_SPEC = ROOT / "contracts" / "vendor" / "dakota-openapi.yaml"
# The sandbox's own contracts (contracts/openapi/<api>.yaml), keyed by the path prefix they cover (most specific first).
OWN_CONTRACTS = {"sumsub": "/resources", "control": "/_sandbox", "dakota": "/"}

ADMIN_KEY = str(DAKOTA_KEYS[0]["key"])
VIEWER_KEY = str(DAKOTA_KEYS[1]["key"])
OTHER_ORG_KEY = str(DAKOTA_KEYS[2]["key"])
CLIENTS: dict[str, dict[str, Any]] = {c["client_id"]: c for c in SUMSUB_CLIENTS}
DAKOTA_CLIENT_ID = "dakota.xyz_158913"
DONOR_ID = "acme-wallet_20419"
DONOR2_ID = "globex-exchange_55120"
OTHER_RECIPIENT_ID = "initech-bank_77001"


def load_own_contracts() -> dict[str, OpenApiContract]:
    return {
        prefix: OpenApiContract.load(ROOT / "contracts" / "openapi" / f"{api}.yaml")
        for api, prefix in OWN_CONTRACTS.items()
    }


def check_own_contracts(http: requests.Session, problems: list[Any], contracts: dict[str, OpenApiContract]) -> None:
    """Also validate every response `http` receives against contracts/openapi/<api>.yaml."""

    def check(resp: requests.Response, *_a: Any, **_k: Any) -> None:
        if "X-Sandbox-Fault" in resp.headers:
            return  # an injected fault is deliberately outside every contract
        path = requests.utils.urlparse(resp.url).path
        prefix = next(p for p in contracts if path.startswith(p))
        try:
            body = resp.json()
        except ValueError:
            body = None
        found = contracts[prefix].validate_response(
            resp.request.method or "GET", path, resp.status_code, resp.headers.get("Content-Type"), body
        )
        problems.extend(dataclasses.replace(p, operation=f"[contracts/openapi] {p.operation}") for p in found)

    http.hooks["response"].append(check)


@dataclass
class Kit:
    """Clients bound to one sandbox (in-process or served)."""

    base_url: str
    http: requests.Session
    control: ControlApi
    donor: SumsubApi
    donor2: SumsubApi
    dakota_sumsub: SumsubApi
    other_recipient: SumsubApi
    admin: DakotaApi
    viewer: DakotaApi
    other_org: DakotaApi
    contract_problems: list[Any]

    def sumsub(self, client_id: str) -> SumsubApi:
        c = CLIENTS[client_id]
        return SumsubApi(self.base_url, c["app_token"], c["secret_key"], session=self.http)

    def dakota(self, key: str) -> DakotaApi:
        return DakotaApi(self.base_url, key, session=self.http)

    def token(self, profile: str = "gb-passport", **kw: Any) -> str:
        """A share token for Dakota, minted through the control plane for a new donor of fixture `profile`."""
        return self.control.donor_token(profile, **kw)

    def bulk(self, tokens: list[str], **kw: Any) -> dict[str, Any]:
        """Dakota's bulk import of `tokens` with the admin key (asserting 200): the whole response body."""
        resp = self.admin.bulk_import_sumsub_tokens(tokens, **kw)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def application(self, customer_id: str, application_id: str, include: str = "all") -> dict[str, Any]:
        token = self.admin.application_token(customer_id)
        resp = self.admin.get_application(application_id, token, include=include)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body


def make_kit(
    http: requests.Session,
    base_url: str,
    contract: OpenApiContract | None,
    own_contracts: dict[str, OpenApiContract] | None = None,
) -> Kit:
    """A kit on `http`; with `contract`, Dakota responses are checked against it, and with `own_contracts` every
    response against the sandbox's own contracts."""
    problems: list[Any] = []

    def check(resp: requests.Response, *_a: Any, **_k: Any) -> None:
        if contract is None or "X-Sandbox-Fault" in resp.headers:
            return
        path = requests.utils.urlparse(resp.url).path
        if path.startswith(("/resources", "/_sandbox")):
            return
        try:
            body = resp.json()
        except ValueError:
            body = None
        found = contract.validate_response(
            resp.request.method or "GET", path, resp.status_code, resp.headers.get("Content-Type"), body
        )
        problems.extend(found)

    http.hooks["response"].append(check)
    if own_contracts is not None:
        check_own_contracts(http, problems, own_contracts)

    def sumsub(cid: str) -> SumsubApi:
        return SumsubApi(base_url, CLIENTS[cid]["app_token"], CLIENTS[cid]["secret_key"], session=http)

    return Kit(
        base_url=base_url,
        http=http,
        control=ControlApi(base_url, session=http),
        donor=sumsub(DONOR_ID),
        donor2=sumsub(DONOR2_ID),
        dakota_sumsub=sumsub(DAKOTA_CLIENT_ID),
        other_recipient=sumsub(OTHER_RECIPIENT_ID),
        admin=DakotaApi(base_url, ADMIN_KEY, session=http),
        viewer=DakotaApi(base_url, VIEWER_KEY, session=http),
        other_org=DakotaApi(base_url, OTHER_ORG_KEY, session=http),
        contract_problems=problems,
    )
