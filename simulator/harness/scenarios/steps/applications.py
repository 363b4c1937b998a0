"""Step 3 of the guide on an imported customer's application: details, documents, attestations, submit, review."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from simulator.harness.scenarios.errors import StepError
from simulator.harness.scenarios.matchers import resolve, short
from simulator.harness.scenarios.steps.context import Context, Result
from simulator.harness.scenarios.steps.registry import step

REQUIRED_ATTESTATIONS = ("e_sign", "terms_of_service", "privacy_policy", "information_accuracy")


def details_from_entity(ind: dict[str, Any]) -> dict[str, Any]:
    """An IndividualRequest from the imported entity plus Dakota's Step-3 fields (employment, purpose, wealth)."""
    name: dict[str, Any] = {"first": ind.get("first_name"), "last": ind.get("last_name")}
    if ind.get("middle_name"):
        name["middle"] = ind["middle_name"]
    body: dict[str, Any] = {
        "roles": ["individual"],
        "name": name,
        "date_of_birth": ind.get("date_of_birth"),
        "nationalities": ind.get("nationalities"),
        "address": ind.get("address"),
        "email_address": ind.get("email_address"),
        "employment_status": "employed",
        "purpose_of_account": ["investing"],
        "source_of_wealth": ["employment"],
    }
    if ind.get("ssn"):
        body["ssn"] = ind["ssn"]
    return {k: v for k, v in body.items() if v is not None}


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` with `extra` laid over it, objects merged key by key."""
    out = dict(base)
    for k, v in extra.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _get_application(ctx: Context, app: dict[str, Any]) -> Result:
    return ctx.send(
        "GET",
        f"/applications/{app['application_id']}",
        params={"include": "all"},
        headers={"X-Application-Token": app["token"]},
    )


def _primary_individual(ctx: Context, app: dict[str, Any]) -> dict[str, Any]:
    current = ctx.require_ok(_get_application(ctx, app), "read the application")
    individual: dict[str, Any] = current["entities"]["primary_individual"]
    return individual


def _token_headers(ctx: Context, app: dict[str, Any], idempotency_key: Any) -> dict[str, str]:
    headers = {"X-Application-Token": app["token"]}
    idem = ctx.idempotency_key(idempotency_key)
    if idem:
        headers["x-idempotency-key"] = idem
    return headers


@step("application")
def application(ctx: Context, spec: dict[str, Any]) -> Result:
    """An imported customer's application (its id, token, individual), saved under `as` for the steps below."""
    customer_id, application_id = spec.get("customer_id"), spec.get("application_id")
    if "from" in spec:
        batch = ctx.lookup(spec["from"])
        row = resolve(batch, f"results[{int(spec.get('row', 0))}]")
        if not isinstance(row, dict) or not row.get("success"):
            raise StepError(f"{spec['from']} row {spec.get('row', 0)} is not a successful import: {short(row)}")
        customer_id, application_id = row["customer_id"], row["application_id"]
    if not customer_id or not application_id:
        raise StepError("application needs from: <import variable> or customer_id and application_id")
    customer = ctx.send("GET", f"/customers/{customer_id}", headers=ctx.dakota_headers(None, None, False))
    url = str(ctx.require_ok(customer, "read the customer").get("application_url", ""))
    if "token=" not in url:
        raise StepError(f"the customer's application_url carries no token: {url!r}")
    app = {"customer_id": customer_id, "application_id": application_id, "token": url.split("token=", 1)[1]}
    result = _get_application(ctx, app)
    body = ctx.require_ok(result, "read the application")
    app["individual_id"] = resolve(body, "entities.primary_individual.id")
    ctx.vars[spec["as"]] = app
    return result


@step("details")
def details(ctx: Context, spec: dict[str, Any]) -> Result:
    """PUT the individual's details: a `body` as is, else the imported entity's with `set` merged and `unset` gone."""
    app = ctx.application(spec["application"])
    if "body" in spec:
        body = spec["body"]
    else:
        body = details_from_entity(_primary_individual(ctx, app))
        body = deep_merge(body, spec.get("set") or {})
        for key in spec.get("unset") or []:
            body.pop(key, None)
    return ctx.send(
        "PUT",
        f"/applications/{app['application_id']}/individual-details",
        json_body=body,
        headers={"X-Application-Token": app["token"]},
    )


@step("document")
def document(ctx: Context, spec: dict[str, Any]) -> Result:
    """Upload a document for the individual (a generated image), its country the address's by default."""
    from simulator.sumsub.profiles import fake_image

    app = ctx.application(spec["application"])
    individual = app.get("individual_id")
    doc_type = spec.get("type", "source_of_wealth")
    country = spec.get("country")
    if country is None:
        ind = _primary_individual(ctx, app)
        addr_country = (ind.get("address") or {}).get("country")
        # ZZ is the sandbox's placeholder for a donor without an address (settings), not a country to file under.
        country = addr_country if addr_country and addr_country != "ZZ" else (ind.get("nationalities") or ["US"])[0]
    body: dict[str, Any] = {
        "type": doc_type,
        "file_type": "png",
        "file_content": base64.b64encode(fake_image(f"{doc_type}:{uuid.uuid4()}")).decode(),
        "country": country,
        "filename": f"{doc_type}.png",
    }
    body.update({key: spec[key] for key in ("id_number", "valid_until") if key in spec})
    return ctx.send(
        "POST",
        f"/applications/{app['application_id']}/associated-individuals/{individual}/documents",
        json_body=body,
        headers=_token_headers(ctx, app, spec.get("idempotency_key")),
    )


@step("attest")
def attest(ctx: Context, spec: dict[str, Any]) -> Result:
    """The attestations (all four required ones by default), in order, stopping at the first refused."""
    app = ctx.application(spec["application"])
    base = int(ctx.target.now()) - 120
    result: Result | None = None
    failures: list[str] = []
    for i, kind in enumerate(spec.get("types") or REQUIRED_ATTESTATIONS):
        body = {"attestation_type": kind, "timestamp": base + i, "applicant_id": app.get("individual_id")}
        result = ctx.send(
            "POST",
            f"/applications/{app['application_id']}/attestations",
            json_body=body,
            headers={"X-Application-Token": app["token"], "x-idempotency-key": str(uuid.uuid4())},
        )
        assert result.response is not None
        if not result.response.ok:
            failures.append(f"{kind}: {result.response.status_code}")
            break  # later attestations depend on this one (e_sign first)
    assert result is not None
    result.request = f"{result.request} ({', '.join(failures) or 'all answered 204'})"
    return result


@step("submit")
def submit(ctx: Context, spec: dict[str, Any]) -> Result:
    """POST the application's submission."""
    app = ctx.application(spec["application"])
    headers = _token_headers(ctx, app, spec.get("idempotency_key"))
    return ctx.send("POST", f"/applications/{app['application_id']}/submissions", json_body={}, headers=headers)


@step("review")
def review(ctx: Context, spec: dict[str, Any]) -> Result:
    """Dakota's sandbox onboarding simulation: approve (by default), reject or request information."""
    app = ctx.application(spec["application"])
    body: dict[str, Any] = {
        "type": spec.get("type", "kyc_approve"),
        "applicant_id": app["application_id"],
        "simulation_id": f"scenario-{uuid.uuid4().hex[:12]}",
    }
    body.update({key: spec[key] for key in ("reason_code", "info_request_fields") if key in spec})
    headers = ctx.dakota_headers(spec.get("api_key"), str(uuid.uuid4()), True)
    return ctx.send("POST", "/sandbox/simulate/onboarding", json_body=body, headers=headers)
