"""intake's contracts for the victims of a disaster as families, and for the slower
disaster services that follow the emergency (issue 15 items 11 and 13).

- **Affected families** (003, 004: "Fotokopi KTP kepala keluarga", "Fotokopi KK"; "KTP,
  KK atau surat keterangan dari Kepala Desa"): the office lists the families an incident
  affected. `AffectedFamiliesCounted` carries the incident's totals after each change
  (families, members, vulnerable members by group, families out of their homes): counts
  only, no name, no NIK, no KK number. It is a snapshot, so a consumer keeps the one with
  the highest `revision` and may miss or re-read any of the others.
  `AffectedFamiliesListed` carries the list itself for the handover record's attachment:
  heads' names, KK masked, family size, nothing else.
- **Aid applications** (case type `aid_application`; `case_id` is the application,
  `correlation_id` its incident): Balangan's house-damage assistance (004: "Permohonan
  proposal bantuan korban bencana disampaikan dalam batas waktu paling lambat 3 (tiga)
  bulan sejak terjadinya peristiwa bencana", settled in "7-30 hari kerja") and OKU
  Selatan's disaster aid proposal (003: "2 (dua) hari kerja, apabila persyaratan lengkap
  dan benar", its product the "Daftar Usulan Bencana Sosial"). Filed, documents complete,
  settled (proposed, granted or declined) or withdrawn: notify clocks them with the
  office's standard (`services/notify/standards/*.toml` decides which event starts it).
  No personal data travels: not the applicant's name, NIK or KK, only the incident's
  district and village and the damage grade.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from shared.contracts.envelope import CaseType, Contract, EventBase, HazardType, LongText, ShortText

Count = Annotated[int, Field(ge=0, le=10_000_000)]


class VulnerableMembers(Contract):
    """Members of the listed families in the groups the response protects first (004:
    "Perlindungan terhadap kelompok rentan")."""

    elderly: Count = Field(default=0, description="Elderly members (lansia, 60 and over).")
    disabled: Count = Field(default=0, description="Members with disabilities.")
    under_five: Count = Field(default=0, description="Children under five (balita).")
    pregnant_or_breastfeeding: Count = Field(
        default=0, description="Pregnant or breastfeeding women."
    )


class AffectedFamiliesCounted(EventBase):
    """The incident `case_id`'s list of affected families changed (a family added,
    corrected or removed): its totals now. Counts only."""

    event_type: Literal["AffectedFamiliesCounted"] = "AffectedFamiliesCounted"
    schema_version: Literal[1] = 1
    revision: int = Field(
        ge=1, description="How many changes the list has had; the highest is the newest."
    )
    families: Count = Field(description="Families (KK) listed.")
    members: Count = Field(description="People in those families.")
    vulnerable: VulnerableMembers
    out_of_home: Count = Field(
        description="Families staying anywhere but their own home (relatives, a shelter)."
    )
    changed_by: ShortText = Field(description="Who changed the list.")

    @model_validator(mode="after")
    def _parts_within_the_whole(self) -> Self:
        if self.out_of_home > self.families:
            raise ValueError("more families out of their homes than families listed")
        groups = self.vulnerable
        if max(groups.elderly, groups.disabled, groups.under_five) > self.members:
            raise ValueError("a vulnerable group is larger than the members listed")
        if groups.pregnant_or_breastfeeding > self.members:
            raise ValueError("a vulnerable group is larger than the members listed")
        return self


# A KK as it may travel: the first eight and the last two digits, the rest hidden
# (shared.privacy.mask_number). A whole number is refused by the contract itself.
MaskedKk = Annotated[
    str,
    StringConstraints(pattern=r"^\d{8}\*{6}\d{2}$"),
    Field(description="Family-card number masked, e.g. 64020612******07."),
]
MAX_LISTED_FAMILIES = 2000


class FamilyOnList(Contract):
    """One family as the handover record's attachment names it."""

    head_name: ShortText = Field(description="The head of family (kepala keluarga).")
    kk_masked: MaskedKk
    members: Annotated[int, Field(ge=1, le=60)] = Field(description="People in the family.")


