"""The /_sandbox control plane: public, documented, stable. Scenarios and plugins use only these endpoints."""

from __future__ import annotations

import os
import time
from typing import Any

from flask import Blueprint, Response, request

from simulator import __version__
from simulator.control import pact_states, service
from simulator.control.current import sandbox
from simulator.core import journal
from simulator.core.clock import instant
from simulator.core.errors import ControlError
from simulator.http import ok, parse_json_or, scope_errors
from simulator.sumsub.profiles import load_profiles

bp = Blueprint("control", __name__, url_prefix="/_sandbox")
scope_errors(bp, "control")


def _body() -> dict[str, Any]:
    body = parse_json_or(ControlError) if request.get_data(cache=True).strip() else {}
    if not isinstance(body, dict):
        raise ControlError("request body must be a JSON object")
    return body


@bp.get("/health")
def health() -> Response:
    sb = sandbox()
    return ok(
        {
            "status": "ok",
            "version": __version__,
            "store": "sqlite" if sb.rt.store.is_sqlite else "postgresql",
            "clock": sb.rt.clock.describe(),
            "dakota_client_id": sb.rt.settings.dakota_client_id,
            "pid": os.getpid(),
        }
    )


@bp.get("/credentials")
def credentials() -> Response:
    sb = sandbox()
    with sb.rt.store.read() as tx:
        return ok(service.credentials(tx, sb.rt, sb.sumsub))


@bp.post("/reset")
def reset() -> Response:
    sb = sandbox()
    started = time.perf_counter()
    sb.reset()
    return ok({"reset": True, "took_ms": round((time.perf_counter() - started) * 1000, 2)})


@bp.get("/clock")
def get_clock() -> Response:
    return ok(sandbox().rt.clock.describe())


@bp.post("/clock")
def set_clock() -> Response:
    """`{"now": "<RFC 3339>" | epoch seconds, "frozen": bool}`: jump forward and/or freeze time (the body's shape is
    the contract's)."""
    sb = sandbox()
    body = _body()
    epoch = instant(body["now"]) if "now" in body else None
    with sb.rt.store.write() as tx:
        sb.rt.clock.set(tx, epoch=epoch, frozen=body.get("frozen"))
    fired = sb.tick()
    return ok({**sb.rt.clock.describe(), "fired": fired})


@bp.post("/clock/advance")
def advance_clock() -> Response:
    """`{"seconds": N}`: move simulated time forward (a number, 0 to ten years: the contract's range)."""
    sb = sandbox()
    seconds = _body()["seconds"]
    with sb.rt.store.write() as tx:
        sb.rt.clock.advance(tx, float(seconds))
    fired = sb.tick()  # what became due: auto decisions, webhook retries
    return ok({**sb.rt.clock.describe(), "advanced_by": seconds, "fired": fired})


@bp.get("/profiles")
def profiles() -> Response:
    return ok(
        {
            "profiles": [
                {
                    "name": name,
                    "description": p.get("description", ""),
                    "level": p.get("level"),
                    "type": p.get("type", "individual"),
                }
                for name, p in load_profiles().items()
            ]
        }
    )


@bp.post("/donors")
def create_donor() -> Response:
    sb = sandbox()
    with sb.rt.store.write() as tx:
        return ok(service.create_donor(tx, sb.rt, sb.sumsub, _body()), 201)


@bp.post("/share-tokens")
def mint_share_token() -> Response:
    sb = sandbox()
    with sb.rt.store.write() as tx:
        return ok(service.mint(tx, sb.rt, sb.sumsub, _body()), 201)


@bp.get("/share-tokens")
def share_token_status() -> Response:
    sb = sandbox()
    with sb.rt.store.read() as tx:
        status = sb.sumsub.share_tokens.status(tx, request.args["token"])  # required by the contract
    if status is None:
        raise ControlError("no such share token", status=404, field="token")
    return ok(status)


@bp.get("/journal")
def get_journal() -> Response:
    sb = sandbox()
    args = request.args  # integers in range and a known api: the contract checked them
    limit, since, api = int(args.get("limit", 100)), int(args.get("since_id", 0)), args.get("api")
    sb.flush_journal()  # this process's own requests first; other workers flush every half second
    with sb.rt.store.read() as tx:
        return ok({"entries": journal.entries(tx, limit=limit, api=api, since_id=since)})


