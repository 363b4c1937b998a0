"""The shared test kit: everything tests share besides fixtures (which live in the conftest.py files).

Test modules import from here (or from a module of this package) and never from another test module or a conftest;
tests/test_suite_layout.py checks that. The common names are re-exported here:

- kit: the seeded credentials (`ADMIN_KEY`, `DONOR_ID`, ...), `Kit` (the reference clients bound to one sandbox) and
  `make_kit`;
- servers: the suite's store (`TEST_STORE`, PostgreSQL helpers) and `ServedSandbox`;
- dakota: `mint_and_import` (the one way to mint a Sumsub share token and import it at Dakota), request headers,
  and small Dakota reads and writes;
- sumsub: the donor's flow over the signed API, hand-signed requests (`sign`) and Sumsub's error envelope.

Modules for one area: bulk (the bulk import), onboarding (Step 3), webhooks, fuzz (raw WSGI calls, store
fingerprints, error envelopes), hostile (strategies of hostile requests), pact, webhook_handler, property, dashboard,
node.
"""

from tests.support.dakota import (
    BULK,
    create_customer,
    create_target,
    customer,
    dakota_headers,
    events,
    field_errors,
    fixture_donor,
    mint_and_import,
    only_row,
    simulate,
    target_for,
    token_state,
)
from tests.support.kit import (
    ADMIN_KEY,
    CLIENTS,
    DAKOTA_CLIENT_ID,
    DONOR2_ID,
    DONOR_ID,
    OTHER_ORG_KEY,
    OTHER_RECIPIENT_ID,
    OWN_CONTRACTS,
    ROOT,
    VENDOR_SPEC,
    VIEWER_KEY,
    Kit,
    check_own_contracts,
    load_own_contracts,
    make_kit,
)
from tests.support.servers import (
    POSTGRES_URL,
    TEST_STORE,
    ServedSandbox,
    free_port,
    postgres_database,
    require_postgres,
    suite_settings,
)
from tests.support.sumsub import (
    PASSPORT_META,
    assert_sumsub_error,
    create_applicant,
    mint,
    png,
    raw_request,
    sign,
    verified_applicant,
)

__all__ = [
    "ADMIN_KEY",
    "BULK",
    "CLIENTS",
    "DAKOTA_CLIENT_ID",
    "DONOR2_ID",
    "DONOR_ID",
    "OTHER_ORG_KEY",
    "OTHER_RECIPIENT_ID",
    "OWN_CONTRACTS",
    "PASSPORT_META",
    "POSTGRES_URL",
    "ROOT",
    "TEST_STORE",
    "VENDOR_SPEC",
    "VIEWER_KEY",
    "Kit",
    "ServedSandbox",
    "assert_sumsub_error",
    "check_own_contracts",
    "create_applicant",
    "create_customer",
    "create_target",
    "customer",
    "dakota_headers",
    "events",
    "field_errors",
    "fixture_donor",
    "free_port",
    "load_own_contracts",
    "make_kit",
    "mint",
    "mint_and_import",
    "only_row",
    "png",
    "postgres_database",
    "raw_request",
    "require_postgres",
    "sign",
    "simulate",
    "suite_settings",
    "target_for",
    "token_state",
    "verified_applicant",
]
