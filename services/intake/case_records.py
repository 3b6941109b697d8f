"""The records an audited office keeps on a disaster case, beside the report itself
(issue 15 items 9 and 12):

- its **documents**: the request letter of the village (000: "Surat Permohonan Bantuan
  Korban Bencana ... dari Desa, Kelurahan atau Kecamatan"), the covering letter of the
  village head and camat (003: "Surat pengantar/ laporan dari Kepala Desa/Lurah dan
  camat"), the site survey (003: "Hasil Survei lokasi oleh petugas"), Tagana's data
  (001: "Pendataan Tim Tagana"); a PDF, JPEG or PNG kept on disk like the photos;
- the leadership's **disposition** (000: "Disposisi pimpinan dan validasi informasi"),
  which an office whose standard names it must record before a report is verified;
- the **emergency-status decision** (004: "Penetapan status keadaan darurat bencana").

Each is announced on intake's topic (`shared/contracts/intake.py`). The routes are here,
beside intake's API (`services/intake/app.py` includes `records_router`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar
from uuid import UUID, uuid4

from fastapi import APIRouter, File, Form, Response, UploadFile, status
from fastapi.responses import FileResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from services.intake import handlers
from services.intake.case_record_models import (
    DispositionIn,
    DispositionOut,
    DispositionRow,
    DocumentOut,
    DocumentRow,
    EmergencyStatusIn,
    EmergencyStatusOut,
    EmergencyStatusRow,
)
from services.intake.dependencies import InCallersOffice, SettingsDep
from services.intake.document_files import (
    DocumentFacts,
    inspect_document,
    plain_text,
)
from services.intake.domain import (
    CLOCK_DRIFT_ALLOWANCE,
    IncidentStatus,
    ensure_open_for_decision,
    ensure_open_for_follow_up,
)
from services.intake.models import IncidentRow, VerificationIn
from shared.actors import ActingUserName
from shared.auth import Access, Policy, Role, visible_to_caller
from shared.contracts.intake import (
    DispositionRecorded,
    DocumentKind,
    EmergencyStatusDeclared,
    IncidentDocumentAttached,
)
from shared.errors import (
    Conflict,
    NotFound,
    Unprocessable,
)
from shared.http import ERROR_RESPONSES, ErrorBody
from shared.openapi import file_answer
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

# --- use cases --------------------------------------------------------------------------


def attach_document(
    uow: UnitOfWork,
    incident_id: UUID,
    facts: DocumentFacts,
    *,
    kind: DocumentKind,
    title: str,
    uploaded_by: str,
    document_dir: Path,
) -> tuple[DocumentRow, bool]:
    """Keep a checked document of the incident and announce it; the same file again
    returns the first (False), whatever kind or title it was sent with this time.

    The file is written before the row commits and is named by its hash, so a retried or
    failed transaction leaves at most an identical file, never a row without its file.
    """
    incident = handlers.get_incident(uow, incident_id)
    existing = uow.session.exec(
        select(DocumentRow).where(
            DocumentRow.incident_id == incident.id, DocumentRow.sha256 == facts.sha256
        )
    ).first()
    if existing is not None:
        return existing, False
    row = DocumentRow(
        id=uuid4(),
        incident_id=incident.id,
        kind=kind,
        title=title,
        media_type=facts.media_type,
        extension=facts.extension,
        size_bytes=len(facts.data),
        sha256=facts.sha256,
        uploaded_by=uploaded_by,
        uploaded_at=uow.now(),
    )
    handlers.keep_file(document_dir / str(incident.id) / row.file_name, facts.data)
    uow.session.add(row)
    uow.announce(
        IncidentDocumentAttached,
        office_id=incident.office_id,
        case_id=incident.id,
        occurred_at=row.uploaded_at,
        document_id=row.id,
        kind=kind,
        title=title,
        media_type=facts.media_type,
        size_bytes=row.size_bytes,
        uploaded_by=uploaded_by,
    )
    return row, True


def get_document(uow: UnitOfWork, document_id: UUID) -> DocumentRow:
    """A document's row, or 404 (also when its incident is another office's)."""
    row = uow.session.get(DocumentRow, document_id)
    incident = uow.session.get(IncidentRow, row.incident_id) if row is not None else None
    if row is None or incident is None or not visible_to_caller(incident.office_id):
        raise NotFound(f"no document {document_id}", code="document_not_found")
    return row


def record_disposition(
    uow: UnitOfWork, incident_id: UUID, disposition: DispositionIn, *, recorded_by: str
) -> DispositionRow:
    """Record the leadership's disposition on a report still awaiting validation."""
    incident = handlers.get_incident(uow, incident_id, for_update=True)
    # "Disposisi pimpinan dan validasi informasi" (000): it comes before the decision.
    ensure_open_for_decision(incident.status)
    now = uow.now()
    given_at = disposition.given_at or now
    if given_at > now + CLOCK_DRIFT_ALLOWANCE:
        raise Unprocessable(
            f"given_at {given_at.isoformat()} is in the future", code="given_in_future"
        )
    if given_at < incident.happened_at:
        raise Unprocessable(
            f"given_at {given_at.isoformat()} is before the incident happened "
            f"({incident.happened_at.isoformat()})",
            code="given_before_incident",
        )
    row = DispositionRow(
        id=uuid4(),
        incident_id=incident.id,
        given_by=disposition.given_by,
        position=disposition.position,
        instruction=disposition.instruction,
        given_at=given_at,
        recorded_by=recorded_by,
        recorded_at=now,
    )
    uow.session.add(row)
    uow.announce(
        DispositionRecorded,
        office_id=incident.office_id,
        case_id=incident.id,
        disposition_id=row.id,
        given_by=row.given_by,
        position=row.position,
        instruction=row.instruction,
        given_at=given_at,
        recorded_by=recorded_by,
    )
    return row