class AffectedFamiliesListed(EventBase):
    """The incident `case_id`'s list of affected families as it stands after a change,
    for the list attached to the handover record (BAST) of the aid sent there. The one
    event that carries people's names: the heads of family only, with the KK masked and
    the family's size; never a NIK, a whole KK, an address or a vulnerable group. A
    snapshot: a consumer keeps the highest `revision` (the same as the
    `AffectedFamiliesCounted` announced with it)."""

    event_type: Literal["AffectedFamiliesListed"] = "AffectedFamiliesListed"
    schema_version: Literal[1] = 1
    revision: int = Field(ge=1, description="The list's change count; the highest is newest.")
    families: tuple[FamilyOnList, ...] = Field(
        max_length=MAX_LISTED_FAMILIES, description="In the order they were listed."
    )


# The two services the decrees publish: Balangan's assistance for a damaged house and OKU
# Selatan's proposal of disaster aid (recorded into its Daftar Usulan Bencana Sosial).
AidKind = Literal["house_damage", "disaster_aid_proposal"]
# The usual three grades of a damaged house (rusak berat, sedang, ringan).
DamageGrade = Literal["heavy", "moderate", "light"]
# proposed: entered in the office's list of proposals (003: "Hasil survei dinyatakan
# layak, maka akan diusulkan bantuan"); granted: the assistance was decided and given;
# declined: not eligible, with the reason.
AidOutcome = Literal["proposed", "granted", "declined"]


class _AidApplicationEvent(EventBase):
    """An event of an aid application: `case_type` is always "aid_application"."""

    @model_validator(mode="after")
    def _application_case(self) -> Self:
        if self.case_type is not CaseType.AID_APPLICATION:
            raise ValueError(
                f"an aid application's event has case_type 'aid_application', not {self.case_type}"
            )
        return self


class AidApplicationFiled(_AidApplicationEvent):
    """The office received an aid application for a family affected by the incident
    `correlation_id`; `occurred_at` is when it was received (filed)."""

    event_type: Literal["AidApplicationFiled"] = "AidApplicationFiled"
    schema_version: Literal[1] = 1
    kind: AidKind = Field(description="Which service the application asks for.")
    incident_id: UUID = Field(description="The incident (intake's case id) it follows.")
    incident_happened_at: AwareDatetime = Field(
        description="When the disaster happened (004's 3 months run from it)."
    )
    hazard: HazardType
    district: ShortText | None = Field(default=None, description="Kecamatan of the incident.")
    village: ShortText | None = Field(default=None, description="Desa or kelurahan.")
    damage: DamageGrade | None = Field(default=None, description="The house's damage grade.")
    members: Count = Field(description="People in the applicant's family.")
    documents_complete: bool = Field(
        description="Whether the required papers were complete when it was filed (then an "
        "AidApplicationDocumentsCompleted follows at the same time)."
    )
    recorded_by: ShortText = Field(description="The staff member who recorded it.")


class AidApplicationDocumentsCompleted(_AidApplicationEvent):
    """The application's required papers are complete and correct (003: "apabila
    persyaratan lengkap dan benar"): where the office's standard says so, its clock
    starts here."""

    event_type: Literal["AidApplicationDocumentsCompleted"] = "AidApplicationDocumentsCompleted"
    schema_version: Literal[1] = 1
    kind: AidKind = Field(description="Which service the application asks for.")
    district: ShortText | None = Field(default=None, description="Kecamatan of the incident.")
    village: ShortText | None = Field(default=None, description="Desa or kelurahan.")
    recorded_by: ShortText


class AidApplicationSettled(_AidApplicationEvent):
    """The office settled the application: proposed (in the Daftar Usulan Bencana
    Sosial), granted or declined. Stops its clock."""

    event_type: Literal["AidApplicationSettled"] = "AidApplicationSettled"
    schema_version: Literal[1] = 1
    outcome: AidOutcome
    reason: LongText = Field(default="", description="Why, for a declined application.")
    decided_by: ShortText = Field(description="Who decided, e.g. 'Kabid Linjamsos'.")
    recorded_by: ShortText

    @model_validator(mode="after")
    def _declined_says_why(self) -> Self:
        if self.outcome == "declined" and not self.reason:
            raise ValueError("a declined application says why")
        return self


class AidApplicationWithdrawn(_AidApplicationEvent):
    """The applicant withdrew (or the application was filed in error): no decision is
    owed, its clock stops as cancelled."""

    event_type: Literal["AidApplicationWithdrawn"] = "AidApplicationWithdrawn"
    schema_version: Literal[1] = 1
    reason: LongText = Field(min_length=3)
    recorded_by: ShortText
