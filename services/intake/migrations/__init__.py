"""intake's schema history: its revisions are in `versions/`, applied at start by
`shared.migrations.upgrade` (see docs/architecture.md, "Schema migrations")."""

from pathlib import Path

# Tables kept beside their use cases (complaints, a case's records, rapid assessments);
# importing them adds them to IntakeTable.metadata.
from services.intake import (  # noqa: F401
    aid_applications,
    assessment,
    case_records,
    complaints,
    families,
)
from services.intake.models import IntakeTable
from shared.migrations import MigrationHistory

HISTORY = MigrationHistory(
    service="intake",
    metadata=IntakeTable.metadata,
    versions=Path(__file__).resolve().parent / "versions",
)
