"""A service with sign-in switched off serves everyone as a user of every role, so it
listens on this machine only: any other address is refused at start-up, saying why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.logistics.settings import LogisticsSettings
from shared.auth import AuthSettings
from tests.support.access import SECRET

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "dinsos.local", ""])
def test_without_sign_in_a_host_beyond_loopback_is_refused(host: str) -> None:
    with pytest.raises(ValidationError, match="DINSOS_AUTH_REQUIRED=false") as refused:
        LogisticsSettings(host=host, auth=AuthSettings(required=False))
    assert f"LOGISTICS_HOST={host}" in str(refused.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.1.1", "localhost", "::1"])
def test_without_sign_in_loopback_is_accepted(host: str) -> None:
    assert LogisticsSettings(host=host, auth=AuthSettings(required=False)).host == host


def test_with_sign_in_any_host_is_accepted() -> None:
    settings = LogisticsSettings(host="0.0.0.0", auth=AuthSettings(required=True, secret=SECRET))
    assert settings.host == "0.0.0.0"


def test_the_service_refuses_to_start_on_all_addresses_with_sign_in_off(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DINSOS_AUTH_REQUIRED": "false",
        "DINSOS_DATA_DIR": str(tmp_path),
        "LOGISTICS_HOST": "0.0.0.0",
    }
    started = subprocess.run(
        [sys.executable, "-m", "services.logistics"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode != 0
    assert "sign-in is off (DINSOS_AUTH_REQUIRED=false) but LOGISTICS_HOST=0.0.0.0" in (
        started.stderr
    )
