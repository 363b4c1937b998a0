"""Pact: names, credentials and matchers shared by the consumer tests (tests/contracts/consumer), and the pact files
they write (checked by the provider tests, tests/contracts/provider)."""

from __future__ import annotations

from typing import Any

from pact import generate, match

from tests.support.kit import CLIENTS, DAKOTA_CLIENT_ID, DONOR_ID, ROOT

PACT_DIR = ROOT / "contracts" / "pacts"

SUMSUB_CONSUMER = "kyc-sandbox-sumsub-client"
DAKOTA_CONSUMER = "kyc-sandbox-dakota-client"
WEBHOOKS = "kyc-sandbox-webhook-handler"
OWNED_PACT_FILES = (
    f"{SUMSUB_CONSUMER}-sumsub.json",
    f"{DAKOTA_CONSUMER}-dakota.json",
    f"{WEBHOOKS}-dakota.json",
    f"{WEBHOOKS}-sumsub.json",
)

# The seeded clients whose credentials the Sumsub consumer signs with.
DONOR = CLIENTS[DONOR_ID]
DAKOTA_SUMSUB = CLIENTS[DAKOTA_CLIENT_ID]

# Example values: what the mock server answers and the verifier sends when no provider state overrides them.
APPLICANT_ID = "5f1e3b2a9c8d7e6f5a4b3c2d"
KSUID = "2ZbF1cQmXo4yP7sT9vW3kLn8RtA"
TOKEN = "_act-sbx-jwt-eyJhbGciOiJub25lIn0.eyJqdGkiOiJfYWN0LXNieC1leGFtcGxlIn0."
APPLICATION_TOKEN = "s4ndb0xApplicationTokenExample000000000001"

HEX24 = r"^[0-9a-f]{24}$"
KSUID_RE = r"^[0-9A-Za-z]{27}$"
TOKEN_RE = r"^_act-sbx-jwt-[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.$"
SUMSUB_TIME = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"


def from_state(expression: str, example: str) -> Any:
    """A value the verifier takes from the provider state's answer (e.g. "${token}"); `example` for the mock."""
    return match.like(example, generator=generate.provider_state(expression))


def hex24(example: str = APPLICANT_ID) -> Any:
    return match.regex(example, regex=HEX24)


def ksuid(example: str = KSUID) -> Any:
    return match.regex(example, regex=KSUID_RE)


def signed_by(client: dict[str, Any]) -> dict[str, Any]:
    """Sumsub's signing headers: the app token is fixed per client; timestamp and signature vary per request."""
    return {
        "X-App-Token": match.regex(client["app_token"], regex=r"^sbx:\S+$"),
        "X-App-Access-Ts": match.regex("1764000000", regex=r"^\d{10}$"),
        "X-App-Access-Sig": match.regex("0" * 64, regex=r"^[0-9a-f]{64}$"),
    }
