"""compensating is a run state, its owner a column

Revision ID: 0003
Revises: 0002

A failed run whose compensations were being made was marked by a ``compensating`` key in its options
(the id of the worker making them, or ``true`` from before they could change hands). It becomes the run
state ``compensating`` with that worker in ``runs.compensator`` (NULL for ``true``: any worker takes it
over), and the key leaves the options.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

_runs = sa.table(
    "runs",
    sa.column("id", sa.String),
    sa.column("state", sa.String),
    sa.column("options", sa.Text),
    sa.column("compensator", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("compensator", sa.String(length=80), nullable=True))
    conn = op.get_bind()
    marked = conn.execute(
        sa.select(_runs.c.id, _runs.c.options).where(
            _runs.c.state == "failed", _runs.c.options.contains('"compensating"')
        )
    ).all()
    for run_id, raw in marked:
        options = json.loads(raw)
        owner = options.pop("compensating", None)
        if not owner:
            continue
        conn.execute(
            sa.update(_runs)
            .where(_runs.c.id == run_id)
            .values(
                state="compensating",
                compensator=owner if isinstance(owner, str) else None,
                options=json.dumps(options),
            )
        )


def downgrade() -> None:
    conn = op.get_bind()
    for run_id, raw, owner in conn.execute(
        sa.select(_runs.c.id, _runs.c.options, _runs.c.compensator).where(_runs.c.state == "compensating")
    ).all():
        options = {**json.loads(raw), "compensating": owner or True}
        conn.execute(
            sa.update(_runs).where(_runs.c.id == run_id).values(state="failed", options=json.dumps(options))
        )
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("compensator")