def declare_emergency_status(
    uow: UnitOfWork, incident_id: UUID, declared: EmergencyStatusIn, *, recorded_by: str
) -> EmergencyStatusRow:
    """Record an emergency-status decision for the incident's area and announce it."""
    incident = handlers.get_incident(uow, incident_id, for_update=True)
    if incident.status is IncidentStatus.REJECTED:
        # A rejected report names no disaster to declare a status for.
        ensure_open_for_follow_up(incident.status)
    if declared.ends_on < declared.starts_on:
        raise Unprocessable(
            f"ends_on {declared.ends_on} is before starts_on {declared.starts_on}",
            code="ends_before_start",
        )
    now = uow.now()
    row = EmergencyStatusRow(
        id=uuid4(),
        incident_id=incident.id,
        recorded_by=recorded_by,
        recorded_at=now,
        **declared.model_dump(),
    )
    uow.session.add(row)
    uow.announce(
        EmergencyStatusDeclared,
        office_id=incident.office_id,
        case_id=incident.id,
        declaration_id=row.id,
        recorded_by=recorded_by,
        **declared.model_dump(),
    )
    return row


def ensure_disposition_if_required(
    uow: UnitOfWork, incident: IncidentRow, required_offices: frozenset[str]
) -> None:
    """Refuse to validate a report of an office whose standard puts the leadership's
    disposition first (INTAKE_DISPOSITION_REQUIRED_OFFICES) while none is recorded."""
    if incident.office_id not in required_offices or incident.status is not IncidentStatus.REPORTED:
        return
    recorded = uow.session.exec(
        select(DispositionRow.id).where(DispositionRow.incident_id == incident.id)
    ).first()
    if recorded is None:
        raise Conflict(
            "this office's service standard puts the leadership's disposition before "
            "validation (Disposisi pimpinan dan validasi informasi); record it first at "
            f"POST /incidents/{incident.id}/dispositions",
            code="disposition_required",
        )


def verify_after_disposition(
    uow: UnitOfWork,
    incident_id: UUID,
    decision: VerificationIn,
    required_offices: frozenset[str],
) -> IncidentRow:
    """The coordinator's validation, once the office's standard is met."""
    incident = handlers.get_incident(uow, incident_id, for_update=True)
    ensure_disposition_if_required(uow, incident, required_offices)
    return handlers.verify_incident(uow, incident_id, decision)


@dataclass(frozen=True)
class CaseRecords:
    """Everything recorded on a case beside the report, oldest first."""

    documents: Sequence[DocumentRow]
    dispositions: Sequence[DispositionRow]
    emergency_statuses: Sequence[EmergencyStatusRow]
    disposition_required: bool


