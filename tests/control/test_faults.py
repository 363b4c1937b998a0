"""Fault injection and rate limits on the control plane."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from tests.support import Kit, ServedSandbox


def _faults(kit: Kit, body: dict[str, Any]) -> requests.Response:
    return kit.http.post(f"{kit.base_url}/_sandbox/faults", json=body)


def _latencies(kit: Kit, n: int) -> list[str]:
    before = kit.control.journal(limit=1000).json()["entries"]
    since = before[-1]["id"] if before else 0
    for _ in range(n):
        kit.admin.list_customers()
    entries = kit.control.journal(api="dakota", since_id=since, limit=1000).json()["entries"]
    return [e["note"] or "" for e in entries]


def test_seeded_latency_is_reproducible_and_journalled(kit: Kit) -> None:
    rules = {"seed": 42, "rules": [{"id": "jitter", "api": "dakota", "method": "GET", "path": "/customers",
                                    "latency": {"distribution": "uniform", "min_ms": 0, "max_ms": 6},
                                    "probability": 0.5}]}  # fmt: skip
    assert _faults(kit, rules).status_code == 200
    first = _latencies(kit, 12)
    assert any(n.startswith("fault jitter: latency") for n in first)
    assert any(n == "" for n in first), "probability 0.5 leaves some requests alone"
    assert _faults(kit, rules).status_code == 200  # same seed again: counters restart
    assert _latencies(kit, 12) == first
    _faults(kit, {**rules, "seed": 43})
    assert _latencies(kit, 12) != first


def test_forced_status_answers_in_each_providers_envelope_for_the_first_n_matches(kit: Kit) -> None:
    body = {"rules": [{"id": "down", "api": "dakota", "path": "/customers", "status": 503, "times": 2},
                      {"id": "sumsub-down", "api": "sumsub", "status": 500}]}  # fmt: skip
    assert _faults(kit, body).status_code == 200
    first = kit.admin.list_customers()
    assert first.status_code == 503
    assert first.headers["Content-Type"].startswith("application/problem+json")
    assert first.json()["status"] == 503 and "down" in first.json()["detail"]
    assert kit.admin.list_customers().status_code == 503
    assert kit.admin.list_customers().status_code == 200  # times: 2
    s = kit.donor.health()
    assert s.status_code == 500 and s.json()["code"] == 500 and "correlationId" in s.json()
    kit.http.delete(f"{kit.base_url}/_sandbox/faults")
    assert kit.donor.health().status_code == 200


def test_injected_status_changes_nothing(kit: Kit) -> None:
    token = kit.token()
    _faults(kit, {"rules": [{"id": "x", "api": "dakota", "method": "POST", "status": 502}]})
    assert kit.admin.bulk_import_sumsub_tokens([token]).status_code == 502
    kit.http.delete(f"{kit.base_url}/_sandbox/faults")
    assert kit.control.token_status(token).json()["state"] == "active"
    assert kit.bulk([token])["succeeded"] == 1


def test_connection_reset_in_process_raises_a_connection_error(kit: Kit) -> None:
    _faults(kit, {"rules": [{"id": "cut", "api": "dakota", "path": "/customers", "reset": True}]})
    with pytest.raises(requests.ConnectionError):
        kit.admin.list_customers()
    assert kit.control.journal(api="dakota").json()["entries"][-1]["note"] == "fault cut: connection reset"


def test_connection_reset_over_tcp_drops_the_connection(served_sandbox: ServedSandbox, served: Kit) -> None:
    """The connection is cut before a whole response arrives: the client gets no answer, or a truncated one."""
    _faults(served, {"rules": [{"id": "cut", "api": "dakota", "path": "/customers", "reset": True, "times": 1}]})
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        requests.get(f"{served.base_url}/customers", headers={"x-api-key": served.admin.api_key}, timeout=10)
    assert served.admin.list_customers().status_code == 200
    served.http.delete(f"{served.base_url}/_sandbox/faults")


def test_internal_import_row_latency_slows_each_row(kit: Kit) -> None:
    body = {"rules": [{"api": "internal", "path": "dakota.import_row", "latency": {"ms": 1}}]}
    assert _faults(kit, body).json()["rules"][0]["path"] == "dakota.import_row"
    assert kit.bulk([kit.token(), "junk"])["total"] == 2
    bad = _faults(kit, {"rules": [{"api": "internal", "path": "nope", "latency": {"ms": 1}}]})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"api": "mars", "status": 500}, "api"),
        ({"status": 200}, "status"),
        ({"path": "(", "status": 500}, "path"),
        ({"latency": {"distribution": "lognormal"}}, "latency"),
        ({"latency": {"distribution": "uniform", "min_ms": 5, "max_ms": 1}}, "latency"),
        ({"probability": 2, "status": 500}, "probability"),
        ({"times": 0, "status": 500}, "times"),
        ({}, "rules[0]"),
    ],
)
def test_bad_fault_rules_are_rejected_naming_the_field(kit: Kit, rule: dict[str, Any], field: str) -> None:
    resp = _faults(kit, {"rules": [rule]})
    assert resp.status_code == 400
    assert resp.json()["error"]["field"] == field
    assert kit.http.get(f"{kit.base_url}/_sandbox/faults").json()["rules"] == []


def test_dakota_rate_limit_answers_429_with_headers_and_no_body_per_key(kit: Kit) -> None:
    kit.control.set_clock(frozen=True)
    conf = kit.http.post(f"{kit.base_url}/_sandbox/rate-limits", json={"dakota": {"enabled": True, "get": 2}})
    assert conf.json()["dakota"]["get"] == 2
    ok = kit.admin.list_customers()
    assert ok.headers["X-RateLimit-Limit"] == "2" and ok.headers["X-RateLimit-Remaining"] == "1"
    assert kit.admin.list_customers().status_code == 200
    limited = kit.admin.list_customers()
    assert limited.status_code == 429
    assert limited.content == b""
    assert int(limited.headers["Retry-After"]) >= 1
    assert re.fullmatch(r"\d+", limited.headers["X-RateLimit-Reset"])
    assert kit.other_org.list_customers().status_code == 200  # per API key
    kit.control.advance(61)
    assert kit.admin.list_customers().status_code == 200  # a new window on the simulated clock


def test_sumsub_rate_limit_answers_429_in_sumsubs_envelope(kit: Kit) -> None:
    kit.control.set_clock(frozen=True)
    kit.http.post(f"{kit.base_url}/_sandbox/rate-limits", json={"sumsub": {"enabled": True, "get": 1}})
    assert kit.donor.health().status_code == 200
    limited = kit.donor.health()
    assert limited.status_code == 429
    assert limited.json()["code"] == 429 and limited.json()["description"] == "Too many requests"
    assert kit.donor2.health().status_code == 200
    bad = kit.http.post(f"{kit.base_url}/_sandbox/rate-limits", json={"sumsub": {"get": 0}})
    assert bad.status_code == 400
