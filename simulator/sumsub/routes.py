"""Sumsub's HTTP surface under /resources: parse, call one service method, serialize."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, current_app, g, request

from simulator.core.text import BodyError, UnstorableText, decode_json
from simulator.http import ok, parse_json_or, scope_errors
from simulator.sumsub import errors as e
from simulator.sumsub import multipart
from simulator.sumsub.backend import Sumsub
from simulator.sumsub.queries import ClientRef

bp = Blueprint("sumsub", __name__, url_prefix="/resources")
scope_errors(bp, "sumsub")
EXTENSION = "kyc_sandbox.sumsub"  # the app's Sumsub services, in `app.extensions`


def sumsub() -> Sumsub:
    s: Sumsub = current_app.extensions[EXTENSION]
    return s


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
    g.sumsub_client = sumsub().workspaces.authenticate(
        app_token=request.headers.get("X-App-Token"),
        ts=request.headers.get("X-App-Access-Ts"),
        sig=request.headers.get("X-App-Access-Sig"),
        method=request.method,
        path_with_query=path_with_query(),
        body=request.get_data(cache=True),
    )


def client() -> ClientRef:
    c: ClientRef = g.sumsub_client
    return c


@bp.get("/status/api")
def api_health() -> Response:
    return ok({"ok": 1})


@bp.post("/applicants")
def create_applicant() -> Response:
    s = sumsub()
    store = s.rt.store
    body = parse_json_or(e.bad_request)
    with store.write() as tx:
        a = s.applicants.create(tx, client(), request.args.get("levelName"), body)
        return ok(s.applicants.to_dict(tx, a))


@bp.get("/applicants/<path:ident>/one")
def get_applicant(ident: str) -> Response:
    s = sumsub()
    store = s.rt.store
    with store.read() as tx:
        if ident.startswith("-;externalUserId="):
            a = s.applicants.get_by_external_id(tx, client(), ident.split("=", 1)[1])
        else:
            a = s.applicants.get(tx, client(), ident)
        return ok(s.applicants.to_dict(tx, a))


@bp.get("/applicants/<applicant_id>/status")
def review_status(applicant_id: str) -> Response:
    s = sumsub()
    store = s.rt.store
    with store.read() as tx:
        return ok(s.applicants.status_dict(s.applicants.get(tx, client(), applicant_id)))


@bp.get("/applicants/<applicant_id>/requiredIdDocsStatus")
def required_id_docs_status(applicant_id: str) -> Response:
    s = sumsub()
    store = s.rt.store
    with store.read() as tx:
        return ok(s.applicants.required_id_docs_status(tx, s.applicants.get(tx, client(), applicant_id)))


@bp.post("/applicants/<applicant_id>/info/idDoc")
def add_id_doc(applicant_id: str) -> Response:
    s = sumsub()
    store = s.rt.store
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
    with store.write() as tx:
        doc, image_id = s.documents.add_id_doc(
            tx,
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
    with sumsub().rt.store.write() as tx:
        sumsub().applicants.request_check(tx, client(), applicant_id)
    return ok({"ok": 1})


@bp.post("/applicants/<applicant_id>/status/testCompleted")
def test_completed(applicant_id: str) -> Response:
    body = parse_json_or(e.bad_request)
    with sumsub().rt.store.write() as tx:
        sumsub().documents.test_completed(tx, client(), applicant_id, body)
    return ok({"ok": 1})


@bp.post("/accessTokens/sdk")
def sdk_access_token() -> Response:
    body = parse_json_or(e.bad_request)
    with sumsub().rt.store.read() as tx:
        return ok(sumsub().applicants.sdk_access_token(tx, body))


@bp.post("/accessTokens/shareToken")
def share_token() -> Response:
    body = parse_json_or(e.bad_request)
    if not isinstance(body, dict):
        raise e.bad_request("Request body must be a JSON object")
    return _mint(body.get("applicantId"), body.get("forClientId"), body.get("ttlInSecs"))


@bp.post("/accessTokens/-/shareToken")
def share_token_query() -> Response:
    a = request.args
    return _mint(a.get("applicantId"), a.get("forClientId"), a.get("ttlInSecs"))


def _mint(applicant_id: object, for_client_id: object, ttl: object) -> Response:
    with sumsub().rt.store.write() as tx:
        token = sumsub().share_tokens.mint(tx, client(), applicant_id, for_client_id, ttl)
    return ok({"token": token.token, "forClientId": token.for_client_id})


@bp.post("/applicants/-/import")
def import_by_share_token() -> Response:
    """Copy Applicant: no rechecks, the copy inherits the donor's data for this client's level."""
    s = sumsub()
    token = request.args.get("shareToken")
    if not token:
        raise e.bad_request("shareToken query parameter is required")
    with s.rt.store.write() as tx:
        plan = s.share_tokens.copy_applicant(tx, client(), token, request.args.get("levelName"))
        return ok(s.applicants.to_dict(tx, plan.copy))


@bp.post("/api/reusableIdentity/reuse")
def reuse() -> Response:
    return _reuse(write=True)


@bp.route("/api/reusableIdentity/reuse/preview", methods=["GET", "POST"])
def reuse_preview() -> Response:
    """Every check of /reuse, and the applicant it would create: nothing is written, the token stays unused."""
    return _reuse(write=False)


def _reuse(*, write: bool) -> Response:
    token = request.args.get("shareToken")
    level = request.args.get("levelName")
    if not token:
        raise e.bad_request("shareToken query parameter is required")
    if not level:
        raise e.bad_request("levelName query parameter is required")
    s = sumsub()
    store = s.rt.store
    with store.write() if write else store.read() as tx:
        plan = s.share_tokens.redeem_one(
            tx, client(), token, level_name=level, user_id=request.args.get("userId"), write=write
        )
        return ok(s.applicants.to_dict(tx, plan.copy))
