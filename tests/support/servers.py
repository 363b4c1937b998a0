"""The store the suite runs on (SQLite in memory, or the PostgreSQL test server), and served sandboxes.

`KYC_SANDBOX_TEST_STORE=postgresql` runs the same tests on the PostgreSQL server at KYC_SANDBOX_TEST_POSTGRES_URL (the
project's machines have one on 127.0.0.1:5432); `KYC_SANDBOX_REQUIRE_POSTGRES=1` (CI) makes a missing server a failure.
"""

from __future__ import annotations

import os
import socket

import pytest

from simulator.harness.pytest_plugin import SandboxProcess
from simulator.settings import Settings

TEST_STORE = os.environ.get("KYC_SANDBOX_TEST_STORE", "sqlite")
POSTGRES_URL = os.environ.get("KYC_SANDBOX_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("KYC_SANDBOX_REQUIRE_POSTGRES") == "1"


def suite_settings(database_url: str) -> Settings:
    """The settings of the suite's sandbox (`app` fixture): seeded, a small journal, background dispatch off."""
    return Settings(database_url=database_url, seed=1234, journal_size=200, background_dispatch=0)


def postgres_available(url: str = POSTGRES_URL) -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:
        return False
    return True


_FRESH: set[str] = set()


def fresh_schema(url: str) -> None:
    """Empty the database's public schema (once per test session): the server outlives test runs, and a schema
    left by an older checkout must not leak into this one."""
    import psycopg

    plain = url.split("?", maxsplit=1)[0].replace("postgresql+psycopg://", "postgresql://")
    if plain in _FRESH:
        return
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    _FRESH.add(plain)


def postgres_database(name: str) -> str:
    """A URL for database `name` on the test server, created on first use and emptied once per session."""
    import psycopg

    base = POSTGRES_URL.split("?")[0].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(base, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    server, _, query = POSTGRES_URL.partition("?")
    url = server.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")
    fresh_schema(url)
    return url


def require_postgres() -> None:
    """Skip without PostgreSQL on a laptop; in CI (KYC_SANDBOX_REQUIRE_POSTGRES=1) a missing server fails."""
    if postgres_available():
        return
    if REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL is required (KYC_SANDBOX_REQUIRE_POSTGRES=1) but {POSTGRES_URL} is unreachable")
    pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")


# ---------------------------------------------------------------- a real served sandbox
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServedSandbox(SandboxProcess):
    """`kyc-sandbox serve` in a subprocess on a free port (the plugin's process manager, with test defaults)."""

    def __init__(self, workers: int = 1, database_url: str | None = None) -> None:
        super().__init__(workers=workers, database_url=database_url)
