"""Control-plane operations (no Flask): credentials, donor and token shortcuts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from simulator.core.errors import ControlError
from simulator.core.runtime import Runtime
from simulator.core.store import mark_state_changed
from simulator.dakota.models import ApiKey
from simulator.sumsub.errors import SumsubError
from simulator.sumsub.models import Level, Partnership, SumsubClient
from simulator.sumsub.profiles import create_from_profile, load_profiles
from simulator.sumsub.service import SumsubService


def credentials(session: Session, rt: Runtime) -> dict[str, Any]:
    base = rt.settings.resolved_base_url
    clients = list(session.scalars(select(SumsubClient).order_by(SumsubClient.role.desc(), SumsubClient.client_id)))
    partners = list(session.scalars(select(Partnership)))
    out_clients = []
    for c in clients:
        entry = c.to_credentials()
        entry["shares_with"] = sorted(p.recipient_client_id for p in partners if p.donor_client_id == c.client_id)
        out_clients.append(entry)
    keys = list(session.scalars(select(ApiKey).order_by(ApiKey.organization_id, ApiKey.role)))
    return {
        "sumsub": {
            "base_url": base,
            "dakota_client_id": rt.settings.dakota_client_id,
            "clients": out_clients,
            "levels": [lvl.name for lvl in session.scalars(select(Level).order_by(Level.name))],
        },
        "dakota": {"base_url": base, "api_keys": [k.to_credentials() for k in keys]},
    }


@contextmanager
def _control_envelope() -> Iterator[None]:
    """The shortcuts run the Sumsub service's own checks; their refusals are answered as control-plane errors."""
    try:
        yield
    except SumsubError as err:
        raise ControlError(err.description, status=err.status) from err


def donor_client(session: Session, client_id: Any, sumsub: SumsubService) -> SumsubClient:
    """The named Sumsub client, or the first donor: the worker's read-only copy (no query)."""
    if client_id is None:
        client_id = sumsub.rt.store.cached(session, "sumsub_default_donor", _first_donor_id)
        if client_id is None:
            raise ControlError("No donor Sumsub client is configured", status=404, field="client_id")
    if not isinstance(client_id, str):
        raise ControlError("client_id must be a string", field="client_id")
    c = sumsub.client_ref(session, client_id)
    if c is None:
        raise ControlError(f"Unknown Sumsub client {client_id!r}", status=404, field="client_id")
    return c


def _first_donor_id(session: Session) -> str | None:
    return session.scalar(
        select(SumsubClient.client_id).where(SumsubClient.role == "donor").order_by(SumsubClient.client_id)
    )


def create_donor(session: Session, rt: Runtime, sumsub: SumsubService, body: dict[str, Any]) -> dict[str, Any]:
    """Create a donor applicant from a fixture profile; with `share_with`, also mint a share token for it."""
    profile = body.get("profile")
    if not isinstance(profile, str) or profile not in load_profiles():
        raise ControlError(f"profile must be one of: {', '.join(sorted(load_profiles()))}", field="profile", status=400)
    ext = body.get("external_user_id")
    if ext is not None and (not isinstance(ext, str) or not ext):
        raise ControlError("external_user_id must be a non-empty string", field="external_user_id")
    client = donor_client(session, body.get("client_id"), sumsub)
    with _control_envelope():
        a = create_from_profile(sumsub, session, client, profile, external_user_id=ext)
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
        out["share_token"] = mint(session, rt, sumsub, {**body, "applicant_id": a.id, "client_id": client.client_id})
    sumsub.write_back(session, a)  # the last use of `a` in this transaction
    return out


def mint(session: Session, rt: Runtime, sumsub: SumsubService, body: dict[str, Any]) -> dict[str, Any]:
    """Mint a share token as the donor would (same checks as the Sumsub endpoint)."""
    client = donor_client(session, body.get("client_id"), sumsub)
    for_client = body.get("share_with", body.get("for_client_id")) or rt.settings.dakota_client_id
    with _control_envelope():
        result, row = sumsub.mint_share_token(
            session, client, body.get("applicant_id"), for_client, body.get("ttl_in_secs")
        )
    return {**result, "expires_at": row["expires_at"], "ttl_in_secs": row["ttl_seconds"]}


def sumsub_webhooks(session: Session) -> list[dict[str, Any]]:
    return [
        {"client_id": c.client_id, "url": c.webhook_url, "secret": c.webhook_secret, "alg": c.webhook_alg}
        for c in session.scalars(select(SumsubClient).order_by(SumsubClient.client_id))
    ]


def configure_sumsub_webhook(session: Session, rt: Runtime, body: dict[str, Any]) -> dict[str, Any]:
    from urllib.parse import urlsplit

    from simulator.webhooks.signing import DIGEST_ALGS

    client = session.get(SumsubClient, body.get("client_id")) if isinstance(body.get("client_id"), str) else None
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
    mark_state_changed(session)  # workers keep clients for reading (SumsubService.client_ref)
    return {"client_id": client.client_id, "url": url, "secret": client.webhook_secret, "alg": alg}


def runtime_settings(session: Session, rt: Runtime) -> dict[str, Any]:
    from simulator.dakota.onboarding import RUNTIME_STATE

    state = rt.store.get_state(session, RUNTIME_STATE) or {}
    return {"auto_approve_after_seconds": state.get("auto_approve_after_seconds")}


def update_runtime_settings(session: Session, rt: Runtime, body: dict[str, Any]) -> dict[str, Any]:
    from simulator.dakota.onboarding import RUNTIME_STATE

    state = rt.store.get_state(session, RUNTIME_STATE, for_update=True) or {}
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
    rt.store.put_state(session, RUNTIME_STATE, state)
    return runtime_settings(session, rt)
