"""notify's schema history: its revisions are in `versions/`, applied at start by
`shared.migrations.upgrade` (see docs/architecture.md, "Schema migrations")."""

from pathlib import Path

from services.notify.models import NotifyTable
from shared.migrations import MigrationHistory

HISTORY = MigrationHistory(
    service="notify",
    metadata=NotifyTable.metadata,
    versions=Path(__file__).resolve().parent / "versions",
)
