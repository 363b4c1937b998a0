"""The simulated clock accepts only instants every id can carry: Dakota's KSUIDs end at 2150-06-19T23:21:35Z."""

from __future__ import annotations

import pytest

from simulator.core.clock import LATEST, iso
from simulator.core.ids import Ids
from tests.support import Kit, dakota_headers


def test_setting_the_clock_past_the_last_ksuid_instant_is_a_400_that_says_why(kit: Kit) -> None:
    """The audit: 2150-06-20 was accepted, then every create answered 500 (OverflowError in the KSUID)."""
    resp = kit.control.set_clock(now="2150-06-20T00:00:00Z")
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["field"] == "now"
    assert "2150-06-19T23:21:35Z" in error["message"] and "KSUID" in error["message"]
    assert kit.control.clock()["epoch"] < LATEST - 1e6  # unchanged


def test_advancing_past_the_last_ksuid_instant_is_a_400(kit: Kit) -> None:
    assert kit.control.set_clock(now=LATEST - 3600, frozen=True).status_code == 200
    resp = kit.control.advance(7200)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["field"] == "seconds"
    assert kit.control.clock()["epoch"] == LATEST - 3600


def test_at_the_last_instant_every_create_still_works(kit: Kit) -> None:
    assert kit.control.set_clock(now=iso(LATEST), frozen=True).status_code == 200
    created = kit.http.post(
        f"{kit.base_url}/customers",
        json={"name": "Late Customer", "customer_type": "individual"},
        headers=dakota_headers(),
    )
    assert created.status_code == 201, created.text
    body = kit.bulk([kit.token("gb-passport")])
    assert body["succeeded"] == 1, body


@pytest.mark.parametrize("epoch", [0.0, LATEST, LATEST + 10**6])
def test_a_ksuid_never_fails_whatever_the_time(epoch: float) -> None:
    assert len(Ids(1).ksuid(epoch)) == 27
