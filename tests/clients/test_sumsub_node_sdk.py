"""sumsub-node-sdk (npm), unmodified and signing with its own code, runs the donor's flow against a served sandbox;
the share token it mints imports at Dakota."""

from __future__ import annotations

import base64
import re

import pytest

from tests.support import CLIENTS, DAKOTA_CLIENT_ID, DONOR_ID, Kit
from tests.support.node import run_node

pytestmark = pytest.mark.served


def test_sumsub_node_sdk_verifies_a_donor_and_its_share_token_imports_at_dakota(node: str, served: Kit) -> None:
    donor = CLIENTS[DONOR_ID]
    out = run_node(node, "sumsub_flow.mjs", served.base_url, donor["app_token"], donor["secret_key"], DAKOTA_CLIENT_ID)

    applicant_id = out["applicant"]["id"]
    assert re.fullmatch(r"[0-9a-f]{24}", applicant_id)
    assert out["applicant"]["foundId"] == applicant_id
    passport, selfie = out["documents"]
    assert passport["data"]["idDocType"] == "PASSPORT" and passport["data"]["number"] == "107185703"
    assert selfie["data"]["idDocType"] == "SELFIE"
    for doc, step in ((passport, "IDENTITY"), (selfie, "SELFIE")):
        assert doc["imageId"].isdigit()
        assert out["requiredIdDocsStatus"][step]["imageIds"] == [int(doc["imageId"])]
    assert out["check"] == {"ok": 1} and out["pendingStatus"] == "pending"
    assert out["reviewed"] == {"ok": 1}
    assert out["review"]["reviewStatus"] == "completed"
    assert out["review"]["reviewResult"] == {"reviewAnswer": "GREEN"}
    assert out["shareToken"]["forClientId"] == DAKOTA_CLIENT_ID

    # The SDK's filename-less image parts were kept byte for byte: the same bytes again are a duplicate.
    for doc in (passport, selfie):
        meta = {k: v for k, v in doc["data"].items() if k != "errors"}
        again = served.donor.add_id_doc(applicant_id, meta, base64.b64decode(doc["sent"]))
        assert (again.status_code, again.json().get("errorCode")) == (409, 1000), again.text

    result = served.bulk([out["shareToken"]["token"]])
    assert result["succeeded"] == 1, result
    row = result["results"][0]
    assert row["name"] == "Ada Lovelace (from Sumsub)"
    app = served.application(row["customer_id"], row["application_id"], include="entities,validation")
    individual = app["entities"]["primary_individual"]
    assert individual["date_of_birth"] == "1990-12-10"
    assert individual["sumsub_verification"]["sumsub_review_status"] == "approved"
    uploaded = app["validation"]["primary_individual"]["documents"]["uploaded_documents"]
    assert [d["document_type"] for d in uploaded] == ["passport"]
