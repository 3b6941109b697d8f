"""Builders shared by distribution's program tests: a runtime on a real database, the
policy, valid recipients in Kutai Kartanegara, a released dispatch as logistics sends it."""

from __future__ import annotations

import base64
import io
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from services.distribution import registry
from services.distribution.app import build_policy
from services.distribution.common import Policy
from services.distribution.migrations import HISTORY
from services.distribution.models.base import DistributionTable
from services.distribution.models.registry import (
    AddressIn,
    EligibilityIn,
    RecipientIn,
    RecipientKind,
    RecipientRow,
)
from services.distribution.settings import DistributionSettings
from services.distribution.stream import SUBSCRIPTIONS
from shared.auth import AuthSettings
from shared.clock import FixedClock
from shared.contracts.envelope import CaseType, GeoPoint
from shared.contracts.logistics import DispatchLine, DispatchReleased
from shared.contracts.union import AnyEvent, parse_event
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings

START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
HUB = GeoPoint(lat=-0.4235, lon=116.9860)  # Dinas Sosial Kukar, Tenggarong
WAREHOUSE = GeoPoint(lat=-0.4170, lon=116.9930)
TENGGARONG_VILLAGES = ("Sukarame", "Melayu", "Panji", "Timbau", "Loa Ipuh", "Maluhu")


def make_settings(database_url: str, **extra: Any) -> DistributionSettings:
    return DistributionSettings(
        database_url=database_url,
        common=CommonSettings(environment="test"),
        data_key=Fernet.generate_key().decode(),
        # Behaviour tests; test_access.py walks the access matrix with sign-in on.
        auth=AuthSettings(required=False),
        **extra,
    )


def make_runtime(database_url: str, clock: FixedClock) -> Iterator[tuple[ServiceRuntime, Policy]]:
    settings = make_settings(database_url)
    runtime = ServiceRuntime(
        name="distribution",
        settings=settings,
        metadata=DistributionTable.metadata,
        migrations=HISTORY,
        subscriptions=SUBSCRIPTIONS,
        clock=clock,
    )
    runtime.create_tables()
    try:
        yield runtime, build_policy(settings)
    finally:
        runtime.engine.dispose()


def nik(serial: int, *, born: str = "010150") -> str:
    """A NIK of Tenggarong (64.02.06) that passes every check."""
    return f"640206{born}{serial:04d}"


def person(serial: int, *, rng: random.Random | None = None, **overrides: Any) -> RecipientIn:
    rng = rng or random.Random(serial)
    payload: dict[str, Any] = {
        "kind": RecipientKind.PERSON,
        "name": f"Penerima {serial:03d}",
        "nik": nik(serial),
        "kk": f"640206{serial:010d}",
        "phone": f"0812{serial:08d}",
        "address": AddressIn(
            street=f"Jl. Mulawarman RT {serial % 30 + 1:02d}",
            district="Tenggarong",
            village=TENGGARONG_VILLAGES[serial % len(TENGGARONG_VILLAGES)],
            postal_code="75511",
        ),
        # Scattered over ~10 km around the town.
        "position": GeoPoint(
            lat=round(-0.42 + rng.uniform(-0.05, 0.05), 6),
            lon=round(116.99 + rng.uniform(-0.05, 0.05), 6),
        ),
        "verified": True,
        # In DTKS, not in PKH or Sembako; 60+ from the NIK's birth date (1950).
        "eligibility": EligibilityIn(
            social_register="dtks", social_register_id=f"DTKS-{serial:06d}"
        ),
    }
    payload.update(overrides)
    return RecipientIn(**payload)


def institution(name: str = "Panti Asuhan Harapan Bangsa") -> RecipientIn:
    return RecipientIn(
        kind=RecipientKind.INSTITUTION,
        name=name,
        institution_type="panti asuhan",
        contact_person="Ibu Kepala Panti",
        phone="0541661234",
        address=AddressIn(district="Tenggarong", village="Melayu"),
        position=GeoPoint(lat=-0.4301, lon=116.9822),
        verified=True,
    )


def register(runtime: ServiceRuntime, policy: Policy, body: RecipientIn) -> RecipientRow:
    return runtime.run(lambda uow: registry.register_recipient(uow, policy, body))


def release_for(
    case_id: uuid.UUID,
    case_type: CaseType,
    lines: list[tuple[str, int]],
    *,
    lots_per_item: int = 1,
    at: datetime = START,
    expires_on: date | None = None,
) -> DispatchReleased:
    """The DispatchReleased logistics sends when the goods of a program case leave."""
    dispatch_lines: list[DispatchLine] = []
    for item, quantity in lines:
        share, rest = divmod(quantity, lots_per_item)
        for lot in range(lots_per_item):
            amount = share + (rest if lot == 0 else 0)
            if amount:
                dispatch_lines.append(
                    DispatchLine(
                        item_code=item,
                        lot_id=uuid.uuid4(),
                        quantity=amount,
                        received_on=date(2025, 12, 1),
                        expires_on=expires_on,
                    )
                )
    return DispatchReleased.first(
        office_id="kukar",
        case_id=case_id,
        producer="logistics",
        occurred_at=at,
        case_type=case_type,
        dispatch_id=uuid.uuid4(),
        warehouse_code="GUDANG-TGR",
        origin=WAREHOUSE,
        destination=HUB,
        lines=tuple(dispatch_lines),
        released_by="Kepala Gudang",
    )


def outbox(runtime: ServiceRuntime) -> list[AnyEvent]:
    """Every event distribution queued, in order."""
    table = runtime.messaging.outbox
    with runtime.engine.connect() as connection:
        payloads = (
            connection.execute(select(table.c.payload).order_by(table.c.sequence)).scalars().all()
        )
    return [parse_event(payload) for payload in payloads]


def outbox_raw(runtime: ServiceRuntime) -> list[bytes]:
    table = runtime.messaging.outbox
    with runtime.engine.connect() as connection:
        return [bytes(p) for p in connection.execute(select(table.c.payload)).scalars().all()]


def png_bytes(width: int = 40, height: int = 20) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (20, 20, 20)).save(buffer, format="PNG")
    return buffer.getvalue()


@cache
def signature() -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes()).decode()


def create_program(
    client: TestClient, *, name: str = "Permakanan 2026", start_date: str = "2026-01-05"
) -> dict[str, Any]:
    """A program of one rice parcel a recipient, made over HTTP."""
    created = client.post(
        "/permakanan/programs",
        json={
            "name": name,
            "start_date": start_date,
            "parcel": [{"item_code": "RICE-5KG", "quantity": 2}],
            "hub": HUB.model_dump(),
        },
    )
    assert created.status_code == 201, created.text
    program: dict[str, Any] = created.json()
    return program
