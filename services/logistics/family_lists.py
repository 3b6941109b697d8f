"""The affected families of an incident, as the handover record (BAST) of the aid sent
there attaches them (issue 15 item 11: "the handover record (BAST) per family or per
location with the list attached").

intake owns the list (KK and NIK sealed there); logistics learns it from
`AffectedFamiliesListed`, which carries only the heads' names, the KK masked and each
family's size. The newest revision is kept per incident; an older one arriving late (a
redelivery, topics reordered) changes nothing. The BAST's second page prints it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from fpdf import FPDF
from sqlalchemy import JSON, Column
from sqlmodel import Field as SQLField

from services.logistics.models.base import LogisticsTable
from shared.columns import UTCDateTime
from shared.contracts.intake_disaster_aid import AffectedFamiliesListed, FamilyOnList
from shared.pdf import FONT, table
from shared.unit_of_work import UnitOfWork


class IncidentFamilyListRow(LogisticsTable, table=True):
    """The newest list of an incident's affected families logistics has seen."""

    __tablename__ = "incident_family_list"

    case_id: UUID = SQLField(primary_key=True)
    office_id: str = SQLField(max_length=40)
    revision: int
    families: list[dict[str, Any]] = SQLField(sa_column=Column(JSON, nullable=False))
    listed_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


def keep_family_list(uow: UnitOfWork, event: AffectedFamiliesListed) -> None:
    """Keep the list if it is newer than the one kept (a snapshot: the highest revision
    wins, whatever order the events arrive in)."""
    row = uow.session.get(IncidentFamilyListRow, event.case_id, with_for_update=True)
    if row is not None and (row.office_id != event.office_id or row.revision >= event.revision):
        return
    families = [family.model_dump() for family in event.families]
    if row is None:
        row = IncidentFamilyListRow(
            case_id=event.case_id,
            office_id=event.office_id,
            revision=event.revision,
            families=families,
            listed_at=event.occurred_at,
        )
    else:
        row.revision, row.families, row.listed_at = event.revision, families, event.occurred_at
    uow.session.add(row)


def families_of_case(uow: UnitOfWork, case_id: UUID, office_id: str) -> list[FamilyOnList]:
    """The families kept for an incident of `office_id` (none for another office's)."""
    row = uow.session.get(IncidentFamilyListRow, case_id)
    if row is None or row.office_id != office_id:
        return []
    return [FamilyOnList.model_validate(family) for family in row.families]


def family_list_page(pdf: FPDF, number: str, families: Sequence[FamilyOnList]) -> None:
    """The BAST's attachment: the families of the location the goods went to, heads'
    names and KK masked (personal data, 004: "dirahasiakan"), with their total."""
    pdf.add_page()
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 7, f"LAMPIRAN BERITA ACARA SERAH TERIMA {number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    pdf.cell(0, 6, "Daftar keluarga terdampak penerima bantuan", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    table(
        pdf,
        ("No", "Nama kepala keluarga", "No. KK", "Jumlah jiwa"),
        (12, 88, 45, 25),
        [
            (i, family.head_name[:50], family.kk_masked, family.members)
            for i, family in enumerate(families, start=1)
        ],
    )
    pdf.ln(2)
    members = sum(family.members for family in families)
    pdf.cell(0, 6, f"Jumlah: {len(families)} KK, {members} jiwa", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 8)
    pdf.multi_cell(
        0,
        5,
        "Nomor KK disamarkan: data pribadi keluarga dirahasiakan. Daftar lengkap ada pada "
        "Dinas Sosial.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
