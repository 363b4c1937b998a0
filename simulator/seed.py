"""Seed data: Sumsub workspaces and partnerships, the level catalogue, Dakota organisations and API keys.

The credentials are fixed, well-known sandbox values (like a payment provider's test keys), so README examples and
CI scripts work verbatim. They are sandbox-only and grant nothing anywhere else.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from simulator.core.store import Base
from simulator.core.tx import Tx
from simulator.dakota.models import ApiKey
from simulator.sumsub.levels import DEFAULT_LEVELS
from simulator.sumsub.models import Level, Partnership, SumsubClient

DAKOTA_ORG_ID = "2hSbxDakotaSandboxOrg000001"
OTHER_ORG_ID = "2hSbxOtherSandboxOrg0000002"

SUMSUB_CLIENTS: list[dict[str, Any]] = [
    {
        "client_id": "dakota.xyz_158913",
        "name": "Dakota",
        "role": "recipient",
        "key": "DAKOTAXYZSBX",
        "app_token": "sbx:dakotaRecipientSandboxToken00000001.DakotaSbxAppTokenPrivatePart01",
        "secret_key": "dakotaSandboxSecretKey0000000001",
    },
    {
        "client_id": "acme-wallet_20419",
        "name": "Acme Wallet (donor)",
        "role": "donor",
        "key": "ACMEWALLETSBX",
        "app_token": "sbx:acmeWalletDonorSandboxToken000000001.AcmeSbxAppTokenPrivatePart0001",
        "secret_key": "acmeWalletSandboxSecretKey000001",
    },
    {
        "client_id": "globex-exchange_55120",
        "name": "Globex Exchange (donor)",
        "role": "donor",
        "key": "GLOBEXSBX",
        "app_token": "sbx:globexDonorSandboxToken00000000000001.GlobexSbxAppTokenPrivatePart001",
        "secret_key": "globexSandboxSecretKey0000000001",
    },
    {
        "client_id": "initech-bank_77001",
        "name": "Initech Bank (another recipient)",
        "role": "recipient",
        "key": "INITECHSBX",
        "app_token": "sbx:initechRecipientSandboxToken000000001.InitechSbxAppTokenPrivatePart1",
        "secret_key": "initechSandboxSecretKey000000001",
    },
]

# Both donors share with Dakota; Acme also shares with Initech (for "token minted for another client").
PARTNERSHIPS = [
    ("acme-wallet_20419", "dakota.xyz_158913"),
    ("globex-exchange_55120", "dakota.xyz_158913"),
    ("acme-wallet_20419", "initech-bank_77001"),
]

DAKOTA_KEYS: list[dict[str, Any]] = [
    {
        "key": "dk_sandbox_admin_4KLkSmzQbL6Xs8xnUjssdGHX7PfhHpAb",
        "organization_id": DAKOTA_ORG_ID,
        "role": "admin",
        "permissions": ["manage_compliance_applications"],
        "name": "Sandbox admin",
    },
    {
        "key": "dk_sandbox_viewer_9QmWn2VbXc7LpR4tYh8JkD3sFgA6eZu",
        "organization_id": DAKOTA_ORG_ID,
        "role": "viewer",
        "permissions": [],
        "name": "Sandbox viewer",
    },
    {
        "key": "dk_sandbox_other_org_admin_Tq5Wm8Nc2Lz7Xv4Bp9Rk3Hs6",
        "organization_id": OTHER_ORG_ID,
        "role": "admin",
        "permissions": ["manage_compliance_applications"],
        "name": "Another organisation's admin",
    },
]


def is_seeded(tx: Tx) -> bool:
    return tx.scalar(select(SumsubClient.client_id).limit(1)) is not None


def seed(tx: Tx) -> None:
    """Insert the seed rows (into empty tables)."""
    for c in SUMSUB_CLIENTS:
        tx.add(SumsubClient(**c))
    tx.flush()
    for donor, recipient in PARTNERSHIPS:
        tx.add(Partnership(donor_client_id=donor, recipient_client_id=recipient))
    for lvl in DEFAULT_LEVELS:
        tx.add(Level(name=lvl["name"], doc_sets=lvl["doc_sets"], description=lvl["description"]))
    for k in DAKOTA_KEYS:
        tx.add(ApiKey(**k))


def wipe(tx: Tx) -> None:
    """Delete every row of every table (children first), leaving the schema."""
    for table in reversed(Base.metadata.sorted_tables):
        tx.execute(delete(table))
    tx.mark_state_changed()


def ensure_seeded(tx: Tx) -> bool:
    """Seed an empty store; True when it seeded."""
    if is_seeded(tx):
        return False
    seed(tx)
    return True
