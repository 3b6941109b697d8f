"""Turning a reported address into coordinates through a Nominatim-compatible geocoder.

A geocoder that is down, slow or has no answer must never cost us a report: the report
is kept with its address and the coordinator sets the point when validating.
"""

from __future__ import annotations

import logging
from typing import Protocol
from urllib.parse import urlsplit

from geopy.exc import GeopyError
from geopy.geocoders import Nominatim

from services.intake.settings import IntakeSettings
from shared.contracts.envelope import GeoPoint
from shared.geo import within_indonesia

log = logging.getLogger(__name__)


class Geocoder(Protocol):
    """Something that can find a place by name."""

    def locate(self, query: str) -> GeoPoint | None:
        """The place's position, or None when it cannot be found or reached now."""
        ...


class NoGeocoder:
    """Geocoding switched off: every address stays unresolved."""

    def locate(self, query: str) -> GeoPoint | None:
        """Always None."""
        return None


class NominatimGeocoder:
    """geopy's Nominatim client pointed at a configurable server."""

    def __init__(self, base_url: str, user_agent: str, timeout_s: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"INTAKE_GEOCODER_URL must be an http(s) URL, got {base_url!r}")
        self._client = Nominatim(
            domain=parts.netloc + parts.path.rstrip("/"),
            scheme=parts.scheme,
            user_agent=user_agent,
            timeout=timeout_s,
        )

    def locate(self, query: str) -> GeoPoint | None:
        """First match inside Indonesia, or None (logged) when there is none or it fails."""
        try:
            found = self._client.geocode(query, exactly_one=True, country_codes="id")
        except GeopyError as exc:
            log.warning("geocoder failed for %r: %s", query, exc)
            return None
        if found is None:
            log.info("geocoder found nothing for %r", query)
            return None
        point = GeoPoint(lat=found.latitude, lon=found.longitude)
        return point if within_indonesia(point) else None


def geocoder_from(settings: IntakeSettings) -> Geocoder:
    """The geocoder the settings name, or none."""
    if not settings.geocoder_url:
        return NoGeocoder()
    return NominatimGeocoder(
        settings.geocoder_url, settings.geocoder_user_agent, settings.geocoder_timeout_s
    )
