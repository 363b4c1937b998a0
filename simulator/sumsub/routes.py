"""Sumsub's HTTP surface under /resources: parse, call one service method, serialize."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, g, request

from simulator.core.text import BodyError, UnstorableText, decode_json
from simulator.http import ok, parse_json_or, sandbox
from simulator.sumsub import errors as e
from simulator.sumsub import multipart
from simulator.sumsub.models import SumsubClient
from simulator.sumsub.service import REUSE_SCOPE

bp = Blueprint("sumsub", __name__, url_prefix="/resources")


class _Preview(Exception):
    """Raised to roll back a reuse preview after it ran every check."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__("preview")
        self.payload = payload


def path_with_query() -> str:
    """The request target exactly as the client sent (and signed) it."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return str(raw)
    path = quote(request.environ.get("PATH_INFO", ""), safe="/;=:@!$&'()*+,-._~")
    qs = request.environ.get("QUERY_STRING", "")
    return f"{path}?{qs}" if qs else path


@bp.before_request
def _authenticate() -> None:
    sb = sandbox()
    with sb.rt.store.read() as session:
        client = sb.sumsub.authenticate(
            session,
            app_token=request.headers.get("X-App-Token"),
            ts=request.headers.get("X-App-Access-Ts"),
            sig=request.headers.get("X-App-Access-Sig"),
            method=request.method,
            path_with_query=path_with_query(),
            body=request.get_data(cache=True),
        )
        session.expunge(client)
    g.sumsub_client = client


def client() -> SumsubClient:
    c: SumsubClient = g.sumsub_client
    return c


@bp.get("/status/api")
def api_health() -> Response:
    return ok({"ok": 1})


@bp.post("/applicants")
def create_applicant() -> Response:
    sb = sandbox()
    body = parse_json_or(e.bad_request)
    with sb.rt.store.write() as session:
        a = sb.sumsub.create_applicant(session, client(), request.args.get("levelName"), body)
        return ok(sb.sumsub.applicant_dict(session, a))


@bp.get("/applicants/<path:ident>/one")
def get_applicant(ident: str) -> Response:
    sb = sandbox()
    with sb.rt.store.read() as session:
        if ident.startswith("-;externalUserId="):
            a = sb.sumsub.get_by_external_id(session, client(), ident.split("=", 1)[1])
        else:
            a = sb.sumsub.get_applicant(session, client(), ident)
        return ok(sb.sumsub.applicant_dict(session, a))


@bp.get("/applicants/<applicant_id>/status")
def review_status(applicant_id: str) -> Response:
    sb = sandbox()
    with sb.rt.store.read() as session:
        return ok(sb.sumsub.status_dict(sb.sumsub.get_applicant(session, client(), applicant_id)))


@bp.get("/applicants/<applicant_id>/requiredIdDocsStatus")
def required_id_docs_status(applicant_id: str) -> Response:
    sb = sandbox()
    with sb.rt.store.read() as session:
        a = sb.sumsub.get_applicant(session, client(), applicant_id)
        return ok(sb.sumsub.required_id_docs_status(session, a))


@bp.post("/applicants/<applicant_id>/info/idDoc")
def add_id_doc(applicant_id: str) -> Response:
    sb = sandbox()
    try:
        parts = multipart.parse(request.get_data(cache=True), request.content_type)
    except multipart.MultipartError as exc:
        raise e.bad_request(str(exc)) from None
    meta = parts.get("metadata")
    try:
        metadata = decode_json(meta.data) if meta is not None and meta.data else None
    except UnstorableText as exc:
        raise e.bad_request(f"metadata.{exc.message}") from None
    except BodyError:
        raise e.bad_request("metadata part must be valid JSON") from None
    upload = parts.get("content")
    with sb.rt.store.write() as session:
        doc, image_id = sb.sumsub.add_id_doc(
            session,
            client(),
            applicant_id,
            metadata,
            upload.data if upload is not None else None,
            upload.filename if upload is not None else None,
            upload.content_type if upload is not None else None,
        )
    if request.headers.get("X-Return-Doc-Warnings", "").lower() == "true":
        doc = {**doc, "errors": []}
    resp = ok(doc)
    resp.headers["X-Image-Id"] = str(image_id)
    return resp


@bp.post("/applicants/<applicant_id>/status/pending")
def request_check(applicant_id: str) -> Response:
    """Request a check (`?reason=` is accepted and not kept)."""
    sb = sandbox()
    with sb.rt.store.write() as session:
        sb.sumsub.request_check(session, client(), applicant_id)
    return ok({"ok": 1})


@bp.post("/applicants/<applicant_id>/status/testCompleted")
def test_completed(applicant_id: str) -> Response:
    sb = sandbox()
    body = parse_json_or(e.bad_request)
    with sb.rt.store.write() as session:
        sb.sumsub.test_completed(session, client(), applicant_id, body)
    return ok({"ok": 1})


@bp.post("/accessTokens/sdk")
def sdk_access_token() -> Response:
    sb = sandbox()
    body = parse_json_or(e.bad_request)
    with sb.rt.store.read() as session:
        return ok(sb.sumsub.sdk_access_token(session, client(), body))


@bp.post("/accessTokens/shareToken")
def share_token() -> Response:
    sb = sandbox()
    body = parse_json_or(e.bad_request)
    if not isinstance(body, dict):
        raise e.bad_request("Request body must be a JSON object")
    with sb.rt.store.write() as session:
        return ok(
            sb.sumsub.generate_share_token(
                session, client(), body.get("applicantId"), body.get("forClientId"), body.get("ttlInSecs")
            )
        )


@bp.post("/accessTokens/-/shareToken")
def share_token_query() -> Response:
    sb = sandbox()
    a = request.args
    with sb.rt.store.write() as session:
        return ok(
            sb.sumsub.generate_share_token(
                session, client(), a.get("applicantId"), a.get("forClientId"), a.get("ttlInSecs")
            )
        )


@bp.post("/applicants/-/import")
def import_by_share_token() -> Response:
    """Copy Applicant: no rechecks, the copy inherits the donor's data for this client's level."""
    sb = sandbox()
    token = request.args.get("shareToken")
    if not token:
        raise e.bad_request("shareToken query parameter is required")
    me = client()
    with sb.rt.store.write() as session:
        level = request.args.get("levelName") or _default_level(session, sb, me)
        red = sb.sumsub.redeem(session, me, token, level_name=level, rechecks=False, scope=REUSE_SCOPE)
        return ok(sb.sumsub.applicant_dict(session, red.applicant))


@bp.post("/api/reusableIdentity/reuse")
def reuse() -> Response:
    sb = sandbox()
    token, level = _reuse_args()
    with sb.rt.store.write() as session:
        red = sb.sumsub.redeem(
            session,
            client(),
            token,
            level_name=level,
            user_id=request.args.get("userId"),
            scope=REUSE_SCOPE,
        )
        return ok(sb.sumsub.applicant_dict(session, red.applicant))


@bp.route("/api/reusableIdentity/reuse/preview", methods=["GET", "POST"])
def reuse_preview() -> Response:
    """Runs every check of /reuse and rolls back: nothing is copied, the token stays unused."""
    sb = sandbox()
    token, level = _reuse_args()
    try:
        with sb.rt.store.write() as session:
            red = sb.sumsub.redeem(session, client(), token, level_name=level, scope=REUSE_SCOPE)
            raise _Preview(sb.sumsub.applicant_dict(session, red.applicant))
    except _Preview as preview:
        return ok(preview.payload)


def _reuse_args() -> tuple[str, str]:
    token = request.args.get("shareToken")
    level = request.args.get("levelName")
    if not token:
        raise e.bad_request("shareToken query parameter is required")
    if not level:
        raise e.bad_request("levelName query parameter is required")
    return token, level


def _default_level(session: Any, sb: Any, me: SumsubClient) -> str:
    return (
        str(sb.rt.settings.dakota_level_name) if me.client_id == sb.rt.settings.dakota_client_id else "basic-kyc-level"
    )
