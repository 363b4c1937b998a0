"""Dakota's webhook targets: create, list, read, patch, delete; validated, per organisation, admins only.

The in-process sandbox has background dispatch off: deliveries happen only on `/_sandbox/webhooks/dispatch` or a
clock advance, so every test decides exactly when webhooks go out. Receivers: the `rx`, `rx2` fixtures (conftest.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from simulator.harness.receiver import WebhookReceiver
from tests.support import (
    OTHER_ORG_KEY,
    VIEWER_KEY,
    Kit,
    create_target,
    dakota_headers,
    events,
    field_errors,
    mint_and_import,
    target_for,
)
from tests.support.webhooks import CUSTOMER_CREATED, dispatch, history, types_of


def test_create_a_global_target(kit: Kit, rx: WebhookReceiver) -> None:
    resp = create_target(kit, {"url": rx.url, "global": True})
    assert resp.status_code == 201, resp.text
    t = resp.json()
    assert len(t["id"]) == 27
    assert t["url"] == rx.url
    assert t["global"] is True
    assert t["event_types"] == []
    assert abs(t["time_last_healthy"] - kit.control.clock()["epoch"]) < 5
    assert t["time_last_attempted"] == t["time_last_healthy"]


def test_create_a_target_for_some_event_types(kit: Kit, rx: WebhookReceiver) -> None:
    types = ["customer.kyb_application.submitted", "customer.updated", "customer.updated"]
    resp = create_target(kit, {"url": rx.url, "event_types": types})
    assert resp.status_code == 201, resp.text
    assert resp.json()["global"] is False
    assert resp.json()["event_types"] == ["customer.kyb_application.submitted", "customer.updated"]


BAD_TARGETS: list[tuple[dict[str, Any], str]] = [
    ({"url": "https://hooks.acme.io/x", "event_types": ["customer.exploded"]}, "event_types"),
    ({"url": "https://hooks.acme.io/x", "event_types": ["customer.created", "api_key.created"]}, "event_types"),
    ({"url": "https://hooks.acme.io/x", "event_types": "customer.created"}, "event_types"),
    ({"url": "https://hooks.acme.io/x"}, "event_types"),  # neither global nor any event type
    ({"url": "ftp://hooks.acme.io/x", "global": True}, "url"),
    ({"url": "hooks.acme.io/x", "global": True}, "url"),
    ({"url": "http://", "global": True}, "url"),
    ({"url": 42, "global": True}, "url"),
    ({"global": True}, "url"),
    ({"url": "https://hooks.acme.io/x", "global": "yes"}, "global"),
]


def test_a_bad_target_is_refused_and_nothing_is_created(kit: Kit) -> None:
    for body, field in BAD_TARGETS:
        resp = create_target(kit, body)
        assert resp.status_code == 400, body
        assert field_errors(resp) == [field], body
    listed = kit.http.get(f"{kit.base_url}/webhooks/targets", headers=dakota_headers(idempotency=False)).json()
    assert listed["data"] == []


def test_targets_can_be_listed_read_patched_and_deleted(kit: Kit, rx: WebhookReceiver) -> None:
    a = target_for(kit, rx.url)
    b = target_for(kit, rx.url + "/b", ["customer.created"])
    base = f"{kit.base_url}/webhooks/targets"
    h = dakota_headers(idempotency=False)

    listed = kit.http.get(base, headers=h).json()
    assert sorted(t["id"] for t in listed["data"]) == sorted([a["id"], b["id"]])
    assert listed["meta"] == {"total_count": 2, "has_more_after": False, "has_more_before": False}
    page = kit.http.get(base, params={"limit": 1}, headers=h).json()
    assert len(page["data"]) == 1
    assert page["meta"]["has_more_after"] is True
    assert kit.http.get(f"{base}/{b['id']}", headers=h).json() == b

    patched = kit.http.patch(
        f"{base}/{b['id']}", json={"event_types": ["customer.updated"], "url": rx.url + "/c"}, headers=dakota_headers()
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["event_types"] == ["customer.updated"]
    assert patched.json()["url"] == rx.url + "/c"
    assert kit.http.get(f"{base}/{b['id']}", headers=h).json() == patched.json()
    bad = kit.http.patch(f"{base}/{b['id']}", json={"event_types": ["nope"]}, headers=dakota_headers())
    assert bad.status_code == 400
    assert kit.http.get(f"{base}/{b['id']}", headers=h).json() == patched.json()

    deleted = kit.http.delete(f"{base}/{a['id']}", headers=h)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert kit.http.get(f"{base}/{a['id']}", headers=h).status_code == 404
    assert kit.http.delete(f"{base}/{a['id']}", headers=h).status_code == 404
    assert [t["id"] for t in kit.http.get(base, headers=h).json()["data"]] == [b["id"]]


def test_a_patch_cannot_leave_a_target_listening_to_nothing(kit: Kit, rx: WebhookReceiver) -> None:
    t = target_for(kit, rx.url)  # global, no event types
    url = f"{kit.base_url}/webhooks/targets/{t['id']}"
    resp = kit.http.patch(url, json={"global": False}, headers=dakota_headers())
    assert resp.status_code == 400, resp.text
    assert field_errors(resp) == ["event_types"]
    assert kit.http.get(url, headers=dakota_headers(idempotency=False)).json() == t
    ok = kit.http.patch(url, json={"global": False, "event_types": ["customer.created"]}, headers=dakota_headers())
    assert ok.status_code == 200
    assert ok.json()["global"] is False


def test_a_deleted_target_gets_no_more_webhooks(kit: Kit, rx: WebhookReceiver) -> None:
    t = target_for(kit, rx.url)
    kit.http.delete(f"{kit.base_url}/webhooks/targets/{t['id']}", headers=dakota_headers(idempotency=False))
    mint_and_import(kit)
    dispatch(kit)
    assert rx.received == []


def test_another_organisations_targets_are_invisible(kit: Kit, rx: WebhookReceiver, rx2: WebhookReceiver) -> None:
    mine = target_for(kit, rx.url)
    base = f"{kit.base_url}/webhooks/targets"
    other = dakota_headers(OTHER_ORG_KEY, idempotency=False)
    assert kit.http.get(base, headers=other).json()["data"] == []
    assert kit.http.get(f"{base}/{mine['id']}", headers=other).status_code == 404
    patched = kit.http.patch(f"{base}/{mine['id']}", json={"global": False}, headers=dakota_headers(OTHER_ORG_KEY))
    assert patched.status_code == 404
    assert kit.http.delete(f"{base}/{mine['id']}", headers=other).status_code == 404
    assert kit.http.get(f"{base}/{mine['id']}", headers=dakota_headers(idempotency=False)).json() == mine

    # The other organisation's own target hears only its own events.
    theirs = create_target(kit, {"url": rx2.url, "global": True}, key=OTHER_ORG_KEY)
    assert theirs.status_code == 201
    mint_and_import(kit)
    dispatch(kit)
    assert types_of(rx.received) == [CUSTOMER_CREATED]
    assert rx2.received == []
    assert events(kit, OTHER_ORG_KEY)["data"] == []
    assert history(kit)["data"][0]["endpoint_url"] == rx.url


def test_a_viewer_key_cannot_manage_targets(kit: Kit, rx: WebhookReceiver) -> None:
    resp = create_target(kit, {"url": rx.url, "global": True}, key=VIEWER_KEY)
    assert resp.status_code == 403
    mine = target_for(kit, rx.url)
    base = f"{kit.base_url}/webhooks/targets/{mine['id']}"
    assert kit.http.patch(base, json={"global": False}, headers=dakota_headers(VIEWER_KEY)).status_code == 403
    assert kit.http.delete(base, headers=dakota_headers(VIEWER_KEY, idempotency=False)).status_code == 403
    # Reading is fine.
    assert kit.http.get(base, headers=dakota_headers(VIEWER_KEY, idempotency=False)).json() == mine


def test_targets_need_an_api_key(kit: Kit, rx: WebhookReceiver) -> None:
    resp = kit.http.post(
        f"{kit.base_url}/webhooks/targets",
        json={"url": rx.url, "global": True},
        headers={"x-idempotency-key": str(uuid.uuid4())},
    )
    assert resp.status_code == 401
    assert kit.http.get(f"{kit.base_url}/webhooks/targets").status_code == 401
