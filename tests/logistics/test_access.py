"""Who may call what in logistics: every route has an access rule, and every route answers
every role (and no token at all) as its rule says."""

from __future__ import annotations

from pathlib import Path

from services.logistics.app import create_app
from services.logistics.settings import LogisticsSettings
from shared.auth import AuthSettings
from shared.settings import CommonSettings
from tests.support.access import matrix_problems

SECRET = "a-test-secret-that-is-long-enough-0123456789"


def test_every_route_answers_every_role_as_its_rule_says(tmp_path: Path) -> None:
    auth = AuthSettings(required=True, secret=SECRET)
    settings = LogisticsSettings(
        database_url=f"sqlite:///{tmp_path / 'logistics.sqlite3'}",
        common=CommonSettings(environment="test", data_dir=tmp_path),
        auth=auth,
    )
    missing, disagreements = matrix_problems(create_app(settings), auth)
    assert missing == []
    assert disagreements == []