def records_of(uow: UnitOfWork, incident_id: UUID, required_offices: frozenset[str]) -> CaseRecords:
    """The case's documents, dispositions and emergency statuses (404 for an unknown or
    another office's incident)."""
    incident = handlers.get_incident(uow, incident_id)
    return CaseRecords(
        documents=_of_incident(uow, DocumentRow, incident.id, col(DocumentRow.uploaded_at)),
        dispositions=_of_incident(uow, DispositionRow, incident.id, col(DispositionRow.given_at)),
        emergency_statuses=_of_incident(
            uow, EmergencyStatusRow, incident.id, col(EmergencyStatusRow.starts_on)
        ),
        disposition_required=incident.office_id in required_offices,
    )


Record = TypeVar("Record", DocumentRow, DispositionRow, EmergencyStatusRow)


def _of_incident(
    uow: UnitOfWork, model: type[Record], incident_id: UUID, order: Any
) -> Sequence[Record]:
    query = select(model).where(col(model.incident_id) == incident_id).order_by(order)
    return uow.session.exec(query).all()


# --- HTTP -------------------------------------------------------------------------------

records_router = APIRouter(responses=ERROR_RESPONSES)


@records_router.post(
    "/incidents/{incident_id}/documents",
    dependencies=InCallersOffice,
    status_code=status.HTTP_201_CREATED,
    tags=["case records"],
    summary="Attach a document (letter, site survey) to an incident",
    responses={413: {"model": ErrorBody}, 415: {"model": ErrorBody}},
)
async def upload_document(
    incident_id: UUID,
    *,
    kind: Annotated[DocumentKind, Form(description="What the document is.")],
    title: Annotated[
        str, Form(min_length=1, max_length=200, description="e.g. the letter's number.")
    ],
    document: Annotated[UploadFile, File(description="A PDF, JPEG or PNG.")],
    runtime: RuntimeDep,
    settings: SettingsDep,
    actor: ActingUserName,
    response: Response,
) -> DocumentOut:
    """A request letter, covering letter, site survey or Tagana's data, as a PDF (its
    bytes must begin with `%PDF-` and end with `%%EOF`) or a JPEG or PNG picture (kept
    re-encoded without its metadata), at most INTAKE_DOCUMENT_MAX_BYTES. Announced as
    `IncidentDocumentAttached`. The same file sent again returns the first (200)."""
    name = plain_text(title, "title")
    if not name:
        raise Unprocessable("give the document a title", code="title_missing")
    limit = settings.document_max_bytes
    data = await document.read(limit + 1)
    # Decoding a picture is CPU work: off the event loop too.
    facts = await asyncio.to_thread(
        inspect_document,
        data,
        limit,
        declared_type=document.content_type,
        file_name=document.filename,
    )
    folder = settings.resolved_document_dir()

    def keep(uow: UnitOfWork) -> tuple[DocumentRow, bool]:
        return attach_document(
            uow, incident_id, facts, kind=kind, title=name, uploaded_by=actor, document_dir=folder
        )

    def store() -> tuple[DocumentRow, bool]:
        try:
            return runtime.run(keep)
        except IntegrityError:
            # The same file sent twice at once: the loser's unique index refuses it, and
            # running it again finds the winner's row.
            return runtime.run(keep)

    # The database and the disk are blocking work: off the event loop, like photos.
    row, created = await asyncio.to_thread(store)
    if not created:
        response.status_code = status.HTTP_200_OK
    return DocumentOut.of(row)


@records_router.get(
    "/incidents/{incident_id}/documents",
    dependencies=InCallersOffice,
    tags=["case records"],
    summary="An incident's documents",
)
def list_documents(
    incident_id: UUID, runtime: RuntimeDep, settings: SettingsDep
) -> list[DocumentOut]:
    """Documents of the incident, oldest first."""
    required = settings.disposition_required_offices
    records = runtime.run(lambda uow: records_of(uow, incident_id, required))
    return [DocumentOut.of(row) for row in records.documents]


@records_router.get(
    "/documents/{document_id}",
    tags=["case records"],
    summary="A document's file",
    response_class=FileResponse,
    responses=file_answer("application/pdf", "image/jpeg", "image/png", description="The document"),
)
def get_document_file(
    document_id: UUID, runtime: RuntimeDep, settings: SettingsDep
) -> FileResponse:
    """The file as stored. A PDF comes as a download (a PDF may carry scripts; it is
    opened by the device's viewer, not as a page of this service), a picture inline."""
    row = runtime.run(lambda uow: get_document(uow, document_id))
    path = settings.resolved_document_dir() / str(row.incident_id) / row.file_name
    if not path.is_file():
        raise NotFound(
            f"document {document_id} is recorded but its file is missing", code="document_missing"
        )
    disposition = "attachment" if row.media_type == "application/pdf" else "inline"
    return FileResponse(
        path,
        media_type=row.media_type,
        filename=f"{row.kind.value}-{row.id}.{row.extension}",
        content_disposition_type=disposition,
    )


