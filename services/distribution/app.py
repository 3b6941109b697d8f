"""distribution's HTTP service: the API's and the screens' routers put together (each in
`routes/` or a `*_screens.py` module, with who may call what), the outbox relay, and the
agent on released dispatches and incidents."""

from __future__ import annotations

from fastapi import FastAPI

from services.distribution import program_screens, recipient_screens
from services.distribution.common import Policy
from services.distribution.migrations import HISTORY
from services.distribution.models.base import DistributionTable
from services.distribution.privacy import recipient_vault
from services.distribution.routes import (
    deliveries,
    field,
    permakanan,
    recipient_lists,
    registry,
    runs,
    sandang,
)
from services.distribution.settings import DistributionSettings, get_settings
from services.distribution.stream import SUBSCRIPTIONS
from shared.auth import Policy as AccessPolicy
from shared.clock import Clock
from shared.pages import assets_router
from shared.runtime import ServiceRuntime
from shared.service_api import create_service_api

# In the order the routers are included: a literal path before a parameter of its own.
ROUTES = (registry, permakanan, sandang, deliveries, runs, field)
SCREENS = (program_screens, recipient_lists, recipient_screens)

# Who may call what; a route missing here is refused to everyone
# (tests/distribution/test_access).
ACCESS: AccessPolicy = {
    key: access for module in (*ROUTES, *SCREENS) for key, access in module.ACCESS.items()
}


def create_app(
    settings: DistributionSettings | None = None, *, clock: Clock | None = None
) -> FastAPI:
    """The distribution service: API, outbox relay, and the agent on released dispatches."""
    settings = settings or get_settings()
    runtime = ServiceRuntime(
        name="distribution",
        settings=settings,
        metadata=DistributionTable.metadata,
        migrations=HISTORY,
        subscriptions=SUBSCRIPTIONS,
        clock=clock,
    )
    api = create_service_api(
        runtime,
        title="Dinas Sosial distribution",
        description="Recipients, permakanan rounds, sandang handovers, runs and deliveries: "
        "assigned, in transit, arrived, delivered, or failed with a reason.",
        policy=ACCESS,
    )
    api.state.settings = settings
    api.state.policy = build_policy(settings)
    for module in (*ROUTES, *SCREENS):
        api.include_router(module.router)
    api.include_router(assets_router)
    return api


def build_policy(settings: DistributionSettings) -> Policy:
    """The use cases' rules from the settings, with the personal-data vault."""
    return Policy(
        office_id=settings.common.default_office_id,
        province=settings.province,
        regency=settings.regency,
        arrival_tolerance_m=settings.arrival_tolerance_m,
        proof_tolerance_m=settings.proof_tolerance_m,
        max_image_bytes=settings.max_photo_bytes,
        vault=recipient_vault(settings),
        zone_for=settings.zone,
    )
