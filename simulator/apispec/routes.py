"""Serve the contracts: `GET /openapi/{sumsub,dakota,control}.json` and a self-contained docs page at `GET /docs`.

Both are rendered on first use and kept for the process (JSON with `servers` set to the sandbox's base URL): a
worker that never serves them never pays for them, which keeps cold start short.
"""

from __future__ import annotations

import html
import json
from functools import cache
from typing import Any

from flask import Blueprint, Response, current_app

from simulator.apispec.loader import APIS, served_document

METHODS = ("get", "put", "post", "patch", "delete")
TITLES = {"sumsub": "Sumsub", "dakota": "Dakota", "control": "Control plane"}
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"

bp = Blueprint("apispec", __name__)
BASE_URL = "SANDBOX_BASE_URL"  # app.config key: the base URL the served contracts name as their server


@cache
def served_documents(base_url: str) -> dict[str, dict[str, Any]]:
    """The three contracts as served by a sandbox at `base_url` (once per process)."""
    return {api: served_document(api, base_url) for api in APIS}


@cache
def rendered_json(base_url: str, api: str) -> bytes:
    return json.dumps(served_documents(base_url)[api], ensure_ascii=False, indent=1).encode()


@cache
def rendered_html(base_url: str) -> bytes:
    return docs_page(served_documents(base_url)).encode()


def _base_url() -> str:
    base: str = current_app.config[BASE_URL]
    return base


@bp.get("/openapi/<api>.json")
def openapi_json(api: str) -> Response:
    body = rendered_json(_base_url(), api) if api in APIS else None
    if body is None:
        resp = Response(json.dumps({"error": {"status": 404, "message": f"no contract named {api!r}"}}), 404)
        resp.mimetype = "application/json"
        return resp
    return Response(body, mimetype="application/json", headers={"Cache-Control": "no-cache"})


@bp.get("/docs")
def docs() -> Response:
    return Response(
        rendered_html(_base_url()),
        mimetype="text/html",
        headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )


# ---------------------------------------------------------------------------------------------------- the page
def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _schema_html(api: str, schema: Any) -> str:
    """Pretty JSON of a schema; `$ref`s become links to the schema's entry further down the page."""
    text = json.dumps(schema, indent=2, ensure_ascii=False)
    out = _e(text)
    prefix = _e('"$ref": "#/components/schemas/')
    parts = out.split(prefix)
    linked = [parts[0]]
    for part in parts[1:]:
        name, sep, rest = part.partition(_e('"'))
        anchor = f"{api}-schema-{name}"
        linked.append(f'{_e(chr(34))}$ref{_e(chr(34))}: <a href="#{_e(anchor)}">{_e(name)}</a>{sep}{rest}')
    return "<pre>" + "".join(linked) + "</pre>"


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    """Follow references to parameters, responses and request bodies (schemas stay links)."""
    while isinstance(node, dict) and str(node.get("$ref", "")).startswith("#/components/"):
        if node["$ref"].startswith("#/components/schemas/"):
            return node
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _operation_html(api: str, doc: dict[str, Any], method: str, path: str, op: dict[str, Any]) -> str:
    anchor = f"{api}-{method}-{path}".replace("/", "-").replace("{", "").replace("}", "")
    rows = []
    for raw in op.get("parameters", []):
        p = _resolve(doc, raw)
        rows.append(
            f"<tr><td><code>{_e(p['name'])}</code></td><td>{_e(p['in'])}</td>"
            f"<td>{'yes' if p.get('required') else ''}</td><td>{_schema_html(api, p.get('schema', {}))}</td>"
            f"<td>{_e(p.get('description', ''))}</td></tr>"
        )
    parts = [
        f'<section class="op" id="{_e(anchor)}"><h3><span class="m {method}">{method.upper()}</span> '
        f"<code>{_e(path)}</code> <small>{_e(op.get('summary', ''))}</small></h3>",
    ]
    if op.get("description"):
        parts.append(f'<p class="desc">{_e(op["description"])}</p>')
    security = op.get("security", doc.get("security", []))
    if security:
        names = " + ".join(", ".join(req) for req in security)
        parts.append(f"<p><b>Auth</b>: {_e(names or 'none')}</p>")
    if rows:
        parts.append(
            "<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th><th></th></tr>"
            + "".join(rows)
            + "</table>"
        )
    body = _resolve(doc, op.get("requestBody"))
    if isinstance(body, dict):
        for media, content in body.get("content", {}).items():
            required = " (required)" if body.get("required") else ""
            parts.append(f"<h4>Request body <code>{_e(media)}</code>{required}</h4>")
            parts.append(_schema_html(api, content.get("schema", {})))
    parts.append("<h4>Responses</h4><ul>")
    for status, raw_resp in op.get("responses", {}).items():
        resp = _resolve(doc, raw_resp)
        parts.append(f"<li><b>{_e(status)}</b> {_e(resp.get('description', ''))}")
        for name in resp.get("headers", {}):
            parts.append(f" <small>header <code>{_e(name)}</code></small>")
        for media, content in (resp.get("content") or {}).items():
            parts.append(
                f"<details><summary><code>{_e(media)}</code></summary>"
                f"{_schema_html(api, content.get('schema', {}))}</details>"
            )
        parts.append("</li>")
    parts.append("</ul></section>")
    return "".join(parts)


