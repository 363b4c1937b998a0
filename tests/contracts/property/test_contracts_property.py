"""Property-based run of the three contracts against the sandbox (schemathesis, positive data, bounded, seeded).

For every operation of contracts/openapi/{sumsub,dakota,control}.yaml: generated requests must never get a 5xx, and
every response must have a documented status, content type, headers and body schema.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from tests.support.property import MAX_EXAMPLES, PropertySandbox, contract_schema

SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# Loaded at collection from the same documents the sandbox serves (tests/contracts/test_openapi_documents.py checks
# that /openapi/<api>.json is exactly this).
sumsub = contract_schema("sumsub")
dakota = contract_schema("dakota")
control = contract_schema("control")


@sumsub.parametrize()
@SETTINGS
def test_sumsub_operations_conform_to_the_contract(case: schemathesis.Case, property_sandbox: PropertySandbox) -> None:
    property_sandbox.run("sumsub", case)


@dakota.parametrize()
@SETTINGS
def test_dakota_operations_conform_to_the_contract(case: schemathesis.Case, property_sandbox: PropertySandbox) -> None:
    property_sandbox.run("dakota", case)


@control.parametrize()
@SETTINGS
def test_control_operations_conform_to_the_contract(case: schemathesis.Case, property_sandbox: PropertySandbox) -> None:
    property_sandbox.run("control", case)
