"""The affected families' HTTP routes: list, add, correct and remove a family on an
incident, in the caller's office, by Tagana teams and coordinators."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response, status

from services.intake import handlers
from services.intake.dependencies import InCallersOffice
from services.intake.families import add_family, correct_family, family_list, remove_family
from services.intake.family_models import FamilyCorrection, FamilyIn, FamilyListOut, FamilyOut
from shared.actors import ActingUserName
from shared.auth import Access, Policy, Role
from shared.http import ERROR_RESPONSES
from shared.privacy import PersonalDataVault
from shared.service_api import RuntimeDep

# Where a family stays now: its own home, with relatives, in an evacuation shelter
# (pengungsian: a posko, school, mosque, tents), or elsewhere.
ShelterStatus = Literal["own_home", "relatives", "evacuation_shelter", "other"]
MAX_MEMBERS = 60


# --- HTTP -------------------------------------------------------------------------------


def intake_vault(request: Request) -> PersonalDataVault:
    """intake's vault (INTAKE_DATA_KEY), built with the app's report policy."""
    policy: handlers.ReportPolicy = request.app.state.report_policy
    return policy.vault


VaultDep = Annotated[PersonalDataVault, Depends(intake_vault)]
families_router = APIRouter(responses=ERROR_RESPONSES, tags=["affected families"])


@families_router.get(
    "/incidents/{incident_id}/families",
    dependencies=InCallersOffice,
    summary="An incident's affected families",
)
def list_families(incident_id: UUID, runtime: RuntimeDep, vault: VaultDep) -> FamilyListOut:
    """Each family (KK and NIK masked), in the order listed, and the totals."""
    listed = runtime.run(lambda uow: family_list(uow, incident_id))
    return FamilyListOut(
        incident_id=incident_id,
        families=[FamilyOut.of(row, vault) for row in listed.rows],
        totals=listed.totals,
    )


@families_router.post(
    "/incidents/{incident_id}/families",
    dependencies=InCallersOffice,
    status_code=status.HTTP_201_CREATED,
    summary="List an affected family",
)
def post_family(
    incident_id: UUID, family: FamilyIn, runtime: RuntimeDep, vault: VaultDep, actor: ActingUserName
) -> FamilyOut:
    """422 `invalid_kk` / `invalid_nik` for a number that cannot be real (the answer
    never repeats it), 409 `family_already_listed` for a KK this incident lists already,
    409 `incident_closed` on a rejected report. Announced as `AffectedFamiliesCounted`."""
    row = runtime.run(
        lambda uow: add_family(uow, incident_id, family, vault=vault, recorded_by=actor)
    )
    return FamilyOut.of(row, vault)


@families_router.patch("/families/{family_id}", summary="Correct an affected family")
def patch_family(
    family_id: UUID,
    correction: FamilyCorrection,
    runtime: RuntimeDep,
    vault: VaultDep,
    actor: ActingUserName,
) -> FamilyOut:
    """Only the fields given change; the same checks as listing it."""
    row = runtime.run(
        lambda uow: correct_family(uow, family_id, correction, vault=vault, corrected_by=actor)
    )
    return FamilyOut.of(row, vault)


@families_router.delete(
    "/families/{family_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an affected family from the list",
)
def delete_family(
    family_id: UUID, runtime: RuntimeDep, vault: VaultDep, actor: ActingUserName
) -> Response:
    """The family goes off the list (409 `family_has_applications` while an aid
    application names it); the new totals are announced."""
    runtime.run(lambda uow: remove_family(uow, family_id, removed_by=actor, vault=vault))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


FIELD = (Role.FIELD_TEAM, Role.COORDINATOR)
FAMILIES_ACCESS: Policy = {
    # Tagana's data collection lists the families; coordinators list and correct them too.
    "GET /incidents/{incident_id}/families": Access.of(*FIELD),
    "POST /incidents/{incident_id}/families": Access.of(*FIELD),
    "PATCH /families/{family_id}": Access.of(*FIELD),
    "DELETE /families/{family_id}": Access.of(*FIELD),
}