def docs_page(docs: dict[str, dict[str, Any]]) -> str:
    """Every operation of every contract: method, path, summary, parameters, request and response schemas."""
    nav, sections = [], []
    for api, doc in docs.items():
        ops = [(m, p, op) for p, item in doc.get("paths", {}).items() for m, op in item.items() if m in METHODS]
        nav.append(
            f'<li><a href="#{api}">{_e(TITLES[api])}</a> ({len(ops)} operations, '
            f'<a href="/openapi/{api}.json">/openapi/{api}.json</a>)</li>'
        )
        sections.append(f'<h2 id="{api}">{_e(doc["info"]["title"])}</h2>')
        sections.append(f'<p><a href="/openapi/{api}.json">/openapi/{api}.json</a> · OpenAPI {_e(doc["openapi"])}</p>')
        sections.append(f'<div class="desc">{_e(doc["info"].get("description", ""))}</div>')
        sections.append("<ol class='index'>")
        for m, p, op in ops:
            anchor = f"{api}-{m}-{p}".replace("/", "-").replace("{", "").replace("}", "")
            sections.append(
                f'<li><a href="#{_e(anchor)}"><span class="m {m}">{m.upper()}</span> <code>{_e(p)}</code></a> '
                f"{_e(op.get('summary', ''))}</li>"
            )
        sections.append("</ol>")
        sections.extend(_operation_html(api, doc, m, p, op) for m, p, op in ops)
        schemas = doc.get("components", {}).get("schemas", {})
        sections.append(f"<h3>{_e(TITLES[api])} schemas</h3>")
        for name, schema in schemas.items():
            sections.append(
                f'<details id="{_e(api)}-schema-{_e(name)}"><summary><code>{_e(name)}</code></summary>'
                f"{_schema_html(api, schema)}</details>"
            )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>kyc-sandbox API contracts</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><style>"
        "body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem 2rem;color:#1b1f24}"
        "code,pre{font:13px ui-monospace,Menlo,Consolas,monospace}pre{background:#f6f8fa;padding:.6rem;overflow:auto;"
        "max-height:28rem;border-radius:4px}.op{border-top:1px solid #d0d7de;padding:.4rem 0}"
        ".m{display:inline-block;min-width:4.2rem;text-align:center;border-radius:3px;color:#fff;font-size:12px;"
        "padding:1px 4px}.get{background:#1f6feb}.post{background:#1a7f37}.put{background:#9a6700}"
        ".patch{background:#8250df}.delete{background:#cf222e}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #d0d7de;padding:3px 6px;vertical-align:top;text-align:left}td pre{max-height:8rem;"
        "margin:0}.desc{white-space:pre-wrap}h3 small{color:#57606a;font-weight:normal}"
        "</style></head><body><h1>kyc-sandbox API contracts</h1>"
        "<p>What this sandbox serves, and validates every request against. Requests that break a contract are "
        "answered 400 in the provider's envelope, naming the field.</p><ul>"
        + "".join(nav)
        + "</ul>"
        + "".join(sections)
        + "</body></html>"
    )
