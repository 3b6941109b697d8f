"""The recipient list's use cases beyond a single registration: importing the office's
spreadsheet (exported from DTKS/DTSEN), a person's standing against permakanan's
requirements, the office's decision on a program's list (000: "ditetapkan sebagai
Penerima Bantuan"), and the registry searched and paged for the screens.

An import is all-or-nothing for the rows it accepts: every accepted row is registered in
one transaction (a failure of the database saves none of them), refused rows are reported
with their row number and reason, and a dry run checks everything, duplicates against the
registry included, then rolls back."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, StringConstraints, ValidationError
from sqlmodel import col, select

from services.distribution import enrolments, permakanan, registry
from services.distribution.common import Policy
from services.distribution.eligibility import (
    DECREE_WORDS,
    Ineligibility,
    SocialRegister,
    permakanan_ineligibility,
)
from services.distribution.eligibility_rules import (
    check_birth_date,
    eligibility_columns,
    facts_of,
)
from services.distribution.listing import page_of
from services.distribution.models.permakanan import EnrolmentIn, EnrolmentStatus, ListDecisionRow
from services.distribution.models.registry import (
    AddressIn,
    EligibilityIn,
    RecipientIn,
    RecipientKind,
    RecipientRow,
)
from services.distribution.spreadsheet import Cell, FileRefused, parse_day, parse_flag, read_sheet
from shared.auth import scoped_office
from shared.contracts.envelope import GeoPoint, ShortText
from shared.errors import Conflict, DomainError, Oversized, Unprocessable
from shared.http import ApiModel
from shared.paging import Page
from shared.unit_of_work import UnitOfWork


class TooLarge(Oversized):
    """413: the file is larger, or has more rows, than an import takes."""

    code = "file_too_large"


# --- import -------------------------------------------------------------------------------


class ImportedRow(BaseModel):
    """A row registered (or, in a dry run, that would be)."""

    row: int
    recipient_id: UUID
    permakanan_ineligible: list[Ineligibility] = Field(
        description="Requirements of permakanan this person does not meet yet (000)."
    )


class RefusedRow(BaseModel):
    """A row left out, with the reason."""

    row: int = Field(description="The row's number in the sheet (the header is its own row).")
    error: str
    detail: str


class ImportReport(BaseModel):
    """What an import did (or would do, in a dry run)."""

    dry_run: bool
    rows: int
    accepted: int
    refused: list[RefusedRow]
    imported: list[ImportedRow]
    ignored_columns: list[str] = Field(description="Headers not read (unknown names).")


class _DryRun(Exception):
    """Raised at the end of a dry run's transaction so that nothing of it is kept."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("dry run")
        self.report = report


def file_refusal(refused: FileRefused) -> DomainError:
    """The HTTP refusal for a file that cannot be read at all."""
    if refused.code == "too_many_rows":
        return TooLarge(str(refused), code="too_many_rows")
    return Unprocessable(str(refused), code=refused.code)


def import_recipients(
    runtime: Any, policy: Policy, data: bytes, *, max_rows: int, dry_run: bool, today: date
) -> ImportReport:
    """Register the sheet's valid rows in one transaction (none of them if it fails);
    a dry run answers the same report and keeps nothing."""
    try:
        sheet = read_sheet(data, max_rows=max_rows)
    except FileRefused as refused:
        raise file_refusal(refused) from refused

    def work(uow: UnitOfWork) -> ImportReport:
        refused: list[RefusedRow] = []
        imported: list[ImportedRow] = []
        first_row_of_nik: dict[str, int] = {}
        for number, cells in sheet.rows:
            nik = cells["nik"].text.replace(" ", "")
            if nik in first_row_of_nik:
                refused.append(
                    RefusedRow(
                        row=number,
                        error="duplicate_in_file",
                        detail=f"the same NIK as row {first_row_of_nik[nik]}",
                    )
                )
                continue
            first_row_of_nik.setdefault(nik, number)
            try:
                body = row_to_recipient(cells, sheet.register_from_header)
                recipient = registry.register_recipient(uow, policy, body)
            except RowRefused as problem:
                refused.append(RefusedRow(row=number, error=problem.code, detail=str(problem)))
                continue
            except DomainError as problem:
                refused.append(
                    RefusedRow(row=number, error=problem.error_code, detail=problem.detail)
                )
                continue
            imported.append(
                ImportedRow(
                    row=number,
                    recipient_id=recipient.id,
                    permakanan_ineligible=permakanan_ineligibility(facts_of(recipient), on=today),
                )
            )
        report = ImportReport(
            dry_run=dry_run,
            rows=len(sheet.rows),
            accepted=len(imported),
            refused=refused,
            imported=imported,
            ignored_columns=sheet.ignored,
        )
        if dry_run:
            raise _DryRun(report)
        uow.audit(
            action="RecipientsImported",
            entity="recipient_import",
            entity_id=str(uuid4()),
            office_id=scoped_office() or policy.office_id,
            details={
                "rows": report.rows,
                "accepted": report.accepted,
                "refused": len(refused),
                "file_sha256": hashlib.sha256(data).hexdigest(),
            },
        )
        return report

    try:
        result: ImportReport = runtime.run(work)
    except _DryRun as dry:
        return dry.report
    return result


