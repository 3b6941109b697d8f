"""Alembic's entry point for every service's history: the history and the connection come
from `shared.migrations` (Alembic is driven from Python, never from an alembic.ini)."""

from shared.migrations import run_in_alembic_context

run_in_alembic_context()
