"""Dakota's HTTP surface: parse, call one service method, serialize."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from simulator.dakota import auth
from simulator.dakota import problems as p
from simulator.dakota.applications import INCLUDE_VALUES, paginate
from simulator.http import ok, parse_json_or, read_args, sandbox

bp = Blueprint("dakota", __name__)


@bp.post("/customers/bulk-import-sumsub-tokens")
def bulk_import_sumsub_tokens() -> Response:
    sb = sandbox()
    result = sb.importer.handle(
        api_key=request.headers.get("x-api-key"),
        idempotency_key=request.headers.get("x-idempotency-key"),
        raw_body=request.get_data(cache=True),
        path=request.path,
    )
    resp = ok(result.body, result.status)
    if result.replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


@bp.get("/customers")
def list_customers() -> Response:
    sb = sandbox()
    with sb.rt.store.read() as session:
        key = auth.authenticate(session, request.headers.get("x-api-key"))
        return ok(sb.applications.list_customers(session, key, read_args()))


@bp.get("/customers/<customer_id>")
def get_customer(customer_id: str) -> Response:
    sb = sandbox()
    key = auth.authenticate_in(sb.rt.store, request.headers.get("x-api-key"))
    return ok(sb.applications.customer_view(key, customer_id))


@bp.get("/applications")
def list_applications() -> Response:
    sb = sandbox()
    with sb.rt.store.read() as session:
        key = auth.authenticate(session, request.headers.get("x-api-key"))
        return ok(sb.applications.list_applications(session, key, read_args()))


@bp.get("/applications/<application_id>")
def get_application(application_id: str) -> Response:
    sb = sandbox()
    raw = request.args.get("include")
    include = None if raw is None else {x.strip() for x in raw.split(",") if x.strip()}
    unknown = (include or set()) - set(INCLUDE_VALUES)
    if unknown:
        raise p.invalid(
            f"include: unknown value(s) {', '.join(sorted(unknown))}; use {', '.join(INCLUDE_VALUES)}",
            "include",
        )
    token = request.headers.get("X-Application-Token")
    if not token and request.headers.get("x-api-key"):
        raise p.DakotaProblem(
            403,
            "This operation authenticates with X-Application-Token (see the customer's application_url)",
        )
    return ok(sb.applications.application_view(application_id, token, include))


# ---------------------------------------------------------------------- customers and Step 3
def _api_key(session: Any) -> Any:
    return auth.authenticate(session, request.headers.get("x-api-key"))


def _idempotent(owner: str, execute: Callable[[Any], tuple[int, dict[str, Any]]]) -> Response:
    """Run a POST once per (caller, x-idempotency-key), in one write transaction with its claim and stored response;
    a repeat replays the first response."""
    outcome = sandbox().importer.idempotency.run(
        owner,
        request.headers.get("x-idempotency-key"),
        request.method,
        request.path,
        request.get_data(cache=True),
        execute,
    )
    resp = Response(status=204) if outcome.status == 204 else ok(outcome.body, outcome.status)
    if outcome.replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


def _body() -> Any:
    return parse_json_or(p.invalid)


def _keyed_post(status: int, action: Callable[[Any, Any, Any], dict[str, Any]]) -> Response:
    """x-api-key POSTs: authenticate, parse the body, then run `action(session, key, body)` once per idempotency key.
    Who may call the operation (its roles) was checked at the edge (`apispec.enforce`)."""
    sb = sandbox()
    with sb.rt.store.read() as session:
        key = _api_key(session)
    body = _body()

    return _idempotent(key.key, lambda session: (status, action(session, key, body)))


@bp.post("/customers")
def create_customer() -> Response:
    return _keyed_post(201, sandbox().onboarding.create_customer)


def _with_application(application_id: str, action: Callable[[Any, Any], tuple[int, dict[str, Any]]]) -> Response:
    """X-Application-Token operations: authenticate the token, then run `action(session, application)`."""
    sb = sandbox()
    token = request.headers.get("X-Application-Token")
    with sb.rt.store.read() as session:
        sb.applications.application_by_token(session, application_id, token)

    def execute(session: Any) -> tuple[int, dict[str, Any]]:
        return action(session, sb.applications.application_by_token(session, application_id, token))

    if request.method == "POST":
        return _idempotent(f"app:{token}", execute)
    with sb.rt.store.write() as session:
        status, body = execute(session)
    return ok(body, status)


@bp.put("/applications/<application_id>/individual-details")
def update_individual_details(application_id: str) -> Response:
    sb = sandbox()
    body = _body()
    return _with_application(
        application_id, lambda s, app: (200, sb.onboarding.update_individual_details(s, app, body))
    )


@bp.post("/applications/<application_id>/associated-individuals/<individual_id>/documents")
def upload_individual_document(application_id: str, individual_id: str) -> Response:
    sb = sandbox()
    body = _body()
    return _with_application(
        application_id, lambda s, app: (201, sb.onboarding.upload_document(s, app, individual_id, body))
    )


@bp.post("/applications/<application_id>/attestations")
def submit_attestation(application_id: str) -> Response:
    sb = sandbox()
    body = _body()

    def action(s: Any, app: Any) -> tuple[int, dict[str, Any]]:
        sb.onboarding.attest(s, app, body)
        return 204, {}

    return _with_application(application_id, action)


@bp.post("/applications/<application_id>/submissions")
def submit_application(application_id: str) -> Response:
    sb = sandbox()
    return _with_application(application_id, lambda s, app: (200, sb.onboarding.submit(s, app)))


@bp.post("/sandbox/simulate/onboarding")
def simulate_onboarding() -> Response:
    return _keyed_post(200, sandbox().onboarding.simulate)


# ---------------------------------------------------------------------- webhooks and events
@bp.post("/webhooks/targets")
def create_webhook_target() -> Response:
    hooks = sandbox().webhooks
    return _keyed_post(201, lambda s, key, body: hooks.target_dict(hooks.create_target(s, key.organization_id, body)))


@bp.get("/webhooks/targets")
def list_webhook_targets() -> Response:
    sb = sandbox()
    with sb.rt.store.read() as session:
        key = _api_key(session)
        rows = sb.webhooks.targets(session, key.organization_id)
        page, meta = paginate(rows, read_args(), lambda t: t.id)
        return ok({"data": [sb.webhooks.target_dict(t) for t in page], "meta": meta})


@bp.get("/webhooks/targets/<target_id>")
def get_webhook_target(target_id: str) -> Response:
    sb = sandbox()
    with sb.rt.store.read() as session:
        key = _api_key(session)
        return ok(sb.webhooks.target_dict(sb.webhooks.target(session, key.organization_id, target_id)))


@bp.patch("/webhooks/targets/<target_id>")
def update_webhook_target(target_id: str) -> Response:
    sb = sandbox()
    body = _body()
    with sb.rt.store.write() as session:
        key = _api_key(session)
        return ok(sb.webhooks.target_dict(sb.webhooks.update_target(session, key.organization_id, target_id, body)))


@bp.delete("/webhooks/targets/<target_id>")
def delete_webhook_target(target_id: str) -> Response:
    sb = sandbox()
    with sb.rt.store.write() as session:
        key = _api_key(session)
        sb.webhooks.delete_target(session, key.organization_id, target_id)
    return Response(status=204)


@bp.get("/events")
def list_events() -> Response:
    sb = sandbox()
    with sb.rt.store.read() as session:
        key = _api_key(session)
        ids = sb.webhooks.event_ids(session, key.organization_id)
        page, meta = paginate(ids, read_args(), lambda event_id: event_id)
        return ok({"data": sb.webhooks.event_envelopes(session, page), "meta": meta})


@bp.get("/webhooks")
def webhook_history() -> Response:
    sb = sandbox()
    with sb.rt.store.read() as session:
        key = _api_key(session)
        return ok(sb.webhooks.history(session, key.organization_id, read_args()))


@bp.get("/webhooks/<event_id>")
def webhook_delivery(event_id: str) -> Response:
    sb = sandbox()
    with sb.rt.store.read() as session:
        key = _api_key(session)
        return ok(sb.webhooks.delivery(session, key.organization_id, event_id))


@bp.post("/webhooks/events/<event_id>/replay")
def replay_webhook(event_id: str) -> Response:
    sb = sandbox()
    with sb.rt.store.write() as session:
        key = _api_key(session)
        return ok(sb.webhooks.replay(session, key.organization_id, event_id))
