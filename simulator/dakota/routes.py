"""Dakota's HTTP surface: parse, call one service method, serialize."""

from __future__ import annotations

from flask import Blueprint, Response, request

from simulator.app import ok, read_args, sandbox
from simulator.dakota import auth
from simulator.dakota import problems as p
from simulator.dakota.applications import INCLUDE_VALUES

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
    with sb.rt.store.read() as session:
        key = auth.authenticate(session, request.headers.get("x-api-key"))
        return ok(sb.applications.customer_dict(session, sb.applications.customer(session, key, customer_id)))


@bp.get("/applications")
def list_applications() -> Response:
    sb = sandbox()
    with sb.rt.store.read() as session:
        key = auth.authenticate(session, request.headers.get("x-api-key"))
        return ok(sb.applications.list_applications(session, key, read_args()))


@bp.get("/applications/<application_id>")
def get_application(application_id: str) -> Response:
    sb = sandbox()
    include = {x.strip() for x in request.args.get("include", "").split(",") if x.strip()}
    unknown = include - set(INCLUDE_VALUES)
    if unknown:
        raise p.invalid(
            f"include: unknown value(s) {', '.join(sorted(unknown))}; use {', '.join(INCLUDE_VALUES)}",
            "include",
        )
    with sb.rt.store.read() as session:
        token = request.headers.get("X-Application-Token")
        if not token and request.headers.get("x-api-key"):
            raise p.DakotaProblem(
                403,
                "This operation authenticates with X-Application-Token (see the customer's application_url)",
            )
        app = sb.applications.application_by_token(session, application_id, token)
        return ok(sb.applications.application_dict(session, app, include))
