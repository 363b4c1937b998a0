"""Pact provider states, served by the control plane: `POST /_sandbox/pact/provider-states`.

A Pact verifier calls this URL before each interaction (`state_handler(url, teardown=True, body=True)`) with
`{"action": "setup" | "teardown", "state": "<name>", "params": {...}}`. A setup builds the named situation
through the sandbox's own services and answers a flat JSON object of values (`token`, `applicantId`,
`customerId`, ...). Pact injects those into requests whose pact marks a value with a provider-state generator
(`generate.provider_state("${token}")`), so a request can carry a token minted at verification time.

Every scenario state resets the sandbox first; the two "the caller has ... key" states only return values and can
be stacked after a scenario state. An interaction with no state gets `"state": ""`, which just resets. Teardown does
nothing (the next setup resets). `GET /_sandbox/pact/provider-states` lists the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.control import service
from simulator.core.clock import iso
from simulator.core.errors import ControlError
from simulator.core.tx import Tx
from simulator.dakota import queries as dakota_queries
from simulator.sandbox import Sandbox

DONOR_CLIENT = "acme-wallet_20419"
OTHER_RECIPIENT = "initech-bank_77001"

# Names of the catalogue, importable by consumer tests so a typo fails at import time, not at verification.
EMPTY = "the sandbox is empty"
DONOR_APPLICANT = "a donor applicant exists"
VERIFIED_DONOR = "a verified donor applicant exists"
TOKEN_FOR_DAKOTA = "a share token exists for Dakota"
TOKEN_FOR_ANOTHER_CLIENT = "a share token was minted for another client"
TOKEN_EXPIRED = "a share token has expired"
TOKEN_REDEEMED = "a share token was redeemed"
TOKEN_INCOMPATIBLE = "a share token is incompatible (ID card only)"
TOKEN_NOT_APPROVED = "a share token's donor is not approved"
TOKEN_COMPANY = "a share token belongs to a company applicant"
APPLICATION_PENDING = "an imported application is pending"
ADMIN_KEY = "the caller has an admin key"
VIEWER_KEY = "the caller has a viewer key"

_DONOR_PARAMS = {
    "profile": "donor fixture profile (GET /_sandbox/profiles), default gb-passport",
    "clientId": f"the donor's Sumsub client, default {DONOR_CLIENT}",
    "externalUserId": "the donor applicant's externalUserId, default generated",
}
_TOKEN_PARAMS = {**_DONOR_PARAMS, "ttlInSecs": "the token's TTL in seconds, default 1200"}
_DONOR_RETURNS = {
    "applicantId": "the donor applicant's id (24 hex)",
    "externalUserId": "its externalUserId",
    "inspectionId": "its inspectionId",
    "clientId": "the donor's Sumsub client id",
    "levelName": "the donor's level",
    "appToken": "the donor client's X-App-Token",
}
_TOKEN_RETURNS = {
    **_DONOR_RETURNS,
    "token": "the share token",
    "forClientId": "the client it was minted for",
    "expiresAt": "when it expires (RFC 3339, simulated clock)",
    "ttlInSecs": "its TTL in seconds",
}
_APPLICATION_RETURNS = {
    **_TOKEN_RETURNS,
    "customerId": "the Dakota customer the import created",
    "applicationId": "its pending individual application",
    "applicationToken": "the X-Application-Token of that application",
    "applicationUrl": "the customer's application_url",
    "apiKey": "the Dakota admin key that imported it",
}


@dataclass(frozen=True)
class ProviderState:
    """One named state: what it sets up, what it accepts and what it answers."""

    name: str
    providers: tuple[str, ...]
    description: str
    setup: Callable[[Sandbox, dict[str, Any]], dict[str, Any]]
    params: dict[str, str] = field(default_factory=dict)
    returns: dict[str, str] = field(default_factory=dict)
    example: dict[str, Any] = field(default_factory=dict)
    resets: bool = True

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "providers": list(self.providers),
            "description": self.description,
            "resets_sandbox": self.resets,
            "params": dict(self.params),
            "returns": dict(self.returns),
            "example": {"state": self.name, "params": dict(self.example)},
        }


# ---------------------------------------------------------------------------------------------- building blocks
def _str_param(params: dict[str, Any], name: str, default: str | None = None) -> str | None:
    value = params.get(name, default)
    if value is not None and (not isinstance(value, str) or not value):
        raise ControlError(f"provider state param {name!r} must be a non-empty string", field=name)
    return value


def _donor(sb: Sandbox, tx: Tx, params: dict[str, Any], default_profile: str) -> dict[str, Any]:
    body: dict[str, Any] = {"profile": _str_param(params, "profile", default_profile)}
    body["client_id"] = _str_param(params, "clientId", DONOR_CLIENT)
    ext = _str_param(params, "externalUserId")
    if ext is not None:
        body["external_user_id"] = ext
    made = service.create_donor(tx, sb.rt, sb.sumsub, body)
    client = service.donor_client(tx, made["client_id"], sb.sumsub)
    applicant = sb.sumsub.applicants.get(tx, client, made["applicant_id"])
    return {
        "applicantId": applicant.id,
        "externalUserId": applicant.external_user_id,
        "inspectionId": applicant.inspection_id,
        "clientId": client.client_id,
        "levelName": applicant.level_name,
        "appToken": client.app_token,
    }


def _token(
    sb: Sandbox, params: dict[str, Any], *, profile: str = "gb-passport", for_client: str | None = None
) -> dict[str, Any]:
    ttl = params.get("ttlInSecs")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0):
        raise ControlError("provider state param 'ttlInSecs' must be a positive integer", field="ttlInSecs")
    with sb.rt.store.write() as tx:
        out = _donor(sb, tx, params, profile)
        minted = service.mint(
            tx,
            sb.rt,
            sb.sumsub,
            {
                "applicant_id": out["applicantId"],
                "client_id": out["clientId"],
                "for_client_id": for_client or sb.rt.settings.dakota_client_id,
                "ttl_in_secs": ttl,
            },
        )
    return {
        **out,
        "token": minted["token"],
        "forClientId": minted["forClientId"],
        "expiresAt": iso(minted["expires_at"]),
        "ttlInSecs": minted["ttl_in_secs"],
    }


def _admin_key(sb: Sandbox) -> dakota_queries.KeyRow:
    with sb.rt.store.read() as tx:
        for key in sorted(dakota_queries.api_keys(tx), key=lambda k: k.key):
            if key.role == "admin" and "manage_compliance_applications" in key.permissions:
                return key
    raise ControlError("no seeded Dakota admin key", status=500)


def _key_of_role(sb: Sandbox, role: str) -> str:
    with sb.rt.store.read() as tx:
        for key in dakota_queries.api_keys(tx):
            if key.role == role:
                return key.key
    raise ControlError(f"no seeded Dakota {role} key", status=500)


def _import(sb: Sandbox, token: str) -> dict[str, Any]:
    """Redeem through Dakota's bulk import, as `POST /customers/bulk-import-sumsub-tokens` would."""
    key = _admin_key(sb)
    row = sb.dakota.importer.import_one(key, token)
    if not row.get("success"):
        raise ControlError(f"the import of the state's token failed: {row.get('error')}", status=500)
    with sb.rt.store.read() as tx:
        app = dakota_queries.application(tx, row["application_id"])
        assert app is not None
        return {
            "customerId": row["customer_id"],
            "applicationId": app.id,
            "applicationToken": app.token,
            "applicationUrl": sb.dakota.applications.application_url(app),
            "apiKey": key.key,
        }


