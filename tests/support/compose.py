"""docker-compose.yml as the tests read it: parsed, with compose's variable interpolation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
_VARIABLE = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def compose_file() -> dict[str, Any]:
    """docker-compose.yml, parsed (anchors and `<<` merges resolved by YAML)."""
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def substitute(value: str, env: Mapping[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} interpolation."""

    def replace(match: re.Match[str]) -> str:
        name, kind, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if kind == "?":
            raise KeyError(f"{name}: {arg}")
        return arg or ""

    return _VARIABLE.sub(replace, value)


def service_environment(
    compose: Mapping[str, Any], service: str, env: Mapping[str, str]
) -> dict[str, str]:
    """The environment compose gives `service`'s container, given the operator's `env`."""
    raw: dict[str, Any] = compose["services"][service].get("environment", {})
    return {key: substitute(str(value), env) for key, value in raw.items()}
