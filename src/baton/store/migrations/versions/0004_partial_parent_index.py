"""the index of mapped items by parent holds mapped items only

Revision ID: 0004
Revises: 0003

``ix_tasks_parent_state`` serves the queries about a mapped step's items (``parent_id = ?``). It held an
entry for every task, and every task without a parent (most of them) moved within it at each change of
state: two of the 17.4 pages a chained task's commit wrote (measured from the WAL's frames). Partial,
it holds the items only; ``parent_id = ?`` implies ``parent_id IS NOT NULL``, so SQLite and PostgreSQL
still use it for those queries.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

_ITEMS_ONLY = sa.text("parent_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_tasks_parent_state", table_name="tasks")
    op.create_index(
        "ix_tasks_parent_state",
        "tasks",
        ["parent_id", "state"],
        sqlite_where=_ITEMS_ONLY,
        postgresql_where=_ITEMS_ONLY,
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_parent_state", table_name="tasks")
    op.create_index("ix_tasks_parent_state", "tasks", ["parent_id", "state"])