@records_router.post(
    "/incidents/{incident_id}/dispositions",
    dependencies=InCallersOffice,
    status_code=status.HTTP_201_CREATED,
    tags=["case records"],
    summary="Record the leadership's disposition",
)
def add_disposition(
    incident_id: UUID, disposition: DispositionIn, runtime: RuntimeDep, actor: ActingUserName
) -> DispositionOut:
    """Who (name, position) instructed what, and when, on a report awaiting validation
    (409 `incident_already_decided` after it). Offices in
    INTAKE_DISPOSITION_REQUIRED_OFFICES verify a report only once it has one. Announced
    as `DispositionRecorded`; the signed-in user is recorded as who entered it."""
    row = runtime.run(
        lambda uow: record_disposition(uow, incident_id, disposition, recorded_by=actor)
    )
    return DispositionOut.model_validate(row.model_dump())


@records_router.get(
    "/incidents/{incident_id}/dispositions",
    dependencies=InCallersOffice,
    tags=["case records"],
    summary="An incident's dispositions",
)
def list_dispositions(
    incident_id: UUID, runtime: RuntimeDep, settings: SettingsDep
) -> list[DispositionOut]:
    """Dispositions of the incident, in the order they were given."""
    required = settings.disposition_required_offices
    records = runtime.run(lambda uow: records_of(uow, incident_id, required))
    return [DispositionOut.model_validate(row.model_dump()) for row in records.dispositions]


@records_router.post(
    "/incidents/{incident_id}/emergency-statuses",
    dependencies=InCallersOffice,
    status_code=status.HTTP_201_CREATED,
    tags=["case records"],
    summary="Record an emergency-status decision",
)
def add_emergency_status(
    incident_id: UUID, declared: EmergencyStatusIn, runtime: RuntimeDep, actor: ActingUserName
) -> EmergencyStatusOut:
    """The status (siaga, tanggap darurat, transisi), who declared it at which level,
    from and to which day, and the decree's number (422 `ends_before_start` when it ends
    before it starts; 409 `incident_closed` on a rejected report). An extension is
    another decision. Announced as `EmergencyStatusDeclared`."""
    row = runtime.run(
        lambda uow: declare_emergency_status(uow, incident_id, declared, recorded_by=actor)
    )
    return EmergencyStatusOut.model_validate(row.model_dump())


@records_router.get(
    "/incidents/{incident_id}/emergency-statuses",
    dependencies=InCallersOffice,
    tags=["case records"],
    summary="An incident's emergency-status decisions",
)
def list_emergency_statuses(
    incident_id: UUID, runtime: RuntimeDep, settings: SettingsDep
) -> list[EmergencyStatusOut]:
    """Emergency-status decisions of the incident, by their first day."""
    required = settings.disposition_required_offices
    records = runtime.run(lambda uow: records_of(uow, incident_id, required))
    return [
        EmergencyStatusOut.model_validate(row.model_dump()) for row in records.emergency_statuses
    ]


RECORDS_SCRIPT = Path(__file__).parent / "static" / "case-records.js"


@records_router.get("/case-records.js", include_in_schema=False)
def records_script() -> FileResponse:
    """The report page's script for the case's records (the CSP allows no inline script)."""
    return FileResponse(
        RECORDS_SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-cache"}
    )


FIELD = (Role.FIELD_TEAM, Role.COORDINATOR)
CASE_RECORDS_ACCESS: Policy = {
    # Tagana teams bring the survey and the village's letters; coordinators file them too.
    "POST /incidents/{incident_id}/documents": Access.of(*FIELD),
    "GET /incidents/{incident_id}/documents": Access.of(*FIELD),
    "GET /documents/{document_id}": Access.of(*FIELD),
    # Decisions of the office's leadership, entered by the coordinators.
    "POST /incidents/{incident_id}/dispositions": Access.of(Role.COORDINATOR),
    "GET /incidents/{incident_id}/dispositions": Access.of(*FIELD),
    "POST /incidents/{incident_id}/emergency-statuses": Access.of(Role.COORDINATOR),
    "GET /incidents/{incident_id}/emergency-statuses": Access.of(*FIELD),
    # Code only, no data in it.
    "GET /case-records.js": Access.anyone(),
}
