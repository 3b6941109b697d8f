"""The "done when" of the programs: one permakanan year for 200 recipients, planned and
simulated round by round at the use-case level (no broker: the DispatchReleased events
logistics would send are fed in as its consumer would apply them). Some parcels fail;
those not at home or in hospital are re-attempted, the rest returned, recipients who
died or moved are replaced by the next verified candidate. Every parcel is accounted for."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from uuid import UUID

import pytest

from services.distribution import deliveries, enrolments, permakanan, registry, runs
from services.distribution.common import Policy
from services.distribution.domain import DeliveryStatus, FailureReason, Resolution
from services.distribution.models.deliveries import CompletionIn, DeliveryRow, FailureIn, ReturnIn
from services.distribution.models.permakanan import (
    EnrolmentIn,
    EnrolmentStatus,
    ProgramIn,
    ReplacementIn,
    RoundStatus,
)
from services.distribution.models.runs import RunIn
from shared.clock import FixedClock
from shared.contracts.distribution import (
    DeliveryReturned,
    GoodsRequested,
    PermakananRoundCompleted,
    PermakananRoundScheduled,
    RecipientFlaggedForReview,
)
from shared.contracts.envelope import CaseType, NeedLine
from shared.contracts.union import parse_event
from shared.runtime import ServiceRuntime
from shared.topics import DISPATCHES
from shared.unit_of_work import UnitOfWork
from tests.distribution.programs_support import (
    HUB,
    START,
    make_runtime,
    outbox,
    outbox_raw,
    person,
    release_for,
    signature,
)

RECIPIENTS = 200
CANDIDATES = 50
STOPS_PER_RUN = 25
PARCEL = [NeedLine(item_code="RICE-5KG", quantity=2), NeedLine(item_code="MEAL-PACK", quantity=30)]
# What happens at the door, first visit; a re-attempt succeeds 3 times in 4.
OUTCOMES: list[tuple[FailureReason | None, float]] = [
    (None, 0.88),
    (FailureReason.NOT_AT_HOME, 0.05),
    (FailureReason.IN_HOSPITAL, 0.02),
    (FailureReason.REFUSED, 0.02),
    (FailureReason.MOVED, 0.01),
    (FailureReason.DECEASED, 0.01),
    (FailureReason.ADDRESS_NOT_FOUND, 0.005),
]
RETRYABLE = {FailureReason.NOT_AT_HOME, FailureReason.IN_HOSPITAL}
CONSUMER = f"distribution:{DISPATCHES.name}"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def service(database_url: str, clock: FixedClock) -> Iterator[tuple[ServiceRuntime, Policy]]:
    yield from make_runtime(database_url, clock)


def ready_parcels(runtime: ServiceRuntime, round_id: UUID) -> list[DeliveryRow]:
    rows = runtime.run(
        lambda uow: (
            deliveries.list_deliveries(
                uow, status=DeliveryStatus.CREATED, case_id=round_id, limit=1000
            ).items
        )
    )
    # Runs by village then position: one vehicle covers neighbouring stops.
    return sorted(rows, key=lambda r: (r.destination_lon, r.destination_lat))


def drive_runs(
    runtime: ServiceRuntime,
    policy: Policy,
    rows: list[DeliveryRow],
    *,
    on_door: dict[UUID, FailureReason | None],
    day: datetime,
) -> list[DeliveryRow]:
    """Group the parcels into runs, drive each: one transaction per run, the same use
    cases the field screen calls. Returns the failed deliveries."""
    failed: list[DeliveryRow] = []
    for index in range(0, len(rows), STOPS_PER_RUN):
        batch = rows[index : index + STOPS_PER_RUN]
        body = RunIn(
            team=f"Tim {index // STOPS_PER_RUN + 1}",
            vehicle=f"KT {8000 + index // STOPS_PER_RUN} DS",
            run_date=day.date(),
            start=HUB,
            delivery_ids=[r.id for r in batch],
        )
        run = runtime.run(partial(runs.create_run, body=body, office_id="kukar"))
        assert run.total_km > 0 and len(run.stops) == len(batch)

        def visit(uow: UnitOfWork, run_id: UUID = run.id) -> list[DeliveryRow]:
            runs.depart_run(uow, run_id)
            run_row = runs.get_run(uow, run_id)
            failures: list[DeliveryRow] = []
            for row, _person in runs.run_stops(uow, run_row):
                reason = on_door[row.id]
                if reason is None:
                    deliveries.complete(
                        uow,
                        row.id,
                        CompletionIn(
                            received_by="Penerima",
                            relation="self",
                            position=row.destination(),
                            signature_png_base64=signature(),
                        ),
                        policy=policy,
                    )
                else:
                    failures.append(deliveries.fail(uow, row.id, FailureIn(reason_code=reason)))
            return failures

        failed += runtime.run(visit)
    return failed


def assert_one_end_per_parcel(rows: list[DeliveryRow]) -> None:
    """One parcel per recipient: its attempts end in exactly one delivery or return."""
    chains: dict[UUID | None, list[DeliveryRow]] = {}
    for row in rows:
        chains.setdefault(row.recipient_id, []).append(row)
    assert len(chains) == RECIPIENTS
    for chain in chains.values():
        ends = [
            r
            for r in chain
            if r.status is DeliveryStatus.DELIVERED or r.resolution is Resolution.RETURNED
        ]
        assert len(ends) == 1
        assert all(r.resolution is Resolution.REATTEMPTED for r in chain if r not in ends)
        assert sorted(r.attempt for r in chain) == list(range(1, len(chain) + 1))


def test_one_permakanan_year_for_200_recipients_accounts_for_every_parcel(
    service: tuple[ServiceRuntime, Policy], clock: FixedClock
) -> None:
    runtime, policy = service
    rng = random.Random(2026)

    def register_everyone(uow: UnitOfWork) -> tuple[UUID, list[UUID], list[UUID]]:
        program = permakanan.create_program(
            uow,
            policy,
            ProgramIn(name="Permakanan 2026", start_date=START.date(), parcel=PARCEL, hub=HUB),
        )
        active: list[UUID] = []
        waiting: list[UUID] = []
        for serial in range(1, RECIPIENTS + CANDIDATES + 1):
            row = registry.register_recipient(uow, policy, person(serial, rng=rng))
            uow.session.flush()
            enrolments.enrol(
                uow, program.id, EnrolmentIn(recipient_id=row.id, as_candidate=serial > RECIPIENTS)
            )
            (active if serial <= RECIPIENTS else waiting).append(row.id)
        return program.id, active, waiting

    program_id, _, candidates = runtime.run(register_everyone)
    rounds = runtime.run(lambda uow: permakanan.rounds_of(uow, program_id))
    assert len(rounds) == 6
    assert (rounds[0].period_start, rounds[-1].period_end) == (
        START.date(),
        START.date().replace(year=2027) - timedelta(days=1),
    )
    replaced_total = 0

    for plan in rounds:
        day = datetime.combine(plan.period_start, datetime.min.time(), tzinfo=UTC)
        clock.set(day - timedelta(days=3) + timedelta(hours=1))
        runtime.run(partial(permakanan.open_round, policy=policy, round_id=plan.id))
        requested = next(
            parse_event(raw)
            for raw in reversed(outbox_raw(runtime))
            if b'"event_type":"GoodsRequested"' in raw
        )
        assert isinstance(requested, GoodsRequested)
        assert requested.case_id == plan.id
        # logistics fills the request from two lots per item and releases it; the same
        # event delivered twice is applied once.
        release = release_for(
            plan.id,
            CaseType.PERMAKANAN_ROUND,
            [(line.item_code, line.quantity) for line in requested.lines],
            lots_per_item=2,
            at=day,
        )
        assert runtime.apply_event(CONSUMER, deliveries.on_dispatch_released, release)
        assert not runtime.apply_event(CONSUMER, deliveries.on_dispatch_released, release)

        clock.set(day + timedelta(hours=2))
        first_visit = ready_parcels(runtime, plan.id)
        doors = {
            row.id: rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
            for row in first_visit
        }
        failed = drive_runs(runtime, policy, first_visit, on_door=doors, day=day)

        # The coordinator decides each failure: re-attempt next day, or return to stock.
        clock.set(day + timedelta(days=1))
        for row in failed:
            if row.failure_code in RETRYABLE:
                runtime.run(partial(deliveries.reattempt, delivery_id=row.id))
            else:
                back_to_stock = ReturnIn(condition="good")
                runtime.run(
                    partial(deliveries.return_goods, delivery_id=row.id, body=back_to_stock)
                )
        second_visit = ready_parcels(runtime, plan.id)
        assert all(r.attempt == 2 for r in second_visit)
        doors = {
            row.id: None if rng.random() < 0.75 else FailureReason.NOT_AT_HOME
            for row in second_visit
        }
        for row in drive_runs(
            runtime, policy, second_visit, on_door=doors, day=day + timedelta(days=1)
        ):
            runtime.run(partial(deliveries.return_goods, delivery_id=row.id, body=ReturnIn()))

        evaluation = runtime.run(partial(permakanan.evaluate_round, round_id=plan.id))
        assert evaluation.open == 0
        assert evaluation.round.status is RoundStatus.COMPLETED
        assert evaluation.round.delivered + evaluation.round.returned == evaluation.round.recipients

        # Before the next round: whoever died, moved or could not be found is replaced.
        for recipient_id in evaluation.to_review:
            ended, successor = runtime.run(
                partial(
                    enrolments.replace_recipient,
                    program_id=program_id,
                    body=ReplacementIn(recipient_id=recipient_id, reason="no longer qualifies"),
                )
            )
            assert ended.status is EnrolmentStatus.ENDED
            assert successor is not None and successor.recipient_id in candidates
            replaced_total += 1

    # --- accounting over the whole year -------------------------------------------------
    events = outbox(runtime)
    final_rounds = runtime.run(lambda uow: permakanan.rounds_of(uow, program_id))
    everything = runtime.run(
        lambda uow: deliveries.list_deliveries(uow, status=None, case_id=None, limit=10_000).items
    )
    by_round: dict[UUID, list[DeliveryRow]] = {}
    for row in everything:
        by_round.setdefault(row.case_id, []).append(row)
    returned_events = [e for e in events if isinstance(e, DeliveryReturned)]
    completed_events = [e for e in events if isinstance(e, PermakananRoundCompleted)]
    scheduled_events = [e for e in events if isinstance(e, PermakananRoundScheduled)]
    goods_events = [e for e in events if isinstance(e, GoodsRequested)]
    assert len(completed_events) == len(scheduled_events) == len(goods_events) == 6

    totals: Counter[str] = Counter()
    for plan in final_rounds:
        rows = by_round[plan.id]
        assert plan.recipients == RECIPIENTS, "every round serves a full list after replacements"
        assert_one_end_per_parcel(rows)
        delivered = sum(r.status is DeliveryStatus.DELIVERED for r in rows)
        returned = sum(r.resolution is Resolution.RETURNED for r in rows)
        (completed,) = [e for e in completed_events if e.case_id == plan.id]
        assert (completed.delivered, completed.returned) == (delivered, returned)
        assert (plan.delivered, plan.returned) == (delivered, returned)
        assert delivered + returned == RECIPIENTS
        # Goods: requested = handed over + booked back, item by item.
        (asked,) = [e for e in goods_events if e.case_id == plan.id]
        back = Counter[str]()
        for back_line in (x for e in returned_events if e.case_id == plan.id for x in e.lines):
            assert back_line.lot_id is not None
            back[back_line.item_code] += back_line.quantity
        for line in asked.lines:
            per_parcel = next(p.quantity for p in PARCEL if p.item_code == line.item_code)
            assert line.quantity == delivered * per_parcel + back[line.item_code]
        totals["delivered"] += delivered
        totals["returned"] += returned
        totals["reattempts"] += sum(r.attempt == 2 for r in rows)
        totals["far"] += sum(r.far_from_address for r in rows)

    flagged = [e for e in events if isinstance(e, RecipientFlaggedForReview)]
    assert len(flagged) == replaced_total > 0
    assert totals["delivered"] + totals["returned"] == 6 * RECIPIENTS
    assert totals["reattempts"] > 0 and totals["returned"] > 0 and totals["far"] == 0
    print(f"\npermakanan year: {dict(totals)}, replaced {replaced_total}")
