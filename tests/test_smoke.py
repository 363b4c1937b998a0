from __future__ import annotations

from tests.support import Kit


def test_happy_path_import_creates_customer_and_pending_application(kit: Kit) -> None:
    token = kit.token("gb-passport")
    body = kit.bulk([token])
    assert body["total"] == 1 and body["succeeded"] == 1 and body["failed"] == 0
    row = body["results"][0]
    assert row["name"] == "Olivia Bennett (from Sumsub)"
    app = kit.application(row["customer_id"], row["application_id"])
    assert app["application_status"] == "pending"
    ind = app["entities"]["primary_individual"]
    assert ind["nationalities"] == ["GB"]
    assert ind["address"]["country"] == "GB"