# ---------------------------------------------------------------------------------------------- the states
def _empty(_sb: Sandbox, _params: dict[str, Any]) -> dict[str, Any]:
    return {}


def _donor_applicant(sb: Sandbox, params: dict[str, Any]) -> dict[str, Any]:
    ext = _str_param(params, "externalUserId")
    level = _str_param(params, "levelName", "basic-kyc-level")
    with sb.rt.store.write() as tx:
        client = service.donor_client(tx, _str_param(params, "clientId", DONOR_CLIENT), sb.sumsub)
        body = {"externalUserId": ext or f"user-{sb.rt.ids.hex(8)}"}
        a = sb.sumsub.applicants.create(tx, client, level, body)
        return {
            "applicantId": a.id,
            "externalUserId": a.external_user_id,
            "inspectionId": a.inspection_id,
            "clientId": client.client_id,
            "levelName": a.level_name,
            "appToken": client.app_token,
        }


def _verified_donor(sb: Sandbox, params: dict[str, Any]) -> dict[str, Any]:
    with sb.rt.store.write() as tx:
        return _donor(sb, tx, params, "gb-passport")


def _token_for_dakota(sb: Sandbox, params: dict[str, Any]) -> dict[str, Any]:
    return _token(sb, params)


def _token_for_another(sb: Sandbox, params: dict[str, Any]) -> dict[str, Any]:
    return _token(sb, params, for_client=_str_param(params, "forClientId", OTHER_RECIPIENT))


def _token_expired(sb: Sandbox, params: dict[str, Any]) -> dict[str, Any]:
    out = _token(sb, params)
    with sb.rt.store.write() as tx:
        sb.rt.clock.advance(tx, float(out["ttlInSecs"]) + 60)
    sb.tick()
    return out


def _token_imported(sb: Sandbox, params: dict[str, Any]) -> dict[str, Any]:
    """A token imported at Dakota: it is spent, and its customer's application is pending."""
    out = _token(sb, params)
    return {**out, **_import(sb, out["token"])}


def _token_of_profile(profile: str) -> Callable[[Sandbox, dict[str, Any]], dict[str, Any]]:
    def setup(sb: Sandbox, params: dict[str, Any]) -> dict[str, Any]:
        return _token(sb, {**params, "profile": params.get("profile", profile)})

    return setup


def _caller_key(role: str) -> Callable[[Sandbox, dict[str, Any]], dict[str, Any]]:
    def setup(sb: Sandbox, _params: dict[str, Any]) -> dict[str, Any]:
        return {"apiKey": _key_of_role(sb, role)}

    return setup


