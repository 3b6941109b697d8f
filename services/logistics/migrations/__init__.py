"""logistics's schema history: its revisions are in `versions/`, applied at start by
`shared.migrations.upgrade` (see docs/architecture.md, "Schema migrations")."""

from pathlib import Path

# The affected families' lists live beside their use (services/logistics/family_lists.py).
from services.logistics import family_lists  # noqa: F401
from services.logistics.models.base import LogisticsTable
from shared.migrations import MigrationHistory

HISTORY = MigrationHistory(
    service="logistics",
    metadata=LogisticsTable.metadata,
    versions=Path(__file__).resolve().parent / "versions",
)
