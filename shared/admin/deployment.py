"""`dinsos-admin keys generate`, `keys rotate` and `dinsos-admin settings check`: what an
office's IT person needs before the first start, and to rotate a data key."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Callable

from cryptography.fernet import Fernet
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from services.distribution.settings import DistributionSettings
from services.intake.settings import IntakeSettings
from services.logistics.settings import LogisticsSettings
from services.notify.settings import NotifySettings
from shared.admin.data import SEALED_SERVICES
from shared.privacy import DataKeyError, parse_data_keys

# Built fresh from the environment (not the cached get_settings()), as each service would.
SERVICE_SETTINGS: dict[str, Callable[[], BaseSettings]] = {
    "intake": IntakeSettings,
    "logistics": LogisticsSettings,
    "distribution": DistributionSettings,
    "notify": NotifySettings,
}


def new_keys() -> dict[str, str]:
    """A fresh value for every key a production deployment must set."""
    return {
        "DINSOS_AUTH_SECRET": secrets.token_urlsafe(48),
        "DINSOS_AUDIT_KEY": secrets.token_urlsafe(48),
        "INTAKE_NIK_HASH_KEY": secrets.token_urlsafe(48),
        "INTAKE_DATA_KEY": Fernet.generate_key().decode(),
        "DISTRIBUTION_DATA_KEY": Fernet.generate_key().decode(),
        # PostgreSQL: the superuser's, and one login role per service (deploy/postgres-init.sh).
        # URL-safe, as they go into each service's database URL unescaped.
        "POSTGRES_PASSWORD": secrets.token_urlsafe(32),
        **{
            f"{service.upper()}_DB_PASSWORD": secrets.token_urlsafe(32)
            for service in SERVICE_SETTINGS
        },
    }


def settings_problems() -> dict[str, str]:
    """Each service whose settings, read from this environment, would stop it at start,
    with the reason."""
    problems: dict[str, str] = {}
    for service, build in SERVICE_SETTINGS.items():
        try:
            build()
        except (ValidationError, ValueError) as exc:
            problems[service] = str(exc)
    return problems


def _generate(arguments: argparse.Namespace) -> int:
    del arguments
    for name, value in new_keys().items():
        print(f"{name}={value}")
    return 0


def rotated_keys(setting: str, current: str) -> str:
    """The setting's value for a rotation: a fresh key first, then the current ones (so
    what they encrypted stays readable until `dinsos-admin data rewrap`)."""
    keys = parse_data_keys(current, setting=setting)
    return ",".join([Fernet.generate_key().decode(), *(key.decode() for key in keys)])


def _rotate(arguments: argparse.Namespace) -> int:
    setting = SEALED_SERVICES[arguments.service].key_setting
    current = os.environ.get(setting, "")
    if not current:
        print(f"{setting} is not set in this environment: nothing to rotate", file=sys.stderr)
        return 2
    try:
        print(f"{setting}={rotated_keys(setting, current)}")
    except DataKeyError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    return 0


def _check(arguments: argparse.Namespace) -> int:
    del arguments
    problems = settings_problems()
    for service in SERVICE_SETTINGS:
        print(f"{service}: {'refused' if service in problems else 'ok'}")
        if service in problems:
            print("  " + problems[service].replace("\n", "\n  "))
    return 1 if problems else 0


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`keys generate` and `settings check`."""
    keys = groups.add_parser("keys", help="make the secrets a deployment needs")
    key_actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    generate = key_actions.add_parser(
        "generate", help="print a fresh value for every key, as lines for .env"
    )
    generate.set_defaults(run=_generate)
    rotate = key_actions.add_parser(
        "rotate",
        help="print a service's data key setting with a fresh key in front of the current "
        "ones (then restart it and run `data rewrap`)",
    )
    rotate.add_argument("--service", required=True, choices=sorted(SEALED_SERVICES))
    rotate.set_defaults(run=_rotate)

    settings = groups.add_parser("settings", help="check a deployment's settings")
    setting_actions = settings.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = setting_actions.add_parser(
        "check", help="read the settings from this environment as each service would"
    )
    check.set_defaults(run=_check)
