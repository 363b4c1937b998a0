"""Donor-side steps: a verified donor applicant (over the control plane or Sumsub's signed API) and its share token."""

from __future__ import annotations

import uuid
from typing import Any

from simulator.harness.scenarios.errors import StepError
from simulator.harness.scenarios.steps.context import Context, Result, as_result, parse_duration
from simulator.harness.scenarios.steps.registry import step


def _ttl(spec: dict[str, Any]) -> int | None:
    return int(parse_duration(spec["ttl"])) if "ttl" in spec else None


@step("donor")
def donor(ctx: Context, spec: dict[str, Any]) -> Result:
    """A verified donor applicant, with a share token when `share_with` is given; saved under `as`."""
    ttl = _ttl(spec)
    if spec.get("via", "control") == "control":
        body: dict[str, Any] = {"profile": spec["profile"]}
        body.update({k: spec[k] for k in ("client_id", "external_user_id", "share_with") if k in spec})
        if ttl is not None:
            body["ttl_in_secs"] = ttl
        result = ctx.control_post("/donors", body)
    else:
        result = _donor_over_sumsub(ctx, spec, ttl)
    if spec.get("as") and result.response is not None and result.response.ok:
        ctx.vars[spec["as"]] = result.body
    return result


def _donor_over_sumsub(ctx: Context, spec: dict[str, Any], ttl: int | None) -> Result:
    """What a donor does: create the applicant, upload its documents, sandbox review, then mint."""
    from simulator.sumsub.profiles import fake_image, load_profiles

    profiles = load_profiles()
    name = spec["profile"]
    if name not in profiles:
        raise StepError(f"unknown profile {name!r}; known: {', '.join(sorted(profiles))}")
    prof = profiles[name]
    client_id = str(ctx.target.sumsub_credentials(spec.get("client_id"))["client_id"])
    api = ctx.target.sumsub_client(client_id)
    ext = spec.get("external_user_id") or f"{name}-{uuid.uuid4().hex[:12]}"
    body = {k: v for k, v in (("email", prof.get("email")), ("phone", prof.get("phone"))) if v}
    body.update({"externalUserId": ext, "type": prof.get("type", "individual")})
    body["fixedInfo"] = prof.get("fixedInfo", {})
    created = as_result(api.create_applicant(prof.get("level", "basic-kyc-level"), body))
    applicant = ctx.require_ok(created, "create applicant")
    applicant_id = applicant["id"]
    for i, doc in enumerate(prof.get("idDocs", [])):
        up = as_result(api.add_id_doc(applicant_id, doc, fake_image(f"{ext}:{i}:{doc.get('idDocType')}")))
        ctx.require_ok(up, f"upload {doc.get('idDocType')}")
    review = prof.get("review")
    if review:
        extra = {k: v for k, v in review.items() if k not in ("reviewAnswer", "rejectLabels")}
        done = api.test_completed(applicant_id, review["reviewAnswer"], review.get("rejectLabels"), **extra)
        ctx.require_ok(as_result(done), "sandbox review (testCompleted)")
    out: dict[str, Any] = {
        "applicant_id": applicant_id,
        "client_id": client_id,
        "external_user_id": ext,
        "profile": name,
        "level_name": applicant.get("review", {}).get("levelName"),
    }
    last = created
    if "share_with" in spec:
        last = as_result(api.generate_share_token(applicant_id, spec["share_with"], ttl))
        out["share_token"] = ctx.require_ok(last, "mint the share token")
    assert last.response is not None
    return Result(last.response, out, last.request)


@step("mint")
def mint(ctx: Context, spec: dict[str, Any]) -> Result:
    """A share token for an applicant (or a saved donor's), for Dakota's client unless `for_client_id`."""
    applicant_id = spec.get("applicant_id")
    client_id = spec.get("client_id")
    if "donor" in spec:
        saved = ctx.lookup(spec["donor"])
        if not isinstance(saved, dict) or "applicant_id" not in saved:
            raise StepError(f"mint: {spec['donor']} is not a donor (saved by a donor step with as:)")
        applicant_id = applicant_id or saved["applicant_id"]
        client_id = client_id or saved.get("client_id")
    for_client = spec.get("for_client_id") or ctx.target.dakota_client_id
    ttl = _ttl(spec)
    if spec.get("via", "control") == "control":
        body: dict[str, Any] = {"applicant_id": applicant_id, "for_client_id": for_client}
        if client_id:
            body["client_id"] = client_id
        if ttl is not None:
            body["ttl_in_secs"] = ttl
        result = ctx.control_post("/share-tokens", body)
    else:
        api = ctx.target.sumsub_client(client_id)
        result = as_result(api.generate_share_token(str(applicant_id), for_client, ttl))
    if spec.get("as") and result.response is not None and result.response.ok:
        ctx.vars[spec["as"]] = result.body["token"]
    return result
