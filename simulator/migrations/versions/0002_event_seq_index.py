"""dakota_events: one (organization_id, seq) index instead of one on each column

The next event's seq is max(seq) over its organisation's events, read by every bulk import; with an index on
organization_id alone SQLite scanned all of the organisation's events for it. The composite index answers it in
one step and serves the per-organisation listing (ordered by seq) as well.

Revision ID: 0002_event_seq_index
Revises: 0001_initial
Create Date: 2026-11-26 04:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0002_event_seq_index"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dakota_events_org_seq", "dakota_events", ["organization_id", "seq"], unique=False)
    op.drop_index("ix_dakota_events_seq", table_name="dakota_events")
    op.drop_index("ix_dakota_events_organization_id", table_name="dakota_events")


def downgrade() -> None:
    op.create_index("ix_dakota_events_organization_id", "dakota_events", ["organization_id"], unique=False)
    op.create_index("ix_dakota_events_seq", "dakota_events", ["seq"], unique=False)
    op.drop_index("ix_dakota_events_org_seq", table_name="dakota_events")
