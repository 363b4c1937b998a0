"""Dakota's HTTP surface: parse, call one service method, serialize."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, request

from simulator.core.store import Store
from simulator.core.tx import Tx
from simulator.dakota import auth
from simulator.dakota import errors as p
from simulator.dakota import queries as q
from simulator.dakota.applications import parse_include
from simulator.dakota.backend import Dakota
from simulator.http import ok, parse_json_or, read_args, scope_errors

bp = Blueprint("dakota", __name__)
scope_errors(bp, "dakota")
EXTENSION = "kyc_sandbox.dakota"  # the app's Dakota services, in `app.extensions`


def dakota() -> Dakota:
    d: Dakota = current_app.extensions[EXTENSION]
    return d


def store() -> Store:
    return dakota().rt.store


def _key() -> q.KeyRow:
    return auth.authenticate(store(), request.headers.get("x-api-key"))


def _body() -> Any:
    return parse_json_or(p.invalid)


@bp.post("/customers/bulk-import-sumsub-tokens")
def bulk_import_sumsub_tokens() -> Response:
    result = dakota().importer.handle(
        api_key=request.headers.get("x-api-key"),
        idempotency_key=request.headers.get("x-idempotency-key"),
        raw_body=request.get_data(cache=True),
        path=request.path,
    )
    resp = ok(result.body, result.status)
    if result.replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


# ---------------------------------------------------------------------- customers and applications
@bp.get("/customers")
def list_customers() -> Response:
    key = _key()
    with store().read() as tx:
        return ok(dakota().applications.list_customers(tx, key, read_args()))


@bp.get("/customers/<customer_id>")
def get_customer(customer_id: str) -> Response:
    return ok(dakota().applications.customer_view(_key(), customer_id))


@bp.post("/customers")
def create_customer() -> Response:
    return _keyed_post(201, dakota().onboarding.create_customer)


@bp.get("/applications")
def list_applications() -> Response:
    key = _key()
    with store().read() as tx:
        return ok(dakota().applications.list_applications(tx, key, read_args()))


@bp.get("/applications/<application_id>")
def get_application(application_id: str) -> Response:
    headers = request.headers
    view = dakota().applications.application_view(
        application_id,
        headers.get("X-Application-Token"),
        parse_include(request.args.get("include")),
        api_key_sent=bool(headers.get("x-api-key")),
    )
    return ok(view)


# ---------------------------------------------------------------------- Step 3
def _idempotent(owner: str, action: Callable[[Tx], tuple[int, dict[str, Any]]]) -> Response:
    """Run a POST once per (caller, x-idempotency-key), in one write transaction with its claim and stored response;
    a repeat replays the first response."""
    outcome = dakota().idempotency.run(
        owner,
        request.headers.get("x-idempotency-key"),
        request.method,
        request.path,
        request.get_data(cache=True),
        action,
    )
    resp = Response(status=204) if outcome.status == 204 else ok(outcome.body, outcome.status)
    if outcome.replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


def _keyed_post(status: int, action: Callable[[Tx, q.KeyRow, Any], dict[str, Any]]) -> Response:
    """x-api-key POSTs: authenticate, parse the body, then run `action(tx, key, body)` once per idempotency key.
    Who may call the operation (its roles) was checked at the edge (`apispec.enforce`)."""
    key = _key()
    body = _body()
    return _idempotent(key.key, lambda tx: (status, action(tx, key, body)))


def _with_application(
    application_id: str, action: Callable[[Tx, q.ApplicationRow], tuple[int, dict[str, Any]]]
) -> Response:
    """X-Application-Token operations: authenticate the token, then run `action(tx, application)`."""
    d, st = dakota(), store()
    token = request.headers.get("X-Application-Token")
    with st.read() as tx:
        d.applications.application_by_token(tx, application_id, token)

    def execute(tx: Tx) -> tuple[int, dict[str, Any]]:
        return action(tx, d.applications.application_by_token(tx, application_id, token))

    if request.method == "POST":
        return _idempotent(f"app:{token}", execute)
    with st.write() as tx:
        status, body = execute(tx)
    return ok(body, status)


@bp.put("/applications/<application_id>/individual-details")
def update_individual_details(application_id: str) -> Response:
    body = _body()
    onboarding = dakota().onboarding
    return _with_application(application_id, lambda tx, app: (200, onboarding.update_individual_details(tx, app, body)))


@bp.post("/applications/<application_id>/associated-individuals/<individual_id>/documents")
def upload_individual_document(application_id: str, individual_id: str) -> Response:
    body = _body()
    onboarding = dakota().onboarding
    return _with_application(
        application_id, lambda tx, app: (201, onboarding.upload_document(tx, app, individual_id, body))
    )


@bp.post("/applications/<application_id>/attestations")
def submit_attestation(application_id: str) -> Response:
    body = _body()
    onboarding = dakota().onboarding

    def action(tx: Tx, app: q.ApplicationRow) -> tuple[int, dict[str, Any]]:
        onboarding.attest(tx, app, body)
        return 204, {}

    return _with_application(application_id, action)


@bp.post("/applications/<application_id>/submissions")
def submit_application(application_id: str) -> Response:
    onboarding = dakota().onboarding
    return _with_application(application_id, lambda tx, app: (200, onboarding.submit(tx, app)))


@bp.post("/sandbox/simulate/onboarding")
def simulate_onboarding() -> Response:
    return _keyed_post(200, dakota().onboarding.simulate)


# ---------------------------------------------------------------------- webhooks and events
@bp.post("/webhooks/targets")
def create_webhook_target() -> Response:
    events = dakota().events
    return _keyed_post(
        201, lambda tx, key, body: events.target_dict(events.create_target(tx, key.organization_id, body))
    )


@bp.get("/webhooks/targets")
def list_webhook_targets() -> Response:
    key = _key()
    with store().read() as tx:
        return ok(dakota().events.list_targets(tx, key.organization_id, read_args()))


@bp.get("/webhooks/targets/<target_id>")
def get_webhook_target(target_id: str) -> Response:
    key = _key()
    events = dakota().events
    with store().read() as tx:
        return ok(events.target_dict(events.target(tx, key.organization_id, target_id)))


@bp.patch("/webhooks/targets/<target_id>")
def update_webhook_target(target_id: str) -> Response:
    key = _key()
    body = _body()
    events = dakota().events
    with store().write() as tx:
        return ok(events.target_dict(events.update_target(tx, key.organization_id, target_id, body)))


@bp.delete("/webhooks/targets/<target_id>")
def delete_webhook_target(target_id: str) -> Response:
    key = _key()
    with store().write() as tx:
        dakota().events.delete_target(tx, key.organization_id, target_id)
    return Response(status=204)


@bp.get("/events")
def list_events() -> Response:
    key = _key()
    with store().read() as tx:
        return ok(dakota().events.list_events(tx, key.organization_id, read_args()))


@bp.get("/webhooks")
def webhook_history() -> Response:
    key = _key()
    with store().read() as tx:
        return ok(dakota().events.history(tx, key.organization_id, read_args()))


@bp.get("/webhooks/<event_id>")
def webhook_delivery(event_id: str) -> Response:
    key = _key()
    with store().read() as tx:
        return ok(dakota().events.delivery(tx, key.organization_id, event_id))


@bp.post("/webhooks/events/<event_id>/replay")
def replay_webhook(event_id: str) -> Response:
    key = _key()
    with store().write() as tx:
        return ok(dakota().events.replay(tx, key.organization_id, event_id))
