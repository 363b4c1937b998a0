"""Dakota's delivery history (`GET /webhooks`) and replays of an event.

The in-process sandbox has background dispatch off: deliveries happen only on `/_sandbox/webhooks/dispatch` or a
clock advance, so every test decides exactly when webhooks go out. Receivers: the `rx`, `rx2` fixtures (conftest.py).
"""

from __future__ import annotations

from simulator.dakota.events import MAX_REPLAYS
from simulator.harness.receiver import WebhookReceiver
from tests.support import OTHER_ORG_KEY, VIEWER_KEY, Kit, dakota_headers, events, mint_and_import, target_for
from tests.support.webhooks import CUSTOMER_CREATED, advance, dispatch, history, public_key, replay


def test_webhook_history_shows_status_and_attempts(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    rx.script(503)
    mint_and_import(kit)
    [pending] = history(kit)["data"]
    assert pending["status"] == "pending"
    assert pending["attempts"] == 0
    assert pending["endpoint_url"] == rx.url
    assert pending["event_type"] == CUSTOMER_CREATED

    dispatch(kit)
    [failed_once] = history(kit)["data"]
    assert failed_once["status"] == "pending"
    assert failed_once["attempts"] == 1
    assert failed_once["last_error"] == "receiver answered HTTP 503"
    assert failed_once["delivered_at"] is None

    advance(kit, 61)
    [done] = history(kit)["data"]
    assert done["status"] == "delivered"
    assert done["attempts"] == 2
    assert done["delivered_at"] is not None
    assert [entry["status_code"] for entry in done["log"]] == [503, 200]
    assert done["payload"] == rx.received[-1].json()
    assert history(kit, status="delivered")["data"] == [done]
    assert history(kit, status="failed")["data"] == []
    one = kit.http.get(f"{kit.base_url}/webhooks/{done['event_id']}", headers=dakota_headers(idempotency=False))
    assert one.status_code == 200
    assert one.json()["id"] == done["id"]


def test_webhook_history_pages_with_a_cursor_newest_first(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    for _ in range(3):
        mint_and_import(kit)
        advance(kit, 1)  # distinct creation times: the order is by time
    whole = history(kit)
    assert [d["created_at"] for d in whole["data"]] == sorted((d["created_at"] for d in whole["data"]), reverse=True)
    assert len(whole["data"]) == 3 and whole["has_more"] is False and whole["cursor"] is None
    first = history(kit, limit=2)
    assert first["data"] == whole["data"][:2]
    assert first["has_more"] is True and first["cursor"] == whole["data"][1]["id"]
    rest = history(kit, limit=2, cursor=first["cursor"])
    assert rest["data"] == whole["data"][2:]
    assert rest["has_more"] is False and rest["cursor"] is None
    assert (
        kit.http.get(
            f"{kit.base_url}/webhooks", params={"cursor": "nope"}, headers=dakota_headers(idempotency=False)
        ).status_code
        == 400
    )


def test_replay_redelivers_the_same_event_marked_as_a_replay(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    mint_and_import(kit)
    dispatch(kit)
    [original] = rx.received
    event_id = original.json()["id"]

    resp = replay(kit, event_id)

    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["status"] == "queued"
    assert out["replayed_to_count"] == 1
    dispatch(kit)
    [_, again] = rx.received
    assert again.body == original.body
    assert again.header("X-Webhook-Replay") == "true"
    assert original.header("X-Webhook-Replay") is None
    assert again.header("X-Dakota-Event-ID") == event_id
    assert again.verify_dakota(public_key(kit))
    replays = [d for d in history(kit)["data"] if d["is_replay"]]
    assert len(replays) == 1
    assert replays[0]["id"] == out["webhook_id"]
    assert replays[0]["replay_count"] == 1


def test_an_event_can_be_replayed_ten_times_and_no_more(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    mint_and_import(kit)
    event_id = events(kit)["data"][0]["id"]
    for _ in range(MAX_REPLAYS):
        assert replay(kit, event_id).status_code == 200
    eleventh = replay(kit, event_id)
    assert eleventh.status_code == 409
    assert "Replay limit" in eleventh.json()["detail"]
    dispatch(kit)
    assert len(rx.received) == 1 + MAX_REPLAYS
    assert sum(1 for r in rx.received if r.header("X-Webhook-Replay") == "true") == MAX_REPLAYS


def test_replay_needs_a_known_event_of_ones_own_and_an_operator(kit: Kit, rx: WebhookReceiver) -> None:
    target_for(kit, rx.url)
    mint_and_import(kit)
    event_id = events(kit)["data"][0]["id"]
    assert replay(kit, "3Mc4tWnLigjgDKIqwDnjMlud0LF").status_code == 404
    assert replay(kit, event_id, key=OTHER_ORG_KEY).status_code == 404
    assert replay(kit, event_id, key=VIEWER_KEY).status_code == 403
    dispatch(kit)
    assert len(rx.received) == 1
