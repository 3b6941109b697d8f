"""distribution's program use cases on a real database (SQLite and PostgreSQL), without a
broker: the registry and its protected numbers, permakanan rounds, runs, proof of
delivery, failures and what follows them, and sandang handovers with their BAST."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import text

from services.distribution import deliveries, enrolments, permakanan, registry, runs, sandang
from services.distribution.common import Policy
from services.distribution.domain import (
    DeliveryKind,
    DeliveryStatus,
    FailureReason,
    Resolution,
    leg_km,
)
from services.distribution.models.deliveries import (
    ArrivalIn,
    CompletionIn,
    DeliveryRow,
    FailureIn,
    ReturnIn,
)
from services.distribution.models.permakanan import (
    EnrolmentIn,
    EnrolmentStatus,
    OpeningOverride,
    ProgramIn,
    ProgramRow,
    ReplacementIn,
    RoundRow,
    RoundStatus,
)
from services.distribution.models.registry import AddressIn, RecipientRow
from services.distribution.models.runs import RunIn
from services.distribution.models.sandang import ProcurementStartIn, SandangRequestIn, SandangStatus
from shared.clock import FixedClock
from shared.contracts.distribution import (
    DeliveryReturned,
    DeliveryRunDeparted,
    DeliveryRunPlanned,
    GoodsRequested,
    PermakananRoundCompleted,
    PermakananRoundScheduled,
    RecipientFlaggedForReview,
    SandangHandedOver,
    SandangProcurementStarted,
    SandangRequested,
)
from shared.contracts.envelope import CaseType, GeoPoint, NeedLine
from shared.errors import Conflict, NotFound, PermanentEventError, Unprocessable
from shared.runtime import ServiceRuntime
from tests.distribution.programs_support import (
    HUB,
    START,
    institution,
    make_runtime,
    nik,
    outbox,
    outbox_raw,
    person,
    png_bytes,
    register,
    release_for,
    signature,
)
from tests.support.pictures import metadata_of, phone_photo, png_declaring
from tests.support.signed import audit_entries

PARCEL = [NeedLine(item_code="RICE-5KG", quantity=2), NeedLine(item_code="OIL-1L", quantity=1)]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def service(database_url: str, clock: FixedClock) -> Iterator[tuple[ServiceRuntime, Policy]]:
    yield from make_runtime(database_url, clock)


# --- registry -------------------------------------------------------------------------


def test_numbers_are_stored_encrypted_and_shown_masked(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    row = register(runtime, policy, person(3))
    with runtime.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT nik_token, nik_hash, kk_token, phone_token FROM recipient")
        ).one()
    clear = (nik(3), "6402060000000003", "081200000003")
    assert not any(number in " ".join(stored) for number in clear)
    assert policy.vault.decrypt(stored[0]) == nik(3)
    masked = registry.recipient_view(row, policy.vault, reveal=False)
    assert (masked.nik, masked.kk, masked.phone) == (
        "64020601******03",
        "64020600******03",
        "0812******03",
    )
    revealed = registry.recipient_view(row, policy.vault, reveal=True)
    assert (revealed.nik, revealed.phone) == (nik(3), "081200000003")
    assert (masked.village, masked.village_code, masked.regency) == (
        "Timbau",
        masked.village_code,
        "Kabupaten Kutai Kartanegara",
    )
    assert masked.village_code.startswith("64.02.06.")


def test_the_same_nik_cannot_be_registered_twice(service: tuple[ServiceRuntime, Policy]) -> None:
    runtime, policy = service
    first = register(runtime, policy, person(5))
    with pytest.raises(Conflict) as refused:
        register(runtime, policy, person(5, name="Someone Else"))
    assert refused.value.error_code == "duplicate_nik"
    assert str(first.id) in refused.value.detail and nik(5) not in refused.value.detail


BAD_REGISTRATIONS: list[tuple[dict[str, Any], str]] = [
    ({"nik": "64020601015"}, "invalid_nik"),
    ({"nik": "6402063213500001"}, "invalid_nik"),
    ({"kk": "12345"}, "invalid_kk"),
    ({"address": AddressIn(district="Tenggarong", village="Kuta")}, "address_not_in_regency"),
    (
        {"address": AddressIn(district="Balikpapan Kota", village="Klandasan Ilir")},
        "address_not_in_regency",
    ),
    (
        {"address": AddressIn(district="Tenggarong", village="Sukarame", postal_code="05511")},
        "invalid_postal_code",
    ),
]


def test_bad_registrations_are_refused_and_store_nothing(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    # One database for the lot: each refusal is checked to leave the registry empty.
    runtime, policy = service
    for overrides, code in BAD_REGISTRATIONS:
        with pytest.raises(Unprocessable) as refused:
            register(runtime, policy, person(7, **overrides))
        assert refused.value.error_code == code, overrides
        assert nik(7) not in refused.value.detail
        assert (
            runtime.run(lambda uow: registry.list_recipients(uow, policy.vault, limit=9).items)
            == []
        )
    with pytest.raises(Unprocessable) as misspelt:
        register(
            runtime, policy, person(8, address=AddressIn(district="Tenggarong", village="Sukarami"))
        )
    assert "did you mean Sukarame" in misspelt.value.detail


# --- permakanan -----------------------------------------------------------------------


def new_program(runtime: ServiceRuntime, policy: Policy) -> ProgramRow:
    body = ProgramIn(name="Permakanan Lansia 2026", start_date=START.date(), parcel=PARCEL, hub=HUB)
    return runtime.run(lambda uow: permakanan.create_program(uow, policy, body))


def enrol_people(
    runtime: ServiceRuntime,
    policy: Policy,
    program: ProgramRow,
    serials: range,
    *,
    candidate: bool = False,
) -> list[RecipientRow]:
    people = [register(runtime, policy, person(s)) for s in serials]
    for row in people:
        runtime.run(
            partial(
                enrolments.enrol,
                program_id=program.id,
                body=EnrolmentIn(recipient_id=row.id, as_candidate=candidate),
            )
        )
    return people


def round_number(runtime: ServiceRuntime, program: ProgramRow, number: int) -> RoundRow:
    return runtime.run(lambda uow: permakanan.rounds_of(uow, program.id))[number - 1]


def parcels(runtime: ServiceRuntime, round_id: uuid.UUID) -> list[DeliveryRow]:
    return list(
        runtime.run(
            lambda uow: (
                deliveries.list_deliveries(uow, status=None, case_id=round_id, limit=1000).items
            )
        )
    )


def opened_and_released(
    runtime: ServiceRuntime, policy: Policy, people: int = 4, expires_on: date | None = None
) -> tuple[ProgramRow, RoundRow, list[RecipientRow]]:
    program = new_program(runtime, policy)
    enrolled = enrol_people(runtime, policy, program, range(1, people + 1))
    first = round_number(runtime, program, 1)
    runtime.run(lambda uow: permakanan.open_round(uow, policy, first.id))
    release = release_for(
        first.id,
        CaseType.PERMAKANAN_ROUND,
        [("RICE-5KG", 2 * people), ("OIL-1L", people)],
        expires_on=expires_on,
    )
    runtime.run(lambda uow: deliveries.on_dispatch_released(uow, release))
    return program, round_number(runtime, program, 1), enrolled


def test_opening_a_round_creates_a_parcel_per_recipient_and_asks_for_the_goods(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    program = new_program(runtime, policy)
    people = enrol_people(runtime, policy, program, range(1, 4))
    enrol_people(runtime, policy, program, range(50, 52), candidate=True)
    first = round_number(runtime, program, 1)
    runtime.run(lambda uow: permakanan.open_round(uow, policy, first.id))
    again = runtime.run(lambda uow: permakanan.open_round(uow, policy, first.id))
    assert again.status is RoundStatus.OPEN and again.recipients == 3

    rows = parcels(runtime, first.id)
    assert sorted(r.recipient_id for r in rows if r.recipient_id) == sorted(p.id for p in people)
    assert {(r.destination_lat, r.destination_lon) for r in rows} == {
        (p.lat, p.lon) for p in people
    }
    assert all(r.kind is DeliveryKind.PERMAKANAN and r.goods_ready_at is None for r in rows)
    scheduled, requested = outbox(runtime)
    assert isinstance(scheduled, PermakananRoundScheduled) and isinstance(requested, GoodsRequested)
    assert (scheduled.case_id, scheduled.case_type, scheduled.recipients) == (
        first.id,
        CaseType.PERMAKANAN_ROUND,
        3,
    )
    assert (scheduled.period_start, scheduled.period_end) == (first.period_start, first.period_end)
    assert requested.case_id == first.id and requested.purpose == "permakanan_round"
    assert {(line.item_code, line.quantity) for line in requested.lines} == {
        ("RICE-5KG", 6),
        ("OIL-1L", 3),
    }
    assert requested.destination == HUB and requested.causation_id == scheduled.event_id


def test_rounds_open_in_order_and_parcels_wait_for_the_goods(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    program = new_program(runtime, policy)
    enrol_people(runtime, policy, program, range(1, 3))
    with pytest.raises(Conflict) as early:
        runtime.run(
            lambda uow: permakanan.open_round(uow, policy, round_number(runtime, program, 2).id)
        )
    assert early.value.error_code == "previous_round_not_open"
    first = round_number(runtime, program, 1)
    runtime.run(lambda uow: permakanan.open_round(uow, policy, first.id))
    waiting = parcels(runtime, first.id)[0]
    run = RunIn(
        team="Tim A",
        vehicle="KT 1234 AB",
        run_date=START.date(),
        start=HUB,
        delivery_ids=[waiting.id],
    )
    with pytest.raises(Conflict) as not_yet:
        runtime.run(lambda uow: runs.create_run(uow, run, office_id="kukar"))
    assert not_yet.value.error_code == "goods_not_released"


def test_every_two_months_a_round_opens_only_in_its_window_or_with_a_recorded_override(
    service: tuple[ServiceRuntime, Policy], clock: FixedClock
) -> None:
    # 000: "selama 1 tahun (12 bulan), dengan penyaluran bantuan setiap 2 bulan sekali":
    # six rounds cannot all be opened in one week. START is 5 Jan 2026 (round 1's first
    # day); round 2 covers 5 Mar - 4 May and opens from 30 days before.
    runtime, policy = service
    program = new_program(runtime, policy)
    enrol_people(runtime, policy, program, range(1, 3))
    first, second = round_number(runtime, program, 1), round_number(runtime, program, 2)
    runtime.run(lambda uow: permakanan.open_round(uow, policy, first.id))
    with pytest.raises(Unprocessable) as early:
        runtime.run(lambda uow: permakanan.open_round(uow, policy, second.id))
    assert early.value.error_code == "round_outside_window"
    assert str(second.period_start) in early.value.detail
    assert round_number(runtime, program, 2).status is RoundStatus.PLANNED

    override = OpeningOverride(by="Kepala Dinas", reason="anggaran dua putaran cair bersamaan")
    opened = runtime.run(lambda uow: permakanan.open_round(uow, policy, second.id, override))
    assert opened.status is RoundStatus.OPEN
    assert (opened.opening_override_by, opened.opening_override_reason) == (
        "Kepala Dinas", "anggaran dua putaran cair bersamaan",
    )  # fmt: skip
    assert opened.opening_override_at == START
    (entry,) = [e for e in audit_entries(runtime, str(second.id))
                if e["action"] == "RoundOpenedOutsideWindow"]  # fmt: skip
    details = json.loads(entry["details"])
    assert (details["by"], details["reason"]) == (
        "Kepala Dinas", "anggaran dua putaran cair bersamaan",
    )  # fmt: skip
    assert details["window"] == ["2026-02-03", "2026-05-04"]

    # Inside its window no override is needed, and none is recorded.
    third = round_number(runtime, program, 3)
    clock.set(datetime.combine(third.period_start, datetime.min.time(), UTC) - timedelta(days=29))
    in_window = runtime.run(lambda uow: permakanan.open_round(uow, policy, third.id))
    assert in_window.status is RoundStatus.OPEN and in_window.opening_override_by is None


def test_a_release_for_the_round_readies_every_parcel_with_its_lots(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    _, first, _ = opened_and_released(runtime, policy, people=3)
    assert first.status is RoundStatus.GOODS_RELEASED
    rows = parcels(runtime, first.id)
    assert all(r.goods_ready_at == START and r.warehouse_code == "GUDANG-TGR" for r in rows)
    assert all(r.dispatch_id is None for r in rows)
    for row in rows:
        assert row.lots is not None
        assert sum(lot.quantity for lot in row.lots if lot.item_code == "RICE-5KG") == 2
        assert all(lot.lot_id for lot in row.lots)


def test_a_partial_release_readies_the_parcels_it_covers_and_the_rest_wait(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    program = new_program(runtime, policy)
    enrol_people(runtime, policy, program, range(1, 5))
    first = round_number(runtime, program, 1)
    runtime.run(lambda uow: permakanan.open_round(uow, policy, first.id))
    part = release_for(first.id, CaseType.PERMAKANAN_ROUND, [("RICE-5KG", 5), ("OIL-1L", 4)])
    runtime.run(lambda uow: deliveries.on_dispatch_released(uow, part))
    assert sum(r.goods_ready_at is not None for r in parcels(runtime, first.id)) == 2
    # The same release re-announced under a new event id readies nothing more.
    again = part.model_copy(update={"event_id": uuid.uuid4()})
    runtime.run(lambda uow: deliveries.on_dispatch_released(uow, again))
    assert sum(r.goods_ready_at is not None for r in parcels(runtime, first.id)) == 2
    rest = release_for(first.id, CaseType.PERMAKANAN_ROUND, [("RICE-5KG", 4), ("OIL-1L", 2)])
    runtime.run(lambda uow: deliveries.on_dispatch_released(uow, rest))
    assert all(r.goods_ready_at is not None for r in parcels(runtime, first.id))


def test_a_release_for_an_unknown_round_is_dead_lettered(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, _ = service
    release = release_for(uuid.uuid4(), CaseType.PERMAKANAN_ROUND, [("RICE-5KG", 2)])
    with pytest.raises(PermanentEventError) as refused:
        runtime.run(lambda uow: deliveries.on_dispatch_released(uow, release))
    assert refused.value.reason == "unknown_round"


def test_a_run_orders_its_stops_and_assigns_them_to_the_team(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    _, first, _ = opened_and_released(runtime, policy, people=6)
    rows = parcels(runtime, first.id)
    body = RunIn(
        team="Tim A",
        vehicle="KT 1234 AB",
        run_date=START.date(),
        start=HUB,
        delivery_ids=[r.id for r in rows],
    )
    run = runtime.run(lambda uow: runs.create_run(uow, body, office_id="kukar"))
    assert sorted(run.stops) == sorted(str(r.id) for r in rows)
    assert run.total_km == pytest.approx(sum(run.legs_km))
    in_given_order = sum(
        leg_km(a, b)
        for a, b in zip(
            [HUB] + [r.destination() for r in rows], [r.destination() for r in rows], strict=False
        )
    )
    assert run.total_km <= in_given_order + 1e-9
    stops = runtime.run(lambda uow: runs.run_stops(uow, run))
    assert [str(row.id) for row, _ in stops] == run.stops
    assert all(row.status is DeliveryStatus.ASSIGNED and row.team == "Tim A" for row, _ in stops)
    (planned,) = [e for e in outbox(runtime) if isinstance(e, DeliveryRunPlanned)]
    assert (planned.run_id, planned.case_id, planned.team) == (run.id, first.id, "Tim A")
    assert [str(i) for i in planned.delivery_ids] == run.stops
    with pytest.raises(Conflict) as twice:
        runtime.run(lambda uow: runs.create_run(uow, body, office_id="kukar"))
    assert twice.value.error_code == "delivery_not_assignable"
    runtime.run(lambda uow: runs.depart_run(uow, run.id))
    runtime.run(lambda uow: runs.depart_run(uow, run.id))
    (departed,) = [e for e in outbox(runtime) if isinstance(e, DeliveryRunDeparted)]
    assert departed.causation_id == planned.event_id and len(departed.delivery_ids) == 6
    assert {row.status for row, _ in runtime.run(lambda uow: runs.run_stops(uow, run))} == {
        DeliveryStatus.IN_TRANSIT
    }


def test_bad_runs_are_refused(service: tuple[ServiceRuntime, Policy]) -> None:
    runtime, policy = service
    _, first, _ = opened_and_released(runtime, policy, people=2)
    ids = [r.id for r in parcels(runtime, first.id)]
    cases = [
        (
            RunIn(
                team="T",
                vehicle="V",
                run_date=START.date(),
                start=HUB,
                delivery_ids=[ids[0], ids[0]],
            ),
            "duplicate_delivery_in_run",
        ),
        (
            RunIn(
                team="T", vehicle="V", run_date=START.date(), start=HUB, delivery_ids=[uuid.uuid4()]
            ),
            "delivery_not_found",
        ),
    ]
    for body, code in cases:
        with pytest.raises((Unprocessable, NotFound)) as refused:
            runtime.run(partial(runs.create_run, body=body, office_id="kukar"))
        assert refused.value.error_code == code
    assert all(r.status is DeliveryStatus.CREATED for r in parcels(runtime, first.id))


def on_the_road(
    runtime: ServiceRuntime, policy: Policy, people: int = 3, expires_on: date | None = None
) -> tuple[RoundRow, list[DeliveryRow]]:
    _, first, _ = opened_and_released(runtime, policy, people=people, expires_on=expires_on)
    rows = parcels(runtime, first.id)
    body = RunIn(
        team="Tim A",
        vehicle="KT 1",
        run_date=START.date(),
        start=HUB,
        delivery_ids=[r.id for r in rows],
    )
    run = runtime.run(lambda uow: runs.create_run(uow, body, office_id="kukar"))
    runtime.run(lambda uow: runs.depart_run(uow, run.id))
    return first, parcels(runtime, first.id)


def proof(row: DeliveryRow, **overrides: object) -> CompletionIn:
    payload: dict[str, object] = {
        "received_by": "Ibu Siti",
        "relation": "self",
        "position": row.destination(),
        "signature_png_base64": signature(),
    }
    payload.update(overrides)
    return CompletionIn.model_validate(payload)


def test_a_permakanan_parcel_past_its_expiry_is_not_handed_over(
    service: tuple[ServiceRuntime, Policy], clock: FixedClock
) -> None:
    # 000: food handed over "tidak cacat dan tidak kadaluwarsa". The goods expire at the end
    # of 6 Jan (WITA); the team arrives on the 7th.
    runtime, policy = service
    _, (first, second) = on_the_road(runtime, policy, people=2, expires_on=date(2026, 1, 6))
    assert first.lots and {lot.expires_on for lot in first.lots} == {date(2026, 1, 6)}
    runtime.run(lambda uow: deliveries.complete(uow, first.id, proof(first), policy=policy))
    clock.set(datetime(2026, 1, 6, 16, 30, tzinfo=UTC))  # 7 Jan 00:30 WITA
    with pytest.raises(Unprocessable) as refused:
        runtime.run(lambda uow: deliveries.complete(uow, second.id, proof(second), policy=policy))
    assert refused.value.error_code == "goods_expired"
    assert "expired 2026-01-06" in str(refused.value)
    assert delivery_status(runtime, second.id) is not DeliveryStatus.DELIVERED


def delivery_status(runtime: ServiceRuntime, delivery_id: uuid.UUID) -> DeliveryStatus:
    return runtime.run(lambda uow: deliveries.get_delivery(uow, delivery_id).status)


def test_proof_of_delivery_is_kept_and_a_far_position_flagged(
    service: tuple[ServiceRuntime, Policy], clock: FixedClock
) -> None:
    runtime, policy = service
    _, rows = on_the_road(runtime, policy, people=2)
    near, far = rows
    clock.advance(timedelta(hours=2))
    done = runtime.run(lambda uow: deliveries.complete(uow, near.id, proof(near), policy=policy))
    assert (done.status, done.received_by, done.received_relation) == (
        DeliveryStatus.DELIVERED,
        "Ibu Siti",
        "self",
    )
    assert (
        done.has_signature
        and not done.far_from_address
        and done.proof_distance_m == pytest.approx(0, abs=1)
    )
    assert done.delivered_at == START + timedelta(hours=2)
    away = GeoPoint(lat=far.destination_lat + 0.01, lon=far.destination_lon)
    flagged = runtime.run(
        lambda uow: deliveries.complete(uow, far.id, proof(far, position=away), policy=policy)
    )
    assert flagged.far_from_address and flagged.proof_distance_m == pytest.approx(1106, abs=5)
    image = runtime.run(lambda uow: deliveries.proof_image(uow, near.id, "signature"))
    assert image.content_type == "image/png" and image.data.startswith(b"\x89PNG")


INCOMPLETE_PROOFS: list[tuple[dict[str, Any], str]] = [
    ({"relation": None}, "proof_relation_missing"),
    ({"position": None}, "proof_position_missing"),
    ({"signature_png_base64": None}, "proof_missing"),
    ({"signature_png_base64": "bm90IGFuIGltYWdl"}, "not_an_image"),
    ({"signature_png_base64": "%%%"}, "not_an_image"),
]


def test_incomplete_proof_is_refused_and_changes_nothing(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    _, rows = on_the_road(runtime, policy, people=1)
    before = outbox(runtime)
    for overrides, code in INCOMPLETE_PROOFS:
        with pytest.raises(Unprocessable) as refused:
            runtime.run(
                partial(
                    deliveries.complete,
                    delivery_id=rows[0].id,
                    completion=proof(rows[0], **overrides),
                    policy=policy,
                )
            )
        assert refused.value.error_code == code, overrides
        stored = runtime.run(lambda uow: deliveries.get_delivery(uow, rows[0].id))
        assert (stored.status, stored.has_signature) == (DeliveryStatus.IN_TRANSIT, False)
        assert outbox(runtime) == before


def test_a_photo_can_stand_in_for_the_signature(service: tuple[ServiceRuntime, Policy]) -> None:
    runtime, policy = service
    _, rows = on_the_road(runtime, policy, people=1)
    row = rows[0]
    with pytest.raises(Unprocessable) as fake:
        runtime.run(lambda uow: deliveries.upload_photo(uow, policy, row.id, b"GIF89a not really"))
    assert fake.value.error_code == "not_an_image"
    runtime.run(lambda uow: deliveries.upload_photo(uow, policy, row.id, png_bytes(64, 48)))
    done = runtime.run(
        lambda uow: deliveries.complete(
            uow, row.id, proof(row, signature_png_base64=None), policy=policy
        )
    )
    assert done.has_photo and not done.has_signature and done.status is DeliveryStatus.DELIVERED
    with pytest.raises(Conflict) as late:
        runtime.run(lambda uow: deliveries.upload_photo(uow, policy, row.id, png_bytes()))
    assert late.value.error_code == "delivery_settled"


def test_a_handover_picture_declaring_too_many_pixels_is_refused_and_nothing_is_kept(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    _, rows = on_the_road(runtime, policy, people=1)
    row = rows[0]
    bomb = png_declaring(50_000, 50_000)
    with pytest.raises(Unprocessable) as photo:
        runtime.run(lambda uow: deliveries.upload_photo(uow, policy, row.id, bomb))
    assert photo.value.error_code == "image_too_many_pixels"
    as_signature = "data:image/png;base64," + base64.b64encode(bomb).decode()
    with pytest.raises(Unprocessable) as signature:
        runtime.run(
            lambda uow: deliveries.complete(
                uow, row.id, proof(row, signature_png_base64=as_signature), policy=policy
            )
        )
    assert signature.value.error_code == "image_too_many_pixels"
    stored = runtime.run(lambda uow: deliveries.get_delivery(uow, row.id))
    assert (stored.has_photo, stored.has_signature) == (False, False)


def test_a_stored_handover_photo_keeps_no_gps_position_or_device(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    _, rows = on_the_road(runtime, policy, people=1)
    row = rows[0]
    runtime.run(lambda uow: deliveries.upload_photo(uow, policy, row.id, phone_photo((40, 20))))
    image = runtime.run(lambda uow: deliveries.proof_image(uow, row.id, "photo"))
    exif, carried, size = metadata_of(image.data)
    assert (exif, carried, image.content_type) == ({}, set(), "image/jpeg")
    assert b"Samsung" not in image.data
    assert size == (20, 40)  # turned upright as the EXIF orientation said, then dropped


def test_confirming_twice_is_a_no_op_and_after_failure_is_refused(
    service: tuple[ServiceRuntime, Policy], clock: FixedClock
) -> None:
    runtime, policy = service
    _, (delivered, failed) = on_the_road(runtime, policy, people=2)
    runtime.run(lambda uow: deliveries.complete(uow, delivered.id, proof(delivered), policy=policy))
    events = outbox(runtime)
    clock.advance(timedelta(minutes=3))
    again = runtime.run(
        lambda uow: deliveries.complete(
            uow, delivered.id, proof(delivered, received_by="Other"), policy=policy
        )
    )
    assert (again.received_by, again.delivered_at) == ("Ibu Siti", START)
    assert outbox(runtime) == events
    runtime.run(
        lambda uow: deliveries.fail(
            uow, failed.id, FailureIn(reason_code=FailureReason.NOT_AT_HOME)
        )
    )
    with pytest.raises(Conflict) as after_failure:
        runtime.run(lambda uow: deliveries.complete(uow, failed.id, proof(failed), policy=policy))
    assert after_failure.value.error_code == "invalid_delivery_transition"
    assert runtime.run(lambda uow: deliveries.get_delivery(uow, failed.id)).received_by is None


def test_a_program_failure_needs_a_structured_reason(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    _, rows = on_the_road(runtime, policy, people=1)
    with pytest.raises(Unprocessable) as refused:
        runtime.run(
            lambda uow: deliveries.fail(uow, rows[0].id, FailureIn(reason="tidak ada orang"))
        )
    assert refused.value.error_code == "failure_reason_required"


def test_deceased_flags_the_recipient_and_the_goods_must_go_back(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    first, (row, *_) = on_the_road(runtime, policy, people=2)
    runtime.run(
        lambda uow: deliveries.fail(uow, row.id, FailureIn(reason_code=FailureReason.DECEASED))
    )
    recipient = runtime.run(
        lambda uow: registry.get_recipient(uow, row.recipient_id or uuid.uuid4())
    )
    assert recipient.review_reason == "deceased" and recipient.flagged_at == START
    flagged = [e for e in outbox(runtime) if isinstance(e, RecipientFlaggedForReview)]
    assert (
        len(flagged) == 1
        and flagged[0].recipient_id == recipient.id
        and flagged[0].reason == "deceased"
    )
    with pytest.raises(Conflict) as pointless:
        runtime.run(lambda uow: deliveries.reattempt(uow, row.id))
    assert pointless.value.error_code == "reattempt_pointless"
    returned = runtime.run(lambda uow: deliveries.return_goods(uow, row.id, ReturnIn()))
    runtime.run(lambda uow: deliveries.return_goods(uow, row.id, ReturnIn()))
    assert returned.resolution is Resolution.RETURNED
    (back,) = [e for e in outbox(runtime) if isinstance(e, DeliveryReturned)]
    assert back.delivery_id == row.id and back.warehouse_code == "GUDANG-TGR"
    assert back.case_id == first.id and back.case_type is CaseType.PERMAKANAN_ROUND
    assert {(line.item_code, line.quantity) for line in back.lines} == {
        ("RICE-5KG", 2),
        ("OIL-1L", 1),
    }
    assert all(line.lot_id is not None for line in back.lines)
    evaluation = runtime.run(lambda uow: permakanan.evaluate_round(uow, first.id))
    assert evaluation.to_review == [recipient.id] and evaluation.failures == {"deceased": 1}
    assert (evaluation.open, evaluation.round.returned) == (1, 0)


def test_not_at_home_is_reattempted_as_a_new_delivery_then_the_round_completes(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    first, (missed, reached) = on_the_road(runtime, policy, people=2)
    runtime.run(
        lambda uow: deliveries.fail(
            uow, missed.id, FailureIn(reason_code=FailureReason.NOT_AT_HOME)
        )
    )
    again = runtime.run(lambda uow: deliveries.reattempt(uow, missed.id))
    same = runtime.run(lambda uow: deliveries.reattempt(uow, missed.id))
    assert same.id == again.id
    assert (again.attempt, again.previous_attempt_id, again.recipient_id) == (
        2,
        missed.id,
        missed.recipient_id,
    )
    assert again.goods_ready_at is not None and again.lots == missed.lots
    with pytest.raises(Conflict) as returned:
        runtime.run(lambda uow: deliveries.return_goods(uow, missed.id, ReturnIn()))
    assert returned.value.error_code == "already_reattempted"
    runtime.run(lambda uow: deliveries.complete(uow, reached.id, proof(reached), policy=policy))
    assert not any(isinstance(e, PermakananRoundCompleted) for e in outbox(runtime))
    body = RunIn(
        team="Tim B", vehicle="KT 2", run_date=START.date(), start=HUB, delivery_ids=[again.id]
    )
    run = runtime.run(lambda uow: runs.create_run(uow, body, office_id="kukar"))
    runtime.run(lambda uow: runs.depart_run(uow, run.id))
    runtime.run(
        lambda uow: deliveries.arrive(
            uow, again.id, ArrivalIn(position=again.destination()), tolerance_m=2000
        )
    )
    runtime.run(lambda uow: deliveries.complete(uow, again.id, proof(again), policy=policy))
    (completed,) = [e for e in outbox(runtime) if isinstance(e, PermakananRoundCompleted)]
    assert (completed.case_id, completed.round_number, completed.delivered, completed.returned) == (
        first.id,
        1,
        2,
        0,
    )
    stored = runtime.run(lambda uow: permakanan.get_round(uow, first.id))
    assert (stored.status, stored.delivered, stored.returned) == (RoundStatus.COMPLETED, 2, 0)


def test_a_recipient_who_no_longer_qualifies_is_replaced_by_the_next_verified_candidate(
    service: tuple[ServiceRuntime, Policy], clock: FixedClock
) -> None:
    runtime, policy = service
    program = new_program(runtime, policy)
    (leaving, staying) = enrol_people(runtime, policy, program, range(1, 3))
    clock.advance(timedelta(days=1))
    unverified = register(runtime, policy, person(40, verified=False))
    (first_in_line,) = enrol_people(runtime, policy, program, range(41, 42), candidate=True)
    clock.advance(timedelta(days=1))
    enrol_people(runtime, policy, program, range(42, 43), candidate=True)
    with pytest.raises(Unprocessable) as not_verified:
        runtime.run(
            lambda uow: enrolments.enrol(uow, program.id, EnrolmentIn(recipient_id=unverified.id))
        )
    assert not_verified.value.error_code == "recipient_not_verified"

    body = ReplacementIn(recipient_id=leaving.id, reason="meninggal dunia")
    ended, successor = runtime.run(lambda uow: enrolments.replace_recipient(uow, program.id, body))
    assert ended.status is EnrolmentStatus.ENDED and successor is not None
    assert successor.recipient_id == first_in_line.id and successor.status is EnrolmentStatus.ACTIVE
    _, again_successor = runtime.run(
        lambda uow: enrolments.replace_recipient(uow, program.id, body)
    )
    assert again_successor is not None and again_successor.id == successor.id
    active = runtime.run(
        lambda uow: (
            enrolments.enrolments_of(uow, program.id, EnrolmentStatus.ACTIVE, limit=1000).items
        )
    )
    assert {e.recipient_id for e in active} == {staying.id, first_in_line.id}
    first = round_number(runtime, program, 1)
    runtime.run(lambda uow: permakanan.open_round(uow, policy, first.id))
    assert {r.recipient_id for r in parcels(runtime, first.id)} == {staying.id, first_in_line.id}


# --- sandang --------------------------------------------------------------------------


def test_sandang_request_release_and_handover_leave_a_bast(
    service: tuple[ServiceRuntime, Policy], clock: FixedClock
) -> None:
    runtime, policy = service
    panti = register(runtime, policy, institution())
    lines = [
        NeedLine(item_code="SARUNG", quantity=30),
        NeedLine(item_code="KAOS-ANAK", quantity=45),
    ]
    body = SandangRequestIn(
        institution_id=panti.id,
        lines=lines,
        needed_by=START.date() + timedelta(days=30),
        budget_year=2027,
    )
    request = runtime.run(lambda uow: sandang.request_sandang(uow, policy, body))
    (requested,) = outbox(runtime)
    assert isinstance(requested, SandangRequested)
    assert (requested.case_id, requested.case_type, requested.institution_name) == (
        request.id,
        CaseType.SANDANG_REQUEST,
        "Panti Asuhan Harapan Bangsa",
    )
    start = ProcurementStartIn(started_by="Kabid Linjamsos")
    runtime.run(lambda uow: sandang.start_sandang_procurement(uow, request.id, start))
    _, started, goods = outbox(runtime)
    assert isinstance(started, SandangProcurementStarted) and isinstance(goods, GoodsRequested)
    assert goods.purpose == "sandang_request" and goods.destination == panti.position()

    release = release_for(
        request.id, CaseType.SANDANG_REQUEST, [("SARUNG", 30), ("KAOS-ANAK", 45)], lots_per_item=2
    )
    runtime.run(lambda uow: deliveries.on_dispatch_released(uow, release))
    runtime.run(lambda uow: deliveries.on_dispatch_released(uow, release))
    (delivery,) = parcels(runtime, request.id)
    assert (delivery.kind, delivery.recipient_id, delivery.dispatch_id) == (
        DeliveryKind.SANDANG,
        panti.id,
        release.dispatch_id,
    )
    assert delivery.destination() == panti.position()
    body_run = RunIn(
        team="Tim S", vehicle="KT 3", run_date=START.date(), start=HUB, delivery_ids=[delivery.id]
    )
    run = runtime.run(lambda uow: runs.create_run(uow, body_run, office_id="kukar"))
    runtime.run(lambda uow: runs.depart_run(uow, run.id))
    clock.advance(timedelta(hours=1))
    runtime.run(
        lambda uow: deliveries.complete(
            uow,
            delivery.id,
            proof(delivery, received_by="Ibu Kepala Panti", relation="kepala panti"),
            policy=policy,
        )
    )
    stored = runtime.run(lambda uow: sandang.get_sandang_request(uow, request.id))
    assert stored.status is SandangStatus.HANDED_OVER and stored.handover_id is not None
    handover = runtime.run(
        lambda uow: sandang.get_handover(uow, stored.handover_id or uuid.uuid4())
    )
    assert handover.number.startswith("BAST/KUKAR/20260105/")
    assert (handover.received_by, handover.relation, handover.handed_over_by) == (
        "Ibu Kepala Panti",
        "kepala panti",
        "Tim S",
    )
    assert sorted((line.item_code, line.quantity) for line in handover.lines) == [
        ("KAOS-ANAK", 45),
        ("SARUNG", 30),
    ]
    (handed,) = [e for e in outbox(runtime) if isinstance(e, SandangHandedOver)]
    assert (handed.handover_id, handed.case_id, handed.institution_id) == (
        handover.id,
        request.id,
        panti.id,
    )


def test_a_sandang_request_is_filed_before_its_budget_year_starts_t_minus_1(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    # 000: "Permohonan diajukan 1 tahun sebelum tahun anggaran berjalan (T-1)". START is
    # 5 January 2026: a request for 2026 comes too late, one for 2027 is on time.
    runtime, policy = service
    panti = register(runtime, policy, institution())

    def body(year: int) -> SandangRequestIn:
        lines = [NeedLine(item_code="SARUNG", quantity=10)]
        return SandangRequestIn(
            institution_id=panti.id, lines=lines, needed_by=date(year, 6, 1), budget_year=year
        )

    with pytest.raises(Unprocessable) as refused:
        runtime.run(lambda uow: sandang.request_sandang(uow, policy, body(2026)))
    assert refused.value.error_code == "budget_year_started"
    assert "2027" in refused.value.detail
    filed = runtime.run(lambda uow: sandang.request_sandang(uow, policy, body(2027)))
    assert (filed.budget_year, filed.status) == (2027, SandangStatus.REQUESTED)
    (requested,) = outbox(runtime)
    assert isinstance(requested, SandangRequested) and requested.budget_year == 2027


def test_sandangs_three_months_start_with_procurement_which_starts_once(
    service: tuple[ServiceRuntime, Policy], clock: FixedClock
) -> None:
    # 000: "Proses Pengadaan Barang sampai dengan Serah Terima Barang membutuhkan waktu
    # 3 (tiga) bulan": the goods are asked for when procurement starts, not at filing.
    runtime, policy = service
    panti = register(runtime, policy, institution())
    body = SandangRequestIn(
        institution_id=panti.id,
        lines=[NeedLine(item_code="SARUNG", quantity=10)],
        needed_by=date(2027, 3, 1),
        budget_year=2027,
    )
    request = runtime.run(lambda uow: sandang.request_sandang(uow, policy, body))
    assert not [e for e in outbox(runtime) if isinstance(e, GoodsRequested)]
    clock.set(datetime(2027, 1, 11, 1, 0, tzinfo=UTC))
    start = ProcurementStartIn(started_by="Kabid Linjamsos")
    started = runtime.run(lambda uow: sandang.start_sandang_procurement(uow, request.id, start))
    assert (started.status, started.procurement_started_at, started.procurement_started_by) == (
        SandangStatus.PROCUREMENT, clock.now(), "Kabid Linjamsos",
    )  # fmt: skip
    (announced,) = [e for e in outbox(runtime) if isinstance(e, SandangProcurementStarted)]
    assert (announced.case_id, announced.occurred_at, announced.budget_year) == (
        request.id, clock.now(), 2027,
    )  # fmt: skip
    (goods,) = [e for e in outbox(runtime) if isinstance(e, GoodsRequested)]
    assert goods.causation_id == announced.event_id and goods.case_id == request.id
    with pytest.raises(Conflict) as again:
        runtime.run(lambda uow: sandang.start_sandang_procurement(uow, request.id, start))
    assert again.value.error_code == "procurement_already_started"


def test_sandang_for_a_person_is_refused(service: tuple[ServiceRuntime, Policy]) -> None:
    runtime, policy = service
    someone = register(runtime, policy, person(9))
    body = SandangRequestIn(
        institution_id=someone.id,
        lines=[NeedLine(item_code="SARUNG", quantity=1)],
        needed_by=START.date(),
        budget_year=2027,
    )
    with pytest.raises(Unprocessable) as refused:
        runtime.run(lambda uow: sandang.request_sandang(uow, policy, body))
    assert refused.value.error_code == "not_an_institution"
    assert outbox(runtime) == []


def test_no_event_carries_a_nik_kk_or_phone(service: tuple[ServiceRuntime, Policy]) -> None:
    runtime, policy = service
    _, rows = on_the_road(runtime, policy, people=3)
    runtime.run(
        lambda uow: deliveries.fail(uow, rows[0].id, FailureIn(reason_code=FailureReason.MOVED))
    )
    runtime.run(lambda uow: deliveries.return_goods(uow, rows[0].id, ReturnIn(condition="damaged")))
    raw = b" ".join(outbox_raw(runtime))
    assert b"RecipientFlaggedForReview" in raw and b"DeliveryReturned" in raw
    for serial in range(1, 4):
        for number in (nik(serial), f"640206{serial:010d}", f"0812{serial:08d}"):
            assert number.encode() not in raw


# --- events naming another office's records --------------------------------------------


def test_a_release_naming_another_offices_round_is_dead_lettered_and_readies_nothing(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    program = new_program(runtime, policy)
    enrol_people(runtime, policy, program, range(1, 3))
    first = round_number(runtime, program, 1)
    runtime.run(lambda uow: permakanan.open_round(uow, policy, first.id))
    release = release_for(first.id, CaseType.PERMAKANAN_ROUND, [("RICE-5KG", 4)])
    foreign = release.model_copy(update={"office_id": "balangan"})
    with pytest.raises(PermanentEventError) as refused:
        runtime.run(lambda uow: deliveries.on_dispatch_released(uow, foreign))
    assert refused.value.reason == "other_office"
    assert all(r.goods_ready_at is None for r in parcels(runtime, first.id))
    assert round_number(runtime, program, 1).dispatch_ids == []


def test_a_release_naming_another_offices_sandang_request_is_dead_lettered(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    panti = register(runtime, policy, institution())
    body = SandangRequestIn(
        institution_id=panti.id,
        lines=[NeedLine(item_code="SARUNG", quantity=30)],
        needed_by=START.date() + timedelta(days=30),
        budget_year=2027,
    )
    request = runtime.run(lambda uow: sandang.request_sandang(uow, policy, body))
    release = release_for(request.id, CaseType.SANDANG_REQUEST, [("SARUNG", 30)])
    foreign = release.model_copy(update={"office_id": "balangan"})
    with pytest.raises(PermanentEventError) as refused:
        runtime.run(lambda uow: deliveries.on_dispatch_released(uow, foreign))
    assert refused.value.reason == "other_office"
    assert parcels(runtime, request.id) == []


def test_a_release_naming_a_dispatch_delivered_for_another_office_is_dead_lettered(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, _ = service
    case_id = uuid.uuid4()
    release = release_for(case_id, CaseType.INCIDENT, [("RICE-5KG", 10)])
    runtime.run(lambda uow: deliveries.on_dispatch_released(uow, release))
    foreign = release.model_copy(
        update={"event_id": uuid.uuid4(), "office_id": "balangan", "case_id": uuid.uuid4()}
    )
    with pytest.raises(PermanentEventError) as refused:
        runtime.run(lambda uow: deliveries.on_dispatch_released(uow, foreign))
    assert refused.value.reason == "other_office"
    assert parcels(runtime, foreign.case_id) == []
    (delivery,) = parcels(runtime, case_id)
    assert delivery.office_id == "kukar"
