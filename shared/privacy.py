"""Personal data (UU PDP 27/2022) kept out of logs: NIK and KK numbers (16 digits) and
phone numbers are masked in every log line a service writes, whatever code wrote it.

Masks keep enough to tell records apart for a person reading the log (`64020655******03`,
`0812******89`), never enough to identify someone.
"""

from __future__ import annotations

import logging
import re

# 16 digits not inside a longer run of digits: a NIK or a family-card (KK) number.
_SIXTEEN_DIGITS = re.compile(r"(?<!\d)(\d{8})(\d{6})(\d{2})(?!\d)")
# Indonesian mobile numbers: 08xx or +628xx / 628xx, 9-13 digits in all.
_PHONE = re.compile(r"(?<![\d+])((?:\+?62|0)8\d{2})(\d{4,8})(\d{2})(?!\d)")


def mask_personal_numbers(text: str) -> str:
    """`text` with every NIK/KK-like number and phone number masked."""
    text = _SIXTEEN_DIGITS.sub(lambda m: f"{m[1]}{'*' * 6}{m[3]}", text)
    return _PHONE.sub(lambda m: f"{m[1]}{'*' * len(m[2])}{m[3]}", text)


def mask_nik(nik: str) -> str:
    """A NIK for display to someone who may not see it whole."""
    return mask_personal_numbers(nik) if len(nik) == 16 else "*" * len(nik)


class PersonalDataFilter(logging.Filter):
    """Masks personal numbers in the final message of every record it sees, and in the
    traceback it carries (an exception's message may quote a value)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_numbers(message)
        if masked != message:
            record.msg = masked
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_numbers(record.exc_text)
        return True


# Libraries that may log a request's address or a statement: uvicorn's error and access
# logs, SQLAlchemy's engine and pool (engines also hide statement parameters:
# shared.db.create_db_engine). Their records reach the root handlers unless a library
# configured handlers of its own, which get the filter too.
LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy")


def install_log_masking() -> None:
    """Attach the filter to every handler of the root logger and of `LIBRARY_LOGGERS`
    (call after configuring logging)."""
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in LIBRARY_LOGGERS)]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
                handler.addFilter(PersonalDataFilter())
