"""The four services as the contract tests build them: sign-in required, a SQLite file of
their own, and the headers of a user of office kukar holding every role."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.distribution.app import create_app as create_distribution
from services.distribution.settings import DistributionSettings
from services.intake.app import create_app as create_intake
from services.intake.settings import IntakeSettings
from services.logistics.app import create_app as create_logistics
from services.logistics.settings import LogisticsSettings
from services.notify.app import create_app as create_notify
from services.notify.settings import NotifySettings
from shared.auth import Role
from shared.settings import ServiceSettings
from tests.support.access import signed_in, token_for

SERVICES: dict[str, tuple[Callable[[Any], FastAPI], type[ServiceSettings]]] = {
    "intake": (create_intake, IntakeSettings),
    "logistics": (create_logistics, LogisticsSettings),
    "distribution": (create_distribution, DistributionSettings),
    "notify": (create_notify, NotifySettings),
}


def build_app(service: str, tmp: Path) -> FastAPI:
    """`service`'s app requiring sign-in, on a SQLite file in `tmp` (tables not made)."""
    factory, settings_class = SERVICES[service]
    return factory(signed_in(settings_class, tmp))


def every_role(app: FastAPI) -> dict[str, str]:
    """Headers of a signed-in user of office kukar holding every role, for `app`."""
    runtime = app.state.runtime
    return {"Authorization": f"Bearer {token_for(runtime.settings.auth, *Role)}"}
