"""Each office judges dates in its own zone (shared/offices.py): issue #15 item 7."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.notify.standards import load_standards
from shared.offices import KNOWN_OFFICE_ZONES, office_zone
from shared.settings import ServiceSettings


def test_the_known_offices_keep_the_zones_their_standard_files_name() -> None:
    standards = load_standards()
    assert {office: standard.time_zone for office, standard in standards.offices.items()} == dict(
        KNOWN_OFFICE_ZONES
    )


def test_a_wib_office_and_a_wita_office_of_one_deployment_keep_their_own_zones() -> None:
    settings = ServiceSettings(office_timezone="Asia/Makassar")
    assert settings.zone("lubuklinggau") == ZoneInfo("Asia/Jakarta")
    assert settings.zone("kukar") == ZoneInfo("Asia/Makassar")
    assert settings.zone("an-office-nobody-named") == ZoneInfo("Asia/Makassar")
    assert settings.zone(None) == ZoneInfo("Asia/Makassar")


def test_a_deployment_can_name_the_zone_of_an_office_beyond_the_known_five() -> None:
    settings = ServiceSettings(
        office_timezones={"jayapura": "Asia/Jayapura", "kukar": "Asia/Jakarta"}
    )
    assert settings.zone("jayapura") == ZoneInfo("Asia/Jayapura")
    assert settings.zone("kukar") == ZoneInfo("Asia/Jakarta")
    assert office_zone("tarakan", {}, "UTC") == ZoneInfo("Asia/Makassar")


def test_an_unknown_zone_for_an_office_is_refused_with_its_name() -> None:
    with pytest.raises(ValidationError, match="jayapura=Asia/Papua"):
        ServiceSettings(office_timezones={"jayapura": "Asia/Papua"})
