"""Where each office keeps its calendar. A deployment serves several offices, and a date
rule (an expiry, "today's runs", a delivery's last day) is judged in the zone of the
office the record belongs to, not the server's: Lubuklinggau and OKU Selatan keep WIB,
Kutai Kartanegara, Balangan and Tarakan WITA. notify's standard files carry the same
zones (a test keeps them in step); `*_OFFICE_TIMEZONES` adds or overrides offices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from zoneinfo import ZoneInfo, available_timezones

KNOWN_OFFICE_ZONES: Final[Mapping[str, str]] = {
    "kukar": "Asia/Makassar",  # Kalimantan Timur, WITA
    "balangan": "Asia/Makassar",  # Kalimantan Selatan, WITA
    "tarakan": "Asia/Makassar",  # Kalimantan Utara, WITA
    "lubuklinggau": "Asia/Jakarta",  # Sumatera Selatan, WIB
    "oku-selatan": "Asia/Jakarta",  # Sumatera Selatan, WIB
}


def unknown_zones(zones: Mapping[str, str]) -> list[str]:
    """The entries of an office → zone mapping whose zone does not exist."""
    known = available_timezones()
    return [f"{office}={zone}" for office, zone in zones.items() if zone not in known]


def office_zone(office_id: str | None, overrides: Mapping[str, str], default: str) -> ZoneInfo:
    """The office's zone: the deployment's own setting, else the known offices', else the
    deployment's default zone."""
    if office_id is None:
        return ZoneInfo(default)
    return ZoneInfo(overrides.get(office_id) or KNOWN_OFFICE_ZONES.get(office_id) or default)