class RowRefused(ValueError):
    """One row's problem, before the registry's own checks."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def _text_number(cell: Cell, what: str, code: str) -> str | None:
    if cell.numeric:
        raise RowRefused(
            code,
            f"the {what} is stored as a number, which keeps only 15 digits: format the "
            "column as text and type it again",
        )
    digits = re.sub(r"[\s.-]", "", cell.text)
    return digits or None


def _coordinate(cell: Cell, what: str) -> float:
    try:
        return float(cell.text.replace(",", "."))
    except ValueError:
        raise RowRefused("invalid_position", f"{what} {cell.text!r} is not a number") from None


def _phone(cell: Cell) -> str | None:
    digits = re.sub(r"[\s().-]", "", cell.text)
    if cell.numeric and digits.startswith("8"):
        digits = "0" + digits  # the sheet dropped the leading zero of 08...
    return digits or None


def row_to_recipient(cells: dict[str, Cell], register_from_header: str | None) -> RecipientIn:
    """One row as a registration (not yet verified at home); RowRefused names what is
    wrong with the row's cells."""

    def text(field: str) -> str | None:
        cell = cells.get(field)
        return cell.text.strip() or None if cell is not None else None

    def flag(field: str) -> bool:
        try:
            return parse_flag(text(field) or "")
        except ValueError as problem:
            raise RowRefused("invalid_flag", f"{field}: {problem}") from problem

    nik = _text_number(cells["nik"], "NIK", "nik_not_text")
    kk = _text_number(cells["kk"], "KK number", "kk_not_text") if "kk" in cells else None
    born_text = text("birth_date")
    try:
        born = parse_day(born_text) if born_text else None
    except ValueError as problem:
        raise RowRefused("invalid_birth_date", str(problem)) from problem
    register_id = text("social_register_id")
    # An "ID DTKS" column names the register of the ids in it; an empty cell: no register.
    register_name = text("social_register") or (register_id and register_from_header) or ""
    register_text = register_name.lower() or None
    try:
        eligibility = EligibilityIn(
            social_register=SocialRegister(register_text) if register_text else None,
            social_register_id=register_id,
            birth_date=born,
            disability=flag("disability"),
            neglected_child=flag("neglected_child"),
            receives_pkh=flag("receives_pkh"),
            receives_sembako=flag("receives_sembako"),
        )
        return RecipientIn(
            kind=RecipientKind.PERSON,
            name=text("name") or "",
            nik=nik,
            kk=kk,
            phone=_phone(cells["phone"]) if "phone" in cells else None,
            address=AddressIn(
                street=text("street"),
                district=text("district") or "",
                village=text("village") or "",
                postal_code=text("postal_code"),
            ),
            position=GeoPoint(
                lat=_coordinate(cells["lat"], "Lintang"), lon=_coordinate(cells["lon"], "Bujur")
            ),
            eligibility=eligibility,
        )
    except RowRefused:
        raise
    except ValueError as problem:  # ValidationError, and an unknown register's name
        raise RowRefused("invalid_row", _validation_words(problem)) from problem


def _validation_words(problem: ValueError) -> str:
    if not isinstance(problem, ValidationError):
        return f"{problem} (the register is DTKS, DTSEN or P3KE)"
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'row'}: {error['msg']}"
        for error in problem.errors()
    )


# --- standing against the requirements -----------------------------------------------------


class ReasonOut(BaseModel):
    """A requirement not met, with the decree's words."""

    reason: Ineligibility
    rule: str


class EligibilityOut(BaseModel):
    """Whether the person may be enrolled in permakanan today (the office's date)."""

    recipient_id: UUID
    eligible: bool
    on: date
    reasons: list[ReasonOut]


def eligibility_of(row: RecipientRow, *, on: date) -> EligibilityOut:
    """The person's standing on `on`; an institution never qualifies (persons only)."""
    reasons = permakanan_ineligibility(facts_of(row), on=on)
    return EligibilityOut(
        recipient_id=row.id,
        eligible=row.kind is RecipientKind.PERSON and not reasons,
        on=on,
        reasons=[ReasonOut(reason=reason, rule=DECREE_WORDS[reason]) for reason in reasons],
    )


