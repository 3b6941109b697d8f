"""intake's schema history: its revisions are in `versions/`, applied at start by
`shared.migrations.upgrade` (see docs/architecture.md, "Schema migrations")."""

from pathlib import Path

from services.intake import complaints  # noqa: F401 - its tables join intake's metadata
from services.intake.models import IntakeTable
from shared.migrations import MigrationHistory

HISTORY = MigrationHistory(
    service="intake",
    metadata=IntakeTable.metadata,
    versions=Path(__file__).resolve().parent / "versions",
)