CATALOGUE: dict[str, ProviderState] = {
    s.name: s
    for s in [
        ProviderState(
            EMPTY,
            ("sumsub", "dakota"),
            "The seeded sandbox and nothing else: no applicants, tokens, customers or webhooks.",
            _empty,
        ),
        ProviderState(
            DONOR_APPLICANT,
            ("sumsub",),
            "A donor applicant just created (no documents, review `init`), as after `POST /resources/applicants`.",
            _donor_applicant,
            params={
                "externalUserId": "default generated",
                "levelName": "default basic-kyc-level",
                "clientId": f"default {DONOR_CLIENT}",
            },
            returns=_DONOR_RETURNS,
            example={"externalUserId": "user-001"},
        ),
        ProviderState(
            VERIFIED_DONOR,
            ("sumsub",),
            "A donor applicant created from a fixture profile: documents uploaded and reviewed GREEN.",
            _verified_donor,
            params=_DONOR_PARAMS,
            returns=_DONOR_RETURNS,
            example={"profile": "gb-passport"},
        ),
        ProviderState(
            TOKEN_FOR_DAKOTA,
            ("sumsub", "dakota"),
            "A verified donor applicant and an active share token minted for Dakota's Sumsub client.",
            _token_for_dakota,
            params=_TOKEN_PARAMS,
            returns=_TOKEN_RETURNS,
            example={"profile": "us-ssn"},
        ),
        ProviderState(
            TOKEN_FOR_ANOTHER_CLIENT,
            ("sumsub", "dakota"),
            "A share token minted for another recipient (Dakota's import fails: not issued for Dakota).",
            _token_for_another,
            params={**_TOKEN_PARAMS, "forClientId": f"the recipient, default {OTHER_RECIPIENT}"},
            returns=_TOKEN_RETURNS,
        ),
        ProviderState(
            TOKEN_EXPIRED,
            ("sumsub", "dakota"),
            "A share token whose TTL has passed: the simulated clock was moved TTL + 60 s forward.",
            _token_expired,
            params=_TOKEN_PARAMS,
            returns=_TOKEN_RETURNS,
            example={"ttlInSecs": 600},
        ),
        ProviderState(
            TOKEN_REDEEMED,
            ("sumsub", "dakota"),
            "A share token already redeemed by Dakota's bulk import (tokens are single use).",
            _token_imported,
            params=_TOKEN_PARAMS,
            returns=_APPLICATION_RETURNS,
        ),
        ProviderState(
            TOKEN_INCOMPATIBLE,
            ("sumsub", "dakota"),
            "A share token of a donor verified with an ID card only, which Dakota's level does not accept (10513).",
            _token_of_profile("id-card-only"),
            params=_TOKEN_PARAMS,
            returns=_TOKEN_RETURNS,
        ),
        ProviderState(
            TOKEN_NOT_APPROVED,
            ("sumsub", "dakota"),
            "A share token of a donor whose review is not approved (redemption fails with 10507).",
            _token_of_profile("not-approved"),
            params=_TOKEN_PARAMS,
            returns=_TOKEN_RETURNS,
        ),
        ProviderState(
            TOKEN_COMPANY,
            ("sumsub", "dakota"),
            "A share token of a company applicant (Dakota imports individuals only).",
            _token_of_profile("business"),
            params=_TOKEN_PARAMS,
            returns=_TOKEN_RETURNS,
        ),
        ProviderState(
            APPLICATION_PENDING,
            ("dakota",),
            "A share token imported by Dakota: a customer with a pending individual application (Step 3 to do).",
            _token_imported,
            params=_TOKEN_PARAMS,
            returns=_APPLICATION_RETURNS,
            example={"profile": "gb-passport"},
        ),
        ProviderState(
            ADMIN_KEY,
            ("dakota",),
            "Returns the seeded Dakota admin key (has manage_compliance_applications). Changes nothing.",
            _caller_key("admin"),
            returns={"apiKey": "the admin x-api-key"},
            resets=False,
        ),
        ProviderState(
            VIEWER_KEY,
            ("dakota",),
            "Returns the seeded Dakota viewer key (no permissions: the bulk import answers 401). Changes nothing.",
            _caller_key("viewer"),
            returns={"apiKey": "the viewer x-api-key"},
            resets=False,
        ),
    ]
}


def apply(sb: Sandbox, action: str, state: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run one state change; answers the values Pact injects into requests."""
    if action == "teardown":
        return {}
    if state == "":
        sb.reset()
        return {}
    entry = CATALOGUE.get(state)
    if entry is None:
        known = "; ".join(CATALOGUE)
        raise ControlError(f"unknown provider state {state!r}; known states: {known}", status=400, field="state")
    unknown = sorted(set(params) - set(entry.params))
    if unknown:
        allowed = ", ".join(entry.params) or "none"
        raise ControlError(
            f"provider state {state!r} takes no param(s) {', '.join(unknown)}; its params: {allowed}", field="params"
        )
    if entry.resets:
        sb.reset()
    return entry.setup(sb, params)
