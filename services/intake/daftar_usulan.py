"""The Daftar Usulan Bencana Sosial (003's product): the office's proposed disaster aid
as a spreadsheet, one row per application, the KK masked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal
from zoneinfo import ZoneInfo

from services.intake.aid_applications import Listed
from shared.exports import Column as SheetColumn
from shared.exports import Kind, xlsx
from shared.privacy import PersonalDataVault, mask_number

ApplicationStatus = Literal[
    "filed", "documents_complete", "proposed", "granted", "declined", "withdrawn"
]


# --- the Daftar Usulan Bencana Sosial (003's product) -----------------------------------

DAFTAR_COLUMNS = (
    SheetColumn("No", Kind.INTEGER, width=5),
    SheetColumn("Nama Kepala Keluarga"),
    SheetColumn("No. KK"),
    SheetColumn("Jumlah Jiwa", Kind.INTEGER),
    SheetColumn("Alamat"),
    SheetColumn("Desa/Kelurahan"),
    SheetColumn("Kecamatan"),
    SheetColumn("Jenis Bencana"),
    SheetColumn("Tanggal Kejadian", Kind.DATE),
    SheetColumn("Jenis Bantuan"),
    SheetColumn("Tingkat Kerusakan"),
    SheetColumn("Tanggal Permohonan", Kind.DATETIME),
    SheetColumn("Tanggal Diusulkan", Kind.DATETIME),
    SheetColumn("Diputuskan oleh"),
)
KIND_WORDS = {
    "house_damage": "Bantuan rumah rusak",
    "disaster_aid_proposal": "Usulan bantuan bencana",
}
DAMAGE_WORDS = {"heavy": "Rusak berat", "moderate": "Rusak sedang", "light": "Rusak ringan"}
HAZARD_WORDS = {
    "flood": "Banjir",
    "landslide": "Tanah longsor",
    "fire": "Kebakaran",
    "settlement_fire": "Kebakaran permukiman",
    "earthquake": "Gempa bumi",
    "storm": "Angin puting beliung",
    "tsunami": "Tsunami",
    "volcanic_eruption": "Letusan gunung api",
    "drought": "Kekeringan",
    "social_conflict": "Konflik sosial",
    "other": "Lainnya",
}


def daftar_usulan(
    listed: Sequence[Listed], vault: PersonalDataVault, zone: ZoneInfo, *, caption: str
) -> bytes:
    """The proposed applications as the office's list (XLSX), KK masked: the list is
    sent on to the regency, and a full KK number is not needed to read it."""
    rows = []
    for number, item in enumerate(listed, start=1):
        address = item.incident.address or {}
        rows.append(
            (
                number,
                item.family.head_name,
                mask_number(vault.decrypt(item.family.kk_number)),
                item.family.members,
                item.family.address,
                address.get("village"),
                address.get("district"),
                HAZARD_WORDS.get(item.incident.hazard.value, item.incident.hazard.value),
                item.incident.happened_at.astimezone(zone).date(),
                KIND_WORDS[item.row.kind],
                DAMAGE_WORDS.get(item.row.damage or ""),
                item.row.filed_at,
                item.row.settled_at,
                item.row.decided_by,
            )
        )
    return xlsx(
        "Daftar Usulan Bencana Sosial",
        DAFTAR_COLUMNS,
        rows,
        zone=zone,
        caption=("DAFTAR USULAN BENCANA SOSIAL", caption),
    )