@bp.get("/webhooks/public-key")
def webhook_public_key() -> Response:
    """The Ed25519 key Dakota webhooks from this sandbox are signed with."""
    return ok(sandbox().dakota.events.public_key())


@bp.get("/webhooks/outbox")
def webhook_outbox() -> Response:
    """Every queued delivery of both fakes: `?status=pending|delivering|delivered|failed&kind=dakota|sumsub`."""
    sb = sandbox()
    status, kind = request.args.get("status"), request.args.get("kind")  # known values: the contract checked them
    with sb.rt.store.read() as tx:
        return ok({"items": [sb.outbox.to_dict(i) for i in sb.outbox.items(tx, status=status, kind=kind)]})


@bp.post("/webhooks/dispatch")
def webhook_dispatch() -> Response:
    """Deliver what is due now (and settle due auto-decisions); says what fired."""
    return ok({"fired": sandbox().tick()})


@bp.get("/sumsub/webhooks")
def sumsub_webhooks() -> Response:
    sb = sandbox()
    with sb.rt.store.read() as tx:
        return ok({"clients": service.sumsub_webhooks(tx)})


@bp.post("/sumsub/webhooks")
def configure_sumsub_webhook() -> Response:
    """`{"client_id", "url" | null, "secret"?, "alg"?}`: where a client's webhooks go and how they are signed."""
    sb = sandbox()
    with sb.rt.store.write() as tx:
        return ok(service.configure_sumsub_webhook(tx, sb.rt, _body()))


@bp.get("/settings")
def get_runtime_settings() -> Response:
    sb = sandbox()
    with sb.rt.store.read() as tx:
        return ok(service.runtime_settings(tx, sb.rt))


@bp.post("/settings")
def set_runtime_settings() -> Response:
    """`{"auto_approve_after_seconds": N | null}`: approve submitted applications after N simulated seconds."""
    sb = sandbox()
    with sb.rt.store.write() as tx:
        return ok(service.update_runtime_settings(tx, sb.rt, _body()))


@bp.get("/faults")
def get_faults() -> Response:
    sb = sandbox()
    with sb.rt.store.read() as tx:
        return ok(sb.faults.config(tx))


@bp.post("/faults")
def set_faults() -> Response:
    """`{"seed": N, "rules": [rule, ...]}`: replace the fault rules (see simulator/faults.py)."""
    sb = sandbox()
    with sb.rt.store.write() as tx:
        return ok(sb.faults.configure(tx, _body()))


@bp.delete("/faults")
def clear_faults() -> Response:
    sb = sandbox()
    with sb.rt.store.write() as tx:
        return ok(sb.faults.configure(tx, {"rules": []}))


@bp.get("/rate-limits")
def get_rate_limits() -> Response:
    sb = sandbox()
    with sb.rt.store.read() as tx:
        return ok(sb.faults.limits(tx))


@bp.post("/rate-limits")
def set_rate_limits() -> Response:
    """`{"sumsub": {"enabled": true, "get": 300, "post": 50}, "dakota": {"enabled": true, ...}}`."""
    sb = sandbox()
    with sb.rt.store.write() as tx:
        return ok(sb.faults.configure_limits(tx, _body()))


# ---------------------------------------------------------------------- Pact provider states
@bp.get("/pact/provider-states")
def pact_state_catalogue() -> Response:
    return ok({"states": [s.describe() for s in pact_states.CATALOGUE.values()]})


@bp.post("/pact/provider-states")
def change_pact_state() -> Response:
    """Set up (or tear down) a Pact provider state (see `simulator.control.pact_states`)."""
    body = parse_json_or(ControlError) if request.get_data(cache=True).strip() else {}
    if not isinstance(body, dict):
        raise ControlError("request body must be a JSON object")
    action = body.get("action", "setup")
    if action not in ("setup", "teardown"):
        raise ControlError("action must be setup or teardown", field="action")
    state = body.get("state", "")
    if not isinstance(state, str):
        raise ControlError("state must be a string", field="state")
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise ControlError("params must be a JSON object", field="params")
    return ok(pact_states.apply(sandbox(), action, state, params))
