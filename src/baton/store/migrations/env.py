"""Alembic environment: baton always passes an open connection (see baton.store.database)."""

from __future__ import annotations

from alembic import context

from baton.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
context.run_migrations()
