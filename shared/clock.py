"""Clocks: the only place that reads the time, so tests and drills can set it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

# Kutai Kartanegara keeps WITA (UTC+8): its calendar day starts at 16:00 UTC.
DEFAULT_OFFICE_ZONE = "Asia/Makassar"


def office_today(zone: str = DEFAULT_OFFICE_ZONE) -> date:
    """Today's date at an office, the day its rules count in (not the UTC date, which is
    still yesterday there for eight hours of every day)."""
    return datetime.now(ZoneInfo(zone)).date()


class Clock(Protocol):
    """Something that tells the current time, timezone-aware UTC."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to (unit tests)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        """The set instant."""
        return self._at

    def advance(self, by: timedelta) -> None:
        """Move the clock forward."""
        self._at += by

    def set(self, at: datetime) -> None:
        """Jump to an instant."""
        self._at = at.astimezone(UTC)


class OffsetFileClock:
    """The system clock shifted by a number of seconds read from a file at every call.

    Lets an end-to-end test or a drill move a running service 25 hours ahead without
    sleeping or restarting it. Refused in production by the settings validator.
    """

    def __init__(self, path: Path) -> None:
        self._path = path

    def offset(self) -> timedelta:
        """The shift currently written in the file (0 when it is absent or empty)."""
        try:
            text = self._path.read_text().strip()
        except FileNotFoundError:
            return timedelta(0)
        return timedelta(seconds=float(text)) if text else timedelta(0)

    def now(self) -> datetime:
        """System time plus the file's offset."""
        return datetime.now(UTC) + self.offset()
