"""Auto approval: a submitted application is approved after the configured delay on the simulated clock.

Applications are driven like the customer's browser does (`tests.support.onboarding.Onboarding`); everything runs
in-process through `kit`, so every Dakota response is also checked against Dakota's published spec.
"""

from __future__ import annotations

from tests.support import Kit, customer, simulate
from tests.support.onboarding import imported


def test_auto_approval_fires_after_the_configured_delay_on_the_simulated_clock(kit: Kit) -> None:
    settings = kit.http.post(f"{kit.base_url}/_sandbox/settings", json={"auto_approve_after_seconds": 300})
    assert settings.status_code == 200, settings.text
    assert settings.json() == {"auto_approve_after_seconds": 300}
    ob = imported(kit)
    ob.submitted()

    early = kit.control.advance(299).json()
    assert [f for f in early["fired"] if f.get("kind") == "auto_approval"] == []
    assert ob.get()["application_status"] == "submitted"

    late = kit.control.advance(2).json()
    assert {"kind": "auto_approval", "application_id": ob.application_id, "outcome": "approved"} in late["fired"]
    app = ob.get()
    assert app["application_status"] == "approved"
    assert app["application_decision"] == "approved"
    assert app["decision_method"] == "auto"
    assert customer(kit, ob.customer_id)["kyc_status"] == "approved"
    # Fired once: it is no longer due.
    assert [f for f in kit.control.advance(600).json()["fired"] if f.get("kind") == "auto_approval"] == []


def test_without_auto_approval_a_submitted_application_waits_for_a_decision(kit: Kit) -> None:
    assert kit.http.get(f"{kit.base_url}/_sandbox/settings").json() == {"auto_approve_after_seconds": None}
    ob = imported(kit)
    ob.submitted()
    kit.control.advance(7 * 24 * 3600)
    assert ob.get()["application_status"] == "submitted"


def test_a_manual_decision_before_the_delay_cancels_auto_approval(kit: Kit) -> None:
    kit.http.post(f"{kit.base_url}/_sandbox/settings", json={"auto_approve_after_seconds": 60})
    ob = imported(kit)
    ob.submitted()
    assert simulate(kit, ob.application_id, "kyc_reject").ok
    fired = kit.control.advance(120).json()["fired"]
    assert [f for f in fired if f.get("kind") == "auto_approval"] == []
    assert ob.get()["application_status"] == "declined"


def test_several_due_applications_are_auto_approved_in_one_advance(kit: Kit) -> None:
    kit.http.post(f"{kit.base_url}/_sandbox/settings", json={"auto_approve_after_seconds": 30})
    apps = [imported(kit, profile) for profile in ("gb-passport", "us-ssn", "no-address")]
    for ob in apps:
        ob.submitted()
    fired = kit.control.advance(31).json()["fired"]
    assert sorted(f["application_id"] for f in fired if f.get("kind") == "auto_approval") == sorted(
        ob.application_id for ob in apps
    )
    assert all(ob.get("")["application_status"] == "approved" for ob in apps)


def test_auto_approval_setting_is_validated(kit: Kit) -> None:
    for bad in (-1, "300", True, {"s": 1}):
        resp = kit.http.post(f"{kit.base_url}/_sandbox/settings", json={"auto_approve_after_seconds": bad})
        assert resp.status_code == 400, bad
        assert resp.json()["error"]["field"] == "auto_approve_after_seconds", bad
    unknown = kit.http.post(f"{kit.base_url}/_sandbox/settings", json={"auto_reject": True})
    assert unknown.status_code == 400
    assert kit.http.get(f"{kit.base_url}/_sandbox/settings").json() == {"auto_approve_after_seconds": None}
