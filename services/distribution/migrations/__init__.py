"""distribution's schema history: its revisions are in `versions/`, applied at start by
`shared.migrations.upgrade` (see docs/architecture.md, "Schema migrations")."""

from pathlib import Path

from services.distribution.models.base import DistributionTable
from shared.migrations import MigrationHistory

HISTORY = MigrationHistory(
    service="distribution",
    metadata=DistributionTable.metadata,
    versions=Path(__file__).resolve().parent / "versions",
)
