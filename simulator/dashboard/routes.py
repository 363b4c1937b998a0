"""Serves the dashboard's static single-page app and the CSV template. No domain logic: the page calls the API."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

from simulator.core.resources import data_dir
from simulator.http import scope_errors

STATIC = Path(__file__).resolve().parent / "static"
TEMPLATE_NAME = "sumsub-import-template.csv"
# Everything the page loads comes from the sandbox itself.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", static_folder=str(STATIC))
scope_errors(bp, "dashboard")


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/")
def index() -> Response:
    return send_from_directory(STATIC, "index.html", mimetype="text/html")


@bp.get("/template.csv")
def template_csv() -> Response:
    """The starter CSV of the guide's "Download template": one column `token`, the header line only."""
    resp = send_from_directory(
        data_dir("fixtures"),
        TEMPLATE_NAME,
        mimetype="text/csv",
        as_attachment=True,
        download_name=TEMPLATE_NAME,
    )
    return resp