def record_eligibility(
    uow: UnitOfWork, policy: Policy, recipient_id: UUID, body: EligibilityIn, *, today: date
) -> RecipientRow:
    """Replace a person's standing (a new DTKS extract, a PKH decision): audited with the
    fields that changed, never their values."""
    row = registry.get_recipient(uow, recipient_id)
    if row.kind is not RecipientKind.PERSON:
        raise Unprocessable("only persons receive permakanan", code="not_a_person")
    if body.birth_date is not None:
        check_birth_date(body.birth_date, today=today)
    else:
        body = body.model_copy(update={"birth_date": row.birth_date})
    columns = eligibility_columns(body, policy.vault)
    changed = [
        name
        for name, value in columns.items()
        if name != "social_register_id_token" and getattr(row, name) != value
    ]
    if body.social_register_id is not None or row.social_register_id_token is not None:
        changed.append("social_register_id")
    for name, value in columns.items():
        setattr(row, name, value)
    uow.session.add(row)
    uow.audit(
        action="EligibilityRecorded",
        entity="recipient",
        entity_id=str(row.id),
        office_id=row.office_id,
        details={"fields": changed},
    )
    return row


# --- the office's decision on the list --------------------------------------------------


DecreeNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=100)
]


class DecisionIn(ApiModel):
    """The office's decision (SK) setting a program's recipients."""

    number: DecreeNumber = Field(description="e.g. 'B-123/DINSOS/LJS/01/2026'.")
    decided_on: date
    decided_by: ShortText = Field(description="Who signed it, e.g. 'Kepala Dinas Sosial'.")
    recipient_ids: list[UUID] = Field(min_length=1, max_length=5000)


class DecisionOut(BaseModel):
    """A recorded decision and how many recipients it lists."""

    id: UUID
    program_id: UUID
    number: str
    decided_on: date
    decided_by: str
    recipients: int
    recorded_at: Any


def record_decision(
    uow: UnitOfWork, program_id: UUID, body: DecisionIn, *, today: date
) -> ListDecisionRow:
    """Record the decision and enrol everyone it lists (active, naming it). One listed
    person who cannot be enrolled (not eligible, not verified, under review, unknown)
    refuses the whole decision, 422 `decision_recipients_refused` naming each: a decree
    is recorded as signed, not in part."""
    program = permakanan.get_program(uow, program_id)
    if body.decided_on > today:
        raise Unprocessable("the decision's date is in the future", code="decided_in_future")
    if len(set(body.recipient_ids)) != len(body.recipient_ids):
        raise Unprocessable("a recipient is listed twice", code="duplicate_recipient")
    for recipient_id in body.recipient_ids:
        registry.get_recipient(uow, recipient_id)  # 404 for an unknown or another office's
    taken = uow.session.exec(
        select(ListDecisionRow.id).where(
            ListDecisionRow.program_id == program_id, ListDecisionRow.number == body.number
        )
    ).first()
    if taken is not None:
        raise Conflict(
            f"decision {body.number} is already recorded as {taken}", code="decision_recorded"
        )
    decision = ListDecisionRow(
        office_id=program.office_id,
        program_id=program_id,
        number=body.number,
        decided_on=body.decided_on,
        decided_by=body.decided_by,
        recipients=len(body.recipient_ids),
        recorded_at=uow.now(),
    )
    uow.session.add(decision)
    uow.session.flush()
    problems: list[str] = []
    for recipient_id in body.recipient_ids:
        try:
            enrolment = enrolments.enrol(
                uow, program_id, EnrolmentIn(recipient_id=recipient_id), today=today
            )
        except DomainError as refused:
            problems.append(f"{recipient_id}: {refused.error_code} ({refused.detail})")
            continue
        if enrolment.status is EnrolmentStatus.ENDED:
            problems.append(f"{recipient_id}: enrolment_ended (replaced earlier)")
            continue
        enrolment.decision_id = enrolment.decision_id or decision.id
        uow.session.add(enrolment)
    if problems:
        raise Unprocessable(
            f"{len(problems)} of {len(body.recipient_ids)} listed recipients cannot be "
            f"enrolled; nothing was recorded: {'; '.join(problems)}",
            code="decision_recipients_refused",
        )
    uow.audit(
        action="RecipientListDecided",
        entity="permakanan_program",
        entity_id=str(program_id),
        office_id=program.office_id,
        details={
            "decision_id": str(decision.id),
            "number": decision.number,
            "decided_on": decision.decided_on.isoformat(),
            "decided_by": decision.decided_by,
            "recipients": decision.recipients,
        },
    )
    return decision


def decisions_of(
    uow: UnitOfWork, program_id: UUID, *, after: str | None = None, limit: int
) -> Page[ListDecisionRow]:
    """A page of a program's decisions, oldest first."""
    permakanan.get_program(uow, program_id)
    query = select(ListDecisionRow).where(ListDecisionRow.program_id == program_id)
    key = (
        col(ListDecisionRow.decided_on),
        col(ListDecisionRow.recorded_at),
        col(ListDecisionRow.id),
    )
    return page_of(uow.session, query, key, types=(date, datetime, UUID), after=after, limit=limit)


def decision_view(row: ListDecisionRow) -> DecisionOut:
    """The API view of a decision."""
    return DecisionOut.model_validate(row, from_attributes=True)
