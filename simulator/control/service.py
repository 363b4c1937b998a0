"""Control-plane operations (no Flask): credentials, donor and token shortcuts, Sumsub webhooks, settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from simulator.core.errors import ControlError
from simulator.core.runtime import Runtime
from simulator.core.tx import Tx
from simulator.dakota import queries as dakota_queries
from simulator.dakota.onboarding import RUNTIME_STATE
from simulator.sumsub import queries as sumsub_queries
from simulator.sumsub.backend import Sumsub
from simulator.sumsub.errors import SumsubError
from simulator.sumsub.profiles import create_from_profile, load_profiles
from simulator.sumsub.signing import DIGEST_ALGS


def credentials(tx: Tx, rt: Runtime, sumsub: Sumsub) -> dict[str, Any]:
    base = rt.settings.resolved_base_url
    clients = sorted(sumsub.workspaces.clients(tx).values(), key=lambda c: (c.role, c.client_id))
    clients.sort(key=lambda c: c.role, reverse=True)  # recipients first, as a reader looks for Dakota's
    partners = sumsub.workspaces.partnerships(tx)
    out_clients = []
    for c in clients:
        entry = c.to_credentials()
        entry["shares_with"] = sorted(r for d, r in partners if d == c.client_id)
        out_clients.append(entry)
    return {
        "sumsub": {
            "base_url": base,
            "dakota_client_id": rt.settings.dakota_client_id,
            "clients": out_clients,
            "levels": sorted(sumsub_queries.all_levels(tx)),
        },
        "dakota": {"base_url": base, "api_keys": [k.to_credentials() for k in dakota_queries.api_keys(tx)]},
    }


@contextmanager
def _control_envelope() -> Iterator[None]:
    """The shortcuts run the Sumsub fake's own checks; their refusals are answered as control-plane errors."""
    try:
        yield
    except SumsubError as err:
        raise ControlError(err.description, status=err.status) from err


def donor_client(tx: Tx, client_id: Any, sumsub: Sumsub) -> sumsub_queries.ClientRef:
    """The named Sumsub client, or the first donor."""
    clients = sumsub.workspaces.clients(tx)
    if client_id is None:
        donors = sorted(c.client_id for c in clients.values() if c.role == "donor")
        if not donors:
            raise ControlError("No donor Sumsub client is configured", status=404, field="client_id")
        client_id = donors[0]
    if not isinstance(client_id, str):
        raise ControlError("client_id must be a string", field="client_id")
    c = clients.get(client_id)
    if c is None:
        raise ControlError(f"Unknown Sumsub client {client_id!r}", status=404, field="client_id")
    return c


def create_donor(tx: Tx, rt: Runtime, sumsub: Sumsub, body: dict[str, Any]) -> dict[str, Any]:
    """Create a donor applicant from a fixture profile; with `share_with`, also mint a share token for it."""
    profile = body.get("profile")
    if not isinstance(profile, str) or profile not in load_profiles():
        raise ControlError(f"profile must be one of: {', '.join(sorted(load_profiles()))}", field="profile", status=400)
    ext = body.get("external_user_id")
    if ext is not None and (not isinstance(ext, str) or not ext):
        raise ControlError("external_user_id must be a non-empty string", field="external_user_id")
    client = donor_client(tx, body.get("client_id"), sumsub)
    with _control_envelope():
        a = create_from_profile(sumsub, tx, client, profile, external_user_id=ext)
    out: dict[str, Any] = {
        "applicant_id": a.id,
        "client_id": client.client_id,
        "external_user_id": a.external_user_id,
        "profile": profile,
        "level_name": a.level_name,
        "review_status": a.review.get("reviewStatus"),
        "review_answer": (a.review.get("reviewResult") or {}).get("reviewAnswer"),
    }
    if "share_with" in body:
        out["share_token"] = mint(tx, rt, sumsub, {**body, "applicant_id": a.id, "client_id": client.client_id})
    return out


def mint(tx: Tx, rt: Runtime, sumsub: Sumsub, body: dict[str, Any]) -> dict[str, Any]:
    """Mint a share token as the donor would (same checks as the Sumsub endpoint)."""
    client = donor_client(tx, body.get("client_id"), sumsub)
    for_client = body.get("share_with", body.get("for_client_id")) or rt.settings.dakota_client_id
    with _control_envelope():
        token = sumsub.share_tokens.mint(tx, client, body.get("applicant_id"), for_client, body.get("ttl_in_secs"))
    return {
        "token": token.token,
        "forClientId": token.for_client_id,
        "expires_at": token.expires_at,
        "ttl_in_secs": token.ttl_seconds,
    }


def sumsub_webhooks(tx: Tx) -> list[dict[str, Any]]:
    return [
        {"client_id": c.client_id, "url": c.webhook_url, "secret": c.webhook_secret, "alg": c.webhook_alg}
        for c in sumsub_queries.client_entities(tx)
    ]


def configure_sumsub_webhook(tx: Tx, rt: Runtime, body: dict[str, Any]) -> dict[str, Any]:
    client_id = body.get("client_id")
    client = sumsub_queries.client_entity(tx, client_id) if isinstance(client_id, str) else None
    if client is None:
        raise ControlError("client_id must name a Sumsub client", status=404, field="client_id")
    url = body.get("url")
    if url is not None:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ControlError("url must be an absolute http(s) URL, or null to stop webhooks", field="url")
    secret = body.get("secret")
    if secret is not None and (not isinstance(secret, str) or not secret):
        raise ControlError("secret must be a non-empty string", field="secret")
    alg = body.get("alg", "HMAC_SHA256_HEX")
    if alg not in DIGEST_ALGS:
        raise ControlError(f"alg must be one of {', '.join(DIGEST_ALGS)}", field="alg")
    client.webhook_url = url
    client.webhook_secret = secret or client.webhook_secret or rt.ids.secret(32)
    client.webhook_alg = alg
    tx.mark_state_changed()  # workers keep clients for reading (sumsub.auth.Workspaces)
    return {"client_id": client.client_id, "url": url, "secret": client.webhook_secret, "alg": alg}


def runtime_settings(tx: Tx, rt: Runtime) -> dict[str, Any]:
    state = rt.store.get_state(tx, RUNTIME_STATE) or {}
    return {"auto_approve_after_seconds": state.get("auto_approve_after_seconds")}


def update_runtime_settings(tx: Tx, rt: Runtime, body: dict[str, Any]) -> dict[str, Any]:
    state = rt.store.get_state(tx, RUNTIME_STATE, for_update=True) or {}
    if "auto_approve_after_seconds" in body:
        delay = body["auto_approve_after_seconds"]
        if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0):
            raise ControlError(
                "auto_approve_after_seconds must be a number >= 0, or null to turn it off",
                field="auto_approve_after_seconds",
            )
        state["auto_approve_after_seconds"] = delay
    unknown = set(body) - {"auto_approve_after_seconds"}
    if unknown:
        raise ControlError(f"unknown setting(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    rt.store.put_state(tx, RUNTIME_STATE, state)
    return runtime_settings(tx, rt)
