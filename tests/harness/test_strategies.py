"""The public Hypothesis strategies, used as an integrator would: generated applicants and tokens against a sandbox."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pycountry
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.harness import strategies as kst
from simulator.harness.openapi import OpenApiContract
from simulator.harness.scenarios import Target
from simulator.sumsub.profiles import fake_image
from tests.support import VENDOR_SPEC

FEW = settings(max_examples=20, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    t = Target.local()
    yield t
    t.close()


@pytest.fixture(scope="module")
def contract() -> OpenApiContract:
    return OpenApiContract.load(VENDOR_SPEC)


def bulk(target: Target, contract: OpenApiContract, tokens: list[str]) -> dict[str, Any]:
    resp = target.http.post(
        f"{target.base_url}/customers/bulk-import-sumsub-tokens",
        json={"tokens": tokens},
        headers={"x-api-key": target.api_key("admin"), "x-idempotency-key": str(uuid.uuid4())},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    problems = contract.validate_response(
        "POST", "/customers/bulk-import-sumsub-tokens", 200, resp.headers.get("Content-Type"), body
    )
    assert not problems, problems
    return body


@given(kst.alpha3())
def test_alpha3_codes_are_real_countries(code: str) -> None:
    assert pycountry.countries.get(alpha_3=code) is not None


@FEW
@given(st.lists(kst.junk_tokens(), min_size=1, max_size=5))
def test_junk_tokens_fail_their_rows_and_create_nothing(
    target: Target, contract: OpenApiContract, tokens: list[str]
) -> None:
    assert target.control.reset().status_code == 200
    result = bulk(target, contract, tokens)
    assert result["failed"] == len(tokens)
    assert all(r["error"].startswith("Failed to redeem share token") for r in result["results"]), result
    customers = target.http.get(
        f"{target.base_url}/customers", headers={"x-api-key": target.api_key("admin")}, timeout=60
    ).json()
    assert customers["meta"]["total_count"] == 0


@FEW
@given(applicant=kst.applicants(), via_dakota_type=st.booleans())
def test_generated_applicants_load_over_the_signed_api_and_import_as_their_documents_say(
    target: Target, contract: OpenApiContract, applicant: dict[str, Any], via_dakota_type: bool
) -> None:
    sumsub = target.sumsub_client("acme-wallet_20419")
    ext = f"gen-{uuid.uuid4()}"
    body = {"externalUserId": ext, "email": applicant["email"], "fixedInfo": applicant["fixedInfo"]}
    if "phone" in applicant:
        body["phone"] = applicant["phone"]
    created = sumsub.create_applicant(applicant["level"], body)
    assert created.status_code == 200, created.text
    applicant_id = created.json()["id"]
    for i, doc in enumerate(applicant["idDocs"]):
        up = sumsub.add_id_doc(applicant_id, doc, fake_image(f"{ext}:{i}"))
        assert up.status_code == 200, up.text
    assert sumsub.test_completed(applicant_id).status_code == 200
    token = sumsub.generate_share_token(applicant_id, "dakota.xyz_158913").json()["token"]
    row = bulk(target, contract, [token])["results"][0]
    if applicant["idDocs"][0]["idDocType"] in kst.DAKOTA_ACCEPTED:
        assert row["success"] is True, row
        assert row["name"].endswith(" (from Sumsub)")
    else:
        assert row["success"] is False
        assert "10513" in row["error"]


@FEW
@given(data=st.data())
def test_mixed_batches_fail_junk_rows_and_redeem_each_real_token_once(
    target: Target, contract: OpenApiContract, data: st.DataObject
) -> None:
    assert target.control.reset().status_code == 200
    real = [target.control.donor_token("gb-passport") for _ in range(3)]
    tokens = data.draw(kst.batches(real, max_size=12), label="batch")
    result = bulk(target, contract, tokens)
    assert result["total"] == len(tokens) == len(result["results"])
    assert result["total"] == result["succeeded"] + result["failed"]
    first_use = {t: tokens.index(t) for t in set(tokens) if t in real}
    for i, (token, row) in enumerate(zip(tokens, result["results"], strict=True)):
        assert row["success"] is (first_use.get(token) == i), (i, row)
    customers = target.http.get(
        f"{target.base_url}/customers", headers={"x-api-key": target.api_key("admin")}, timeout=60
    ).json()
    assert customers["meta"]["total_count"] == len(first_use)
