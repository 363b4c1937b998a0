"""Alembic migrations of the sandbox's schema (SQLite and PostgreSQL). See simulator/core/store.py for when they run."""
