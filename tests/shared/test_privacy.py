"""NIK, KK and phone numbers never reach a log line in clear."""

from __future__ import annotations

import logging

import pytest

from shared.privacy import PersonalDataFilter, mask_nik, mask_personal_numbers


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("nik=6402065507850003", "nik=64020655******03"),
        (
            "KK 6402061203090001 dan NIK 6402065507850003",
            "KK 64020612******01 dan NIK 64020655******03",
        ),
        ("hp 081234567890", "hp 0812******90"),
        ("hp +6281234567890", "hp +62812******90"),
        ("order PO-17/2026 qty 40", "order PO-17/2026 qty 40"),
        ("id 12345678901234567", "id 12345678901234567"),  # 17 digits: not a NIK
    ],
)
def test_personal_numbers_are_masked(text: str, masked: str) -> None:
    assert mask_personal_numbers(text) == masked


def test_a_nik_for_display_keeps_only_its_ends() -> None:
    assert mask_nik("6402065507850003") == "64020655******03"
    assert mask_nik("123") == "***"


def test_the_log_filter_masks_formatted_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.privacy")
    caplog.handler.addFilter(PersonalDataFilter())
    with caplog.at_level(logging.INFO, logger="test.privacy"):
        logger.info("enrolled %s with phone %s", "6402065507850003", "081234567890")
    assert "6402065507850003" not in caplog.text
    assert "081234567890" not in caplog.text
    assert "64020655******03" in caplog.text
