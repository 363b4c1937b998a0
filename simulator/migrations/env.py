"""Alembic environment: always run with a connection handed over by `Store.migrate()`."""

from __future__ import annotations

from alembic import context

from simulator.models import metadata

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
