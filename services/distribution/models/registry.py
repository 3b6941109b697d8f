"""The recipient registry's table (personal numbers only encrypted, with keyed hashes to
find them), the record of who read them, and the API's shapes of a recipient."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated, Self
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, StringConstraints, model_validator
from sqlmodel import Field as SQLField

from services.distribution.eligibility import SocialRegister
from services.distribution.models.base import DistributionTable, moment_column
from shared.contracts.envelope import GeoPoint, ShortText
from shared.geo import IndonesianPoint
from shared.http import ApiModel
from shared.text import FREE_TEXT


class RecipientKind(enum.StrEnum):
    """A person (permakanan) or an institution: dormitory, shelter, orphanage (sandang)."""

    PERSON = "person"
    INSTITUTION = "institution"


class RecipientRow(DistributionTable, table=True):
    """Someone distribution delivers to. NIK, KK and phone are Fernet tokens; the NIK is
    also kept as a keyed hash so a second registration of it is found."""

    __tablename__ = "recipient"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    kind: RecipientKind = SQLField(max_length=20)
    name: str = SQLField(max_length=200)
    institution_type: str | None = SQLField(default=None, max_length=100)
    contact_person: str | None = SQLField(default=None, max_length=200)
    nik_token: str | None = SQLField(default=None, max_length=500)
    nik_hash: str | None = SQLField(default=None, unique=True, max_length=64)
    kk_token: str | None = SQLField(default=None, max_length=500)
    phone_token: str | None = SQLField(default=None, max_length=500)
    street: str | None = SQLField(default=None, max_length=2000)
    village: str = SQLField(max_length=200)
    village_code: str = SQLField(max_length=20, index=True)
    district: str = SQLField(max_length=200)
    regency: str = SQLField(max_length=200)
    province: str = SQLField(max_length=200)
    postal_code: str | None = SQLField(default=None, max_length=5)
    lat: float
    lon: float
    verified: bool = False
    review_reason: str | None = SQLField(default=None, max_length=40)
    flagged_at: datetime | None = moment_column()
    created_at: datetime = moment_column(nullable=False)
    # What permakanan's eligibility rule asks (services/distribution/eligibility.py). The
    # register's id identifies the person like the NIK does: stored only as a token.
    birth_date: date | None = None
    social_register: SocialRegister | None = SQLField(default=None, max_length=10)
    social_register_id_token: str | None = SQLField(default=None, max_length=500)
    disability: bool = False
    neglected_child: bool = False
    receives_pkh: bool = False
    receives_sembako: bool = False

    def position(self) -> GeoPoint:
        """The registered home (or institution) position."""
        return GeoPoint(lat=self.lat, lon=self.lon)


class PersonalDataRevealRow(DistributionTable, table=True):
    """How many times a user saw recipients' personal numbers in clear on one office day
    (`?reveal=true` and personal-data exports): the counter behind the daily limit."""

    __tablename__ = "personal_data_reveal"

    subject: str = SQLField(primary_key=True, max_length=200)
    day: date = SQLField(primary_key=True)
    reveals: int = SQLField(default=0)


class AddressIn(ApiModel):
    """An address inside the office's regency, down to the village."""

    street: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), FREE_TEXT] | None
    ) = None
    district: ShortText = Field(description="Kecamatan, e.g. 'Tenggarong'.")
    village: ShortText = Field(description="Desa or kelurahan, e.g. 'Sukarame'.")
    postal_code: str | None = Field(default=None, description="Five-digit kode pos.")


Digits = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


RegisterId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9./-]{1,40}$")
]


class EligibilityIn(ApiModel):
    """A person's standing against permakanan's requirements (000): the social register
    they are in (with its id), birth date (from the NIK when not given), and categories."""

    social_register: SocialRegister | None = Field(
        default=None, description="dtks, dtsen (DTKS's successor) or p3ke."
    )
    social_register_id: RegisterId | None = Field(
        default=None, description="The person's id in that register."
    )
    birth_date: date | None = Field(default=None, description="Read from the NIK when absent.")
    disability: bool = False
    neglected_child: bool = Field(default=False, description="Anak telantar.")
    receives_pkh: bool = Field(default=False, description="Already in PKH.")
    receives_sembako: bool = Field(default=False, description="Already in Sembako (BPNT).")

    @model_validator(mode="after")
    def _register_and_id_together(self) -> Self:
        if (self.social_register is None) != (self.social_register_id is None):
            raise ValueError("a social register is given with the person's id in it")
        return self


class RecipientIn(ApiModel):
    """A person or institution to register."""

    kind: RecipientKind
    name: ShortText
    nik: Digits | None = Field(default=None, description="16-digit NIK (persons only).")
    kk: Digits | None = Field(default=None, description="16-digit family-card number.")
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{8,15}$")] | None = None
    institution_type: ShortText | None = Field(default=None, description="e.g. 'panti asuhan'.")
    contact_person: ShortText | None = None
    address: AddressIn
    position: IndonesianPoint
    verified: bool = Field(default=False, description="Checked at home by a social worker.")
    eligibility: EligibilityIn | None = Field(
        default=None, description="What permakanan's eligibility rule asks (persons)."
    )

    @model_validator(mode="after")
    def _person_has_a_nik(self) -> Self:
        if self.kind is RecipientKind.PERSON and self.nik is None:
            raise ValueError("a person is registered with their NIK")
        return self


class RecipientOut(BaseModel):
    """A recipient as the API shows it: personal numbers masked unless revealed."""

    id: UUID
    kind: RecipientKind
    name: str
    nik: str | None
    kk: str | None
    phone: str | None
    revealed: bool
    institution_type: str | None
    contact_person: str | None
    street: str | None
    village: str
    village_code: str
    district: str
    regency: str
    province: str
    postal_code: str | None
    position: GeoPoint
    verified: bool
    review_reason: str | None
    flagged_at: datetime | None
    created_at: datetime
    birth_date: date | None = None
    social_register: SocialRegister | None = None
    social_register_id: str | None = Field(default=None, description="Masked unless revealed.")
    disability: bool = False
    neglected_child: bool = False
    receives_pkh: bool = False
    receives_sembako: bool = False


class CorrectionIn(ApiModel):
    """A data subject's correction of their registry entry (UU PDP 27/2022): only the
    fields given change, each checked as at registration; the reason is audited."""

    name: ShortText | None = None
    nik: str | None = Field(default=None, max_length=16)
    kk: str | None = Field(default=None, max_length=16)
    phone: Annotated[str, StringConstraints(pattern=r"^\+?\d{8,15}$")] | None = None
    address: AddressIn | None = None
    position: IndonesianPoint | None = None
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500), FREE_TEXT
    ]
