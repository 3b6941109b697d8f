"""The case's affected families and their aid applications on one page
(`/koordinator/{incident_id}/keluarga`), for the Tagana team on a phone and the
coordinator at the office. The page only reads; its forms post to the API
(services/intake/families.py, aid_applications.py) from `/families.js`, where every rule
lives."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from services.intake import handlers
from services.intake.aid_application_models import AidApplicationOut
from services.intake.aid_applications import applications
from services.intake.families import family_list
from services.intake.family_models import FamilyOut
from services.intake.family_routes import intake_vault
from services.intake.screens import INBOX
from shared.auth import Access, Policy, Role
from shared.csrf import csrf_token
from shared.errors import NotFound
from shared.pages import Pages
from shared.service_api import RuntimeDep

SCRIPT = Path(__file__).parent / "static" / "families.js"
family_screens_router = APIRouter(include_in_schema=False)


@family_screens_router.get(INBOX + "/{incident_id}/keluarga")
def families_page(incident_id: UUID, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The incident's families (KK and NIK masked), their totals, and per family its aid
    applications with the next step each may take."""
    pages: Pages = request.app.state.pages
    vault = intake_vault(request)
    try:
        incident = runtime.run(lambda uow: handlers.get_incident(uow, incident_id))
        listed = runtime.run(lambda uow: family_list(uow, incident_id))
        applied = runtime.run(
            lambda uow: applications(uow, office_ids=None, incident_id=incident_id)
        )
    except NotFound:
        return pages.render(request, "missing.html", status_code=404, title="", current=INBOX)
    by_family: dict[UUID, list[AidApplicationOut]] = {}
    for item in applied:
        by_family.setdefault(item.family.id, []).append(
            AidApplicationOut.of(item.row, item.family, vault)
        )
    principal = getattr(request.state, "principal", None)
    return pages.render(
        request,
        "families.html",
        title="",
        incident=incident,
        families=[FamilyOut.of(row, vault) for row in listed.rows],
        totals=listed.totals,
        applications=by_family,
        may_decide=principal is None or principal.has(Role.COORDINATOR),
        csrf=csrf_token(request),
        current=INBOX,
    )


@family_screens_router.get("/families.js")
def families_script() -> FileResponse:
    """The families page's script (the CSP allows no inline script)."""
    return FileResponse(SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


FAMILY_SCREENS: Policy = {
    # Tagana lists the families on site; the coordinator files and decides applications.
    f"GET {INBOX}/{{incident_id}}/keluarga": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    # Code only, no data in it.
    "GET /families.js": Access.anyone(),
}
