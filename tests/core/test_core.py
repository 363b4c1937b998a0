"""Core: ids, clock, settings."""

from __future__ import annotations

import re

import pytest

from simulator.core.clock import Clock
from simulator.core.ids import Ids
from simulator.core.store import Store
from simulator.settings import Settings


def test_seeded_ids_are_reproducible_and_well_formed() -> None:
    a, b = Ids(7), Ids(7)
    seq_a = [a.sumsub_id(), a.ksuid(1_800_000_000), a.uuid4(), a.share_token("http://x")]
    seq_b = [b.sumsub_id(), b.ksuid(1_800_000_000), b.uuid4(), b.share_token("http://x")]
    assert seq_a == seq_b
    assert re.fullmatch(r"[0-9a-f]{24}", seq_a[0])
    assert re.fullmatch(r"[0-9A-Za-z]{27}", seq_a[1])
    assert seq_a[3].startswith("_act-sbx-jwt-") and seq_a[3].endswith(".") and len(seq_a[3]) < 1024


def test_worker_salt_separates_seeded_id_streams() -> None:
    a, b = Ids(7), Ids(7)
    b.reseed(7, salt=2)
    assert a.sumsub_id() != b.sumsub_id()
    b.reseed(7)  # the salt is kept across reseeds
    c = Ids(7)
    c.reseed(7, salt=2)
    assert b.sumsub_id() == c.sumsub_id()


def test_ksuids_sort_by_time() -> None:
    ids = Ids(1)
    assert ids.ksuid(1_700_000_000) < ids.ksuid(1_800_000_000)


def test_clock_is_shared_through_the_store() -> None:
    store = Store("sqlite://")
    store.create_schema()
    wall = [1000.0]
    c1, c2 = Clock(store, wall=lambda: wall[0]), Clock(store, wall=lambda: wall[0])
    with store.write() as s:
        c1.advance(s, 30)
    assert c2.now() == 1030.0
    wall[0] = 1010.0
    assert c2.now() == 1040.0
    with store.write() as s:
        c1.set(s, frozen=True)
    wall[0] = 5000.0
    assert c2.now() == 1040.0


def test_settings_from_env_reads_prefixed_variables_and_rejects_bad_integers() -> None:
    s = Settings.from_env({"SANDBOX_PORT": "9000", "SANDBOX_SEED": "3", "SANDBOX_DATABASE_URL": "sqlite://"})
    assert (s.port, s.seed, s.database_url) == (9000, 3, "sqlite://")
    assert Settings.from_env({"SANDBOX_PORT": "9000"}, port=9100).port == 9100
    with pytest.raises(ValueError, match="SANDBOX_PORT"):
        Settings.from_env({"SANDBOX_PORT": "ninety"})
