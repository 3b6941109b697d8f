"""What intake's routes take from the app they run in, in one place for app.py and the
modules that add routes beside it (case records, assessments, screens): the settings the
app was built with, and the rule that another office's incident is answered as an
unknown one."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from services.intake import handlers
from services.intake.settings import IntakeSettings
from shared.service_api import RuntimeDep


def intake_settings(request: Request) -> IntakeSettings:
    """The settings this app was built with."""
    settings: IntakeSettings = request.app.state.intake_settings
    return settings


SettingsDep = Annotated[IntakeSettings, Depends(intake_settings)]


def incident_in_callers_office(incident_id: UUID, runtime: RuntimeDep) -> None:
    """An incident of another office is answered as unknown (tenancy): exactly as an
    unknown id is, so the answer tells nothing."""
    runtime.run(lambda uow: handlers.get_incident(uow, incident_id))


InCallersOffice = [Depends(incident_in_callers_office)]
