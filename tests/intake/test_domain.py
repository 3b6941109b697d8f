"""intake's pure rules: addresses and NIKs against the real hierarchy, when two reports
are one event, and what a photo must be."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from geopy.distance import geodesic
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pydantic import SecretStr, ValidationError

from services.intake.domain import (
    AddressRefused,
    DuplicateRule,
    NotAnImage,
    OpenIncident,
    PhotoTooLarge,
    Sighting,
    check_address,
    check_reporter_nik,
    duplicate_search_box,
    find_duplicate,
    inspect_photo,
    nik_digest,
)
from services.intake.settings import IntakeSettings
from shared.contracts.envelope import Address, GeoPoint, HazardType
from shared.errors import Unprocessable
from shared.geo import distance_km
from shared.regions import regions
from shared.settings import CommonSettings

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
TENGGARONG = GeoPoint(lat=-0.4230, lon=116.9860)
RULE = DuplicateRule(radius_m=1_000, window=timedelta(hours=6))
SUKARAME = "64.02.06.1007"


def picture(fmt: str = "PNG", size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def incident(
    *,
    hazard: HazardType = HazardType.FLOOD,
    happened_at: datetime = T0,
    point: GeoPoint | None = TENGGARONG,
    village: str | None = None,
    reported_at: datetime = T0,
) -> OpenIncident:
    return OpenIncident(uuid.uuid4(), reported_at, Sighting(hazard, happened_at, point, village))


def flood(
    point: GeoPoint | None = TENGGARONG, at: datetime = T0, village: str | None = None
) -> Sighting:
    return Sighting(HazardType.FLOOD, at, point, village)


# --- duplicates ----------------------------------------------------------------------------


def test_same_hazard_nearby_and_soon_after_is_a_duplicate() -> None:
    first = incident()
    nearby = GeoPoint(lat=-0.4260, lon=116.9880)  # about 400 m away
    match = find_duplicate(flood(nearby, T0 + timedelta(hours=2)), [first], RULE)
    assert match is not None
    assert match.incident_id == first.id
    assert 300 < match.distance_m < 500
    assert match.minutes_apart == 120


def test_another_hazard_at_the_same_place_is_not_a_duplicate() -> None:
    landslide = Sighting(HazardType.LANDSLIDE, T0, TENGGARONG, None)
    assert find_duplicate(landslide, [incident()], RULE) is None


def test_beyond_the_radius_is_not_a_duplicate() -> None:
    two_km_away = GeoPoint(lat=-0.4410, lon=116.9860)
    assert find_duplicate(flood(two_km_away), [incident()], RULE) is None


def test_outside_the_window_is_not_a_duplicate_either_way() -> None:
    assert find_duplicate(flood(at=T0 + timedelta(hours=6, minutes=1)), [incident()], RULE) is None
    assert find_duplicate(flood(at=T0 - timedelta(hours=7)), [incident()], RULE) is None


def test_joins_the_first_reported_of_several_matches() -> None:
    later = incident(reported_at=T0 + timedelta(minutes=30))
    earlier = incident(
        reported_at=T0 + timedelta(minutes=5), point=GeoPoint(lat=-0.427, lon=116.986)
    )
    match = find_duplicate(flood(), [later, earlier], RULE)
    assert match is not None and match.incident_id == earlier.id


def test_without_coordinates_the_same_village_counts_as_close() -> None:
    by_address = incident(point=None, village=SUKARAME)
    match = find_duplicate(flood(point=None, village=SUKARAME), [by_address], RULE)
    assert match is not None and match.distance_m == 0
    assert find_duplicate(flood(point=None, village="64.02.06.1001"), [by_address], RULE) is None
    assert find_duplicate(flood(point=None), [incident(point=None)], RULE) is None


@settings(max_examples=300, deadline=None)
@given(
    lat=st.floats(min_value=-11.5, max_value=6.5),
    lon=st.floats(min_value=94.5, max_value=141.5),
    bearing=st.floats(min_value=0, max_value=360),
    fraction=st.floats(min_value=0, max_value=1),
    radius_m=st.sampled_from([1.0, 250.0, 1_000.0, 5_000.0, 50_000.0]),
)
def test_the_search_box_holds_every_point_within_the_radius(
    lat: float, lon: float, bearing: float, fraction: float, radius_m: float
) -> None:
    """The database pre-filter may let far incidents through, never drop a near one."""
    centre = GeoPoint(lat=lat, lon=lon)
    box = duplicate_search_box(centre, radius_m)
    assert box is not None
    reached = geodesic(meters=radius_m * fraction).destination((lat, lon), bearing)
    assert box.lat_min <= reached.latitude <= box.lat_max
    assert box.lon_min <= reached.longitude <= box.lon_max
    # ... and it is tight enough to be worth asking for (a few times the radius at most).
    assert (box.lat_max - box.lat_min) * 110_574 < 2.1 * radius_m


def test_a_zero_radius_switches_linking_off() -> None:
    off = DuplicateRule(radius_m=0, window=timedelta(hours=6))
    assert find_duplicate(flood(), [incident()], off) is None


# --- addresses --------------------------------------------------------------------------


def test_a_real_village_resolves_to_its_kemendagri_code() -> None:
    found = check_address(
        Address(village="Sukarame", district="Tenggarong", regency="Kab. Kutai Kartanegara"),
        regions(),
    )
    assert found is not None and (found.code, found.level) == (SUKARAME, "village")


def test_a_village_without_its_district_is_found_in_the_regency() -> None:
    found = check_address(Address(village="Sukarame", regency="Kutai Kartanegara"), regions())
    assert found is not None and found.code == SUKARAME


def test_a_misspelt_village_is_refused_with_a_suggestion() -> None:
    with pytest.raises(AddressRefused) as refused:
        check_address(
            Address(village="Sukaramee", district="Tenggarong", regency="Kutai Kartanegara"),
            regions(),
        )
    assert refused.value.error_code == "village_not_found"
    assert "Sukarame" in refused.value.suggestions


def test_a_village_not_in_the_regency_is_refused() -> None:
    # Sukarame of Tenggarong is not in the city of Samarinda.
    with pytest.raises(AddressRefused) as refused:
        check_address(Address(village="Sukarame", regency="Kota Samarinda"), regions())
    assert refused.value.level == "village"
    assert "Samarinda" in refused.value.detail


def test_a_postal_code_is_checked_for_form_only() -> None:
    with pytest.raises(Unprocessable) as refused:
        check_address(
            Address(village="Sukarame", regency="Kutai Kartanegara", postal_code="05511"), regions()
        )
    assert refused.value.error_code == "postal_code_malformed"
    found = check_address(
        Address(village="Sukarame", regency="Kutai Kartanegara", postal_code="75511"), regions()
    )
    assert found is not None


# --- NIK ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nik", "code"),
    [
        ("64020655078500", "nik_not_16_digits"),
        ("64O2065507850003", "nik_not_16_digits"),
        ("9999995507850003", "nik_unknown_region"),
        ("6402063213850003", "nik_impossible_birth_date"),
    ],
)
def test_a_nik_of_the_wrong_form_or_region_is_refused_without_repeating_it(
    nik: str, code: str
) -> None:
    with pytest.raises(Unprocessable) as refused:
        check_reporter_nik(nik)
    assert refused.value.error_code == code
    assert nik not in refused.value.detail


def test_a_nik_digest_matches_itself_and_hides_the_nik() -> None:
    nik = "6402065507850003"
    check_reporter_nik(nik)
    digest = nik_digest(nik, b"key-1")
    assert digest == nik_digest(nik, b"key-1") != nik_digest(nik, b"key-2")
    assert nik not in digest and len(digest) == 64


# --- photos ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "media_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_a_real_picture_is_accepted_with_its_true_type(fmt: str, media_type: str) -> None:
    data = picture(fmt)
    facts = inspect_photo(data, 1024 * 1024)
    assert (facts.media_type, facts.width, facts.height, facts.size_bytes) == (
        media_type,
        8,
        6,
        len(facts.data),
    )


def test_text_is_not_a_picture_whatever_it_is_called() -> None:
    with pytest.raises(NotAnImage):
        inspect_photo(b"<html>not a photo</html>", 1024 * 1024)
    with pytest.raises(NotAnImage):
        inspect_photo(picture("PNG")[:40], 1024 * 1024)  # truncated


def test_a_gif_is_refused_as_unsupported() -> None:
    with pytest.raises(NotAnImage) as refused:
        inspect_photo(picture("GIF"), 1024 * 1024)
    assert "GIF" in refused.value.detail


def test_a_picture_over_the_limit_is_too_large() -> None:
    data = picture("PNG", (400, 400))
    with pytest.raises(PhotoTooLarge) as refused:
        inspect_photo(data, len(data) - 1)
    assert refused.value.error_code == "photo_too_large"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([HazardType.FLOOD, HazardType.LANDSLIDE]),
            st.integers(min_value=-600, max_value=600),  # minutes from T0
            st.floats(min_value=-0.03, max_value=0.03),  # degrees of latitude from Tenggarong
            st.integers(min_value=0, max_value=120),  # minutes after T0 it was reported
        ),
        max_size=8,
    )
)
def test_a_link_is_always_to_the_first_reported_incident_within_the_rule(
    specs: list[tuple[HazardType, int, float, int]],
) -> None:
    candidates = [
        incident(
            hazard=hazard,
            happened_at=T0 + timedelta(minutes=minutes),
            point=GeoPoint(lat=TENGGARONG.lat + dlat, lon=TENGGARONG.lon),
            reported_at=T0 + timedelta(minutes=reported),
        )
        for hazard, minutes, dlat, reported in specs
    ]
    report = flood()
    qualifying = [
        c
        for c in candidates
        if c.sighting.hazard is HazardType.FLOOD
        and abs(c.sighting.happened_at - T0) <= RULE.window
        and c.sighting.point is not None
        and distance_km(c.sighting.point, TENGGARONG) * 1000 <= RULE.radius_m
    ]
    match = find_duplicate(report, candidates, RULE)
    if not qualifying:
        assert match is None
        return
    assert match is not None
    joined = next(c for c in candidates if c.id == match.incident_id)
    assert joined in qualifying
    assert joined.reported_at == min(c.reported_at for c in qualifying)


def test_production_refuses_the_development_nik_key() -> None:
    production = CommonSettings(environment="production")
    with pytest.raises(ValidationError, match="INTAKE_NIK_HASH_KEY"):
        IntakeSettings(common=production)
    IntakeSettings(
        common=production,
        nik_hash_key=SecretStr("a-real-secret-from-the-vault"),
        data_key=SecretStr(Fernet.generate_key().decode()),
    )
