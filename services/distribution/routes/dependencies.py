"""What distribution's routes take from the app: its settings, and the rules with the
personal-data vault the use cases apply (both built once in `create_app`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.distribution.common import Policy
from services.distribution.settings import DistributionSettings


def get_app_settings(request: Request) -> DistributionSettings:
    """The settings this app was built with."""
    settings: DistributionSettings = request.app.state.settings
    return settings


def get_policy(request: Request) -> Policy:
    """The rules and the personal-data vault this app was built with."""
    policy: Policy = request.app.state.policy
    return policy


SettingsDep = Annotated[DistributionSettings, Depends(get_app_settings)]
PolicyDep = Annotated[Policy, Depends(get_policy)]
