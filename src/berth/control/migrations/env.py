"""Alembic environment: the registry applies migrations itself at start-up (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from berth.control.db import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite can only ALTER through table copies
)
with context.begin_transaction():
    context.run_migrations()
