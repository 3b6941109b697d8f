"""Issue #5's use cases on both databases, without the broker: clocks for all four case
kinds, stage delays, predicted breaches, escalation and acknowledgement, replay giving
the same clocks, and a simulated month for Kukar whose figures the test computes itself."""

from __future__ import annotations

import math
import statistics
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.notify import alerting, case_clocks, queries, subscribers
from services.notify.evaluation import ALL_DISTRICTS, evaluation_report
from services.notify.migrations import HISTORY
from services.notify.models import ClockFilter, ClockRow, NotifyTable, SubscriptionIn
from services.notify.settings import NotifySettings
from services.notify.standards import Standards, load_standards
from shared.clock import FixedClock
from shared.contracts.distribution import (
    DeliveryArrived,
    DeliveryDeparted,
    PermakananRoundCompleted,
    PermakananRoundScheduled,
    SandangHandedOver,
    SandangProcurementStarted,
    SandangRequested,
)
from shared.contracts.envelope import Address, CaseType, EventBase, GeoPoint, HazardType, NeedLine
from shared.contracts.intake import IncidentReported, IncidentVerified, Reporter
from shared.contracts.logistics import (
    DispatchLine,
    DispatchPlanned,
    DispatchReleased,
    ProcurementCompleted,
    ProcurementLine,
    PurchaseRequested,
)
from shared.contracts.notify import AlertEscalated, BreachPredicted, StageOverdue
from shared.contracts.union import AnyEvent
from shared.errors import Conflict, NotFound
from shared.kafka import NotApplicableYet
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from tests.support.databases import new_database_url

START = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
SITE = GeoPoint(lat=-0.4230, lon=116.9860)
DEPOT = GeoPoint(lat=-0.4400, lon=117.1500)
CONSUMER = "notify:test"
DISTRICTS = ("Tenggarong", "Loa Kulu", "Sebulu")


@pytest.fixture(scope="module")
def standards() -> Standards:
    return load_standards()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def make_runtime(database_url: str, clock: FixedClock) -> ServiceRuntime:
    settings = NotifySettings(database_url=database_url, common=CommonSettings(environment="test"))
    runtime = ServiceRuntime(
        name="notify",
        settings=settings,
        metadata=NotifyTable.metadata,
        migrations=HISTORY,
        clock=clock,
    )
    runtime.create_tables()
    return runtime


@pytest.fixture
def runtime(database_url: str, clock: FixedClock) -> Iterator[ServiceRuntime]:
    runtime = make_runtime(database_url, clock)
    yield runtime
    runtime.engine.dispose()


def apply(runtime: ServiceRuntime, standards: Standards, event: AnyEvent) -> bool:
    return runtime.apply_event(
        CONSUMER, lambda uow, e: case_clocks.apply_event(uow, e, standards), event
    )


def tick(runtime: ServiceRuntime, standards: Standards) -> list[EventBase]:
    return runtime.run(lambda uow: alerting.tick(uow, standards))


def clock_of(runtime: ServiceRuntime, case_id: uuid.UUID) -> ClockRow:
    return runtime.run(lambda uow: queries.get_clock(uow, case_id))


def envelope(case: uuid.UUID, at: datetime, producer: str, **extra: Any) -> dict[str, Any]:
    return {
        "office_id": "kukar",
        "case_id": case,
        "correlation_id": case,
        "causation_id": None,
        "producer": producer,
        "occurred_at": at,
        **extra,
    }


def reported(case: uuid.UUID, at: datetime, district: str = "Tenggarong") -> IncidentReported:
    return IncidentReported.following(
        **envelope(case, at, "intake"),
        hazard=HazardType.FLOOD,
        happened_at=at - HOUR,
        reporter=Reporter(name="Tim Tagana", role="tagana"),
        location=SITE,
        address=Address(district=district, village="Loa Ipuh"),
        households_affected=10,
        people_affected=40,
        stated_needs=(NeedLine(item_code="RICE-5KG", quantity=10),),
    )


def verified(case: uuid.UUID, at: datetime) -> IncidentVerified:
    return IncidentVerified.following(
        **envelope(case, at, "intake"),
        reported_at=at,
        destination=SITE,
        assessed_needs=(NeedLine(item_code="RICE-5KG", quantity=10),),
        verified_by="Kasi Linjamsos Rahmat",
    )


LINE = DispatchLine(
    item_code="RICE-5KG", lot_id=uuid.UUID(int=1), quantity=10, received_on=date(2025, 12, 1),
    expires_on=None,
)  # fmt: skip


def planned(case: uuid.UUID, at: datetime, distance_km: float = 20.0) -> DispatchPlanned:
    return DispatchPlanned.following(
        **envelope(case, at, "logistics"),
        dispatch_id=uuid.uuid4(),
        warehouse_code="GUDANG-TGR",
        origin=DEPOT,
        destination=SITE,
        distance_km=distance_km,
        lines=(LINE,),
    )


def released(case: uuid.UUID, at: datetime) -> DispatchReleased:
    return DispatchReleased.following(
        **envelope(case, at, "logistics"),
        dispatch_id=uuid.uuid4(),
        warehouse_code="GUDANG-TGR",
        origin=DEPOT,
        destination=SITE,
        lines=(LINE,),
        released_by="Petugas gudang Sari",
    )


def departed(case: uuid.UUID, at: datetime) -> DeliveryDeparted:
    return DeliveryDeparted.following(**envelope(case, at, "distribution"), delivery_id=case)


def arrived(case: uuid.UUID, at: datetime) -> DeliveryArrived:
    return DeliveryArrived.following(
        **envelope(case, at, "distribution"),
        delivery_id=case,
        position=SITE,
        distance_to_destination_m=20.0,
    )


def subscribe(runtime: ServiceRuntime, role: str | None, types: list[str]) -> uuid.UUID:
    body = SubscriptionIn.model_validate(
        {"url": "http://127.0.0.1:9/h", "office_id": "kukar", "role": role, "event_types": types}
    )
    return runtime.run(lambda uow: subscribers.create_subscription(uow, body)).id


# --- the four case kinds ----------------------------------------------------------------


def test_every_case_kind_gets_a_clock_from_the_events_its_standard_names(
    runtime: ServiceRuntime, standards: Standards
) -> None:
    round_id, sandang_id, purchase_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    institution = uuid.uuid4()
    lines = (NeedLine(item_code="BAJU-ANAK", quantity=30),)
    events: list[AnyEvent] = [
        PermakananRoundScheduled.following(
            **envelope(round_id, START, "distribution", case_type=CaseType.PERMAKANAN_ROUND),
            program_id=uuid.uuid4(), round_number=1, period_start=date(2026, 1, 1),
            period_end=date(2026, 2, 28), recipients=12,
        ),
        SandangProcurementStarted.following(
            **envelope(sandang_id, START, "distribution", case_type=CaseType.SANDANG_REQUEST),
            institution_id=institution, institution_name="Panti Asuhan Harapan", lines=lines,
            budget_year=2026, started_by="Kabid Linjamsos",
        ),
        PurchaseRequested.following(
            **envelope(purchase_id, START, "logistics", case_type=CaseType.PROCUREMENT),
            source="sandang_request", lines=(ProcurementLine(item_code="BAJU-ANAK", quantity=30),),
        ),
    ]  # fmt: skip
    for event in events:
        assert apply(runtime, standards, event)
    permakanan, sandang, procurement = (
        clock_of(runtime, c) for c in (round_id, sandang_id, purchase_id)
    )
    # The round's period ends on 28 Feb: due by 1 Mar 00:00 WITA. Procurement started on
    # 1 Jan 08:00 WITA + 3 months = 1 Apr.
    assert (permakanan.service_code, permakanan.deadline) == (
        "permakanan",
        datetime(2026, 3, 1, 0, 0, tzinfo=UTC) - 8 * HOUR,
    )
    assert (sandang.service_code, sandang.deadline) == (
        "sandang",
        datetime(2026, 4, 1, 0, 0, tzinfo=UTC),
    )
    # 30 working days from Thu 1 Jan 2026 (a holiday) skipping weekends and 16 Jan
    # (Isra Mi'raj): the 30th is Fri 13 Feb, so due Sat 14 Feb 00:00 WITA.
    assert procurement.service_code == "procurement"
    assert procurement.deadline == datetime(2026, 2, 14, 0, 0, tzinfo=UTC) - 8 * HOUR

    day = 24 * HOUR
    round_end = envelope(
        round_id, START + 50 * day, "distribution", case_type=CaseType.PERMAKANAN_ROUND
    )
    handover = envelope(
        sandang_id, START + 100 * day, "distribution", case_type=CaseType.SANDANG_REQUEST
    )
    received = envelope(purchase_id, START + 20 * day, "logistics", case_type=CaseType.PROCUREMENT)
    apply(runtime, standards, PermakananRoundCompleted.following(
        **round_end, program_id=uuid.uuid4(), round_number=1, delivered=12, returned=0,
    ))  # fmt: skip
    apply(runtime, standards, SandangHandedOver.following(
        **handover, institution_id=institution, handover_id=uuid.uuid4(),
        received_by="Ibu Panti", lines=lines,
    ))  # fmt: skip
    apply(runtime, standards, ProcurementCompleted.following(**received))
    outcomes = {c: clock_of(runtime, c).outcome for c in (round_id, sandang_id, purchase_id)}
    assert outcomes == {round_id: "met", sandang_id: "late", purchase_id: "met"}


def test_every_two_months_a_round_is_clocked_against_its_period_not_its_opening(
    runtime: ServiceRuntime, standards: Standards
) -> None:
    # 000: "selama 1 tahun (12 bulan), dengan penyaluran bantuan setiap 2 bulan sekali".
    # Round 3 covers May and June 2026; opened three weeks late, on 22 May, its clock
    # still runs from 1 May to the end of 30 June (WITA), not two months from the opening.
    round_id = uuid.uuid4()
    opened = datetime(2026, 5, 22, 2, 0, tzinfo=UTC)
    apply(runtime, standards, PermakananRoundScheduled.following(
        **envelope(round_id, opened, "distribution", case_type=CaseType.PERMAKANAN_ROUND),
        program_id=uuid.uuid4(), round_number=3, period_start=date(2026, 5, 1),
        period_end=date(2026, 6, 30), recipients=40,
    ))  # fmt: skip
    row = clock_of(runtime, round_id)
    assert (row.started_at, row.deadline) == (
        datetime(2026, 4, 30, 16, 0, tzinfo=UTC), datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
    )  # fmt: skip
    completed = datetime(2026, 7, 2, 2, 0, tzinfo=UTC)  # within 2 months of the opening
    apply(runtime, standards, PermakananRoundCompleted.following(
        **envelope(round_id, completed, "distribution", case_type=CaseType.PERMAKANAN_ROUND),
        program_id=uuid.uuid4(), round_number=3, delivered=40, returned=0,
    ))  # fmt: skip
    assert clock_of(runtime, round_id).outcome == "late"


def test_sandangs_three_calendar_months_run_from_procurement_not_from_the_t_minus_1_request(
    runtime: ServiceRuntime, standards: Standards
) -> None:
    # 000: "Permohonan diajukan 1 tahun sebelum tahun anggaran berjalan (T-1); Proses
    # Pengadaan Barang sampai dengan Serah Terima Barang membutuhkan waktu 3 (tiga) bulan".
    request, institution = uuid.uuid4(), uuid.uuid4()
    lines = (NeedLine(item_code="BAJU-ANAK", quantity=30),)
    facts: dict[str, Any] = {"institution_id": institution, "lines": lines}
    facts["institution_name"] = "Asrama SLB Negeri Tenggarong"
    sandang = {"case_type": CaseType.SANDANG_REQUEST}
    filed = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)
    filing = envelope(request, filed, "distribution", **sandang)
    assert apply(
        runtime, standards, SandangRequested.following(**filing, **facts, budget_year=2026)
    )
    # Filed a year ahead: no clock runs, and the filing waits for nothing.
    with pytest.raises(NotFound):
        clock_of(runtime, request)
    # Procurement starts on 31 Jan 2026, 10.00 WITA: three calendar months end on 30 Apr
    # 10.00 WITA, a day before 90 days would (1 May).
    started = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)
    apply(runtime, standards, SandangProcurementStarted.following(
        **envelope(request, started, "distribution", **sandang), **facts, budget_year=2026,
        started_by="Kabid Linjamsos"))  # fmt: skip
    row = clock_of(runtime, request)
    assert (row.service_code, row.started_at, row.deadline) == (
        "sandang", started, datetime(2026, 4, 30, 2, 0, tzinfo=UTC)
    )  # fmt: skip
    assert row.label == "Asrama SLB Negeri Tenggarong"
    handed = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)  # within 90 days, past 3 months
    apply(runtime, standards, SandangHandedOver.following(
        **envelope(request, handed, "distribution", **sandang), institution_id=institution,
        handover_id=uuid.uuid4(), received_by="Ibu Pengasuh", lines=lines))  # fmt: skip
    assert clock_of(runtime, request).outcome == "late"


def test_a_stop_event_for_an_unknown_case_is_dead_lettered_with_the_reason(
    runtime: ServiceRuntime, standards: Standards
) -> None:
    stray = uuid.uuid4()
    # Not yet: the report may still be on its way; the pipeline dead-letters it with this
    # reason if it never comes.
    with pytest.raises(NotApplicableYet) as refused:
        runtime.claim_and_apply(
            CONSUMER,
            lambda uow, e: case_clocks.apply_event(uow, e, standards),
            arrived(stray, START),
        )
    assert refused.value.dead_letter_reason == "unknown_case"
    assert str(stray) in refused.value.detail
    # A progress event of a case with no clock is not claimed (and never dead-lettered):
    # were the report only late, a later copy would be applied.
    with pytest.raises(NotApplicableYet) as passed:
        runtime.claim_and_apply(
            CONSUMER,
            lambda uow, e: case_clocks.apply_event(uow, e, standards),
            departed(stray, START),
        )
    assert passed.value.dead_letter_reason is None
    assert not apply(runtime, standards, departed(stray, START))


# --- stages, prediction, escalation -------------------------------------------------


def test_the_late_stage_is_named_and_a_far_delivery_predicts_the_breach(
    runtime: ServiceRuntime, standards: Standards, clock: FixedClock
) -> None:
    case = uuid.uuid4()
    apply(runtime, standards, reported(case, START))
    clock.set(START + 5 * HOUR)
    overdue = [e for e in tick(runtime, standards) if isinstance(e, StageOverdue)]
    assert [(e.stage, e.due_at) for e in overdue] == [("verified", START + 4 * HOUR)]
    apply(runtime, standards, verified(case, START + 5 * HOUR))
    # 450 km at 30 km/h is 15 h: planned at 10 h, the truck cannot arrive before 25 h.
    apply(runtime, standards, planned(case, START + 10 * HOUR, distance_km=450))
    assert clock_of(runtime, case).predicted_arrival == START + 25 * HOUR
    clock.set(START + 10 * HOUR)
    [prediction] = [e for e in tick(runtime, standards) if isinstance(e, BreachPredicted)]
    assert (prediction.predicted_arrival, prediction.deadline) == (
        START + 25 * HOUR,
        START + 24 * HOUR,
    )
    clock.set(START + 11 * HOUR)
    assert not [
        e for e in tick(runtime, standards) if isinstance(e, BreachPredicted | StageOverdue)
    ]
    row = clock_of(runtime, case)
    assert [s.name for s in row.stages if s.done_at] == ["verified"]


def test_an_unacknowledged_warning_climbs_the_ladder_and_an_acknowledged_one_stops(
    runtime: ServiceRuntime, standards: Standards, clock: FixedClock
) -> None:
    field = subscribe(runtime, "field_coordinator", ["StageOverdue"])
    kabid = subscribe(runtime, "kabid_linjamsos", ["StageOverdue", "AlertEscalated"])
    kadis = subscribe(runtime, "kepala_dinas", ["AlertEscalated"])
    first, second = uuid.uuid4(), uuid.uuid4()
    apply(runtime, standards, reported(first, START))
    apply(runtime, standards, reported(second, START))
    clock.set(START + 4 * HOUR + MINUTE)
    tick(runtime, standards)
    open_alerts = runtime.run(
        lambda uow: alerting.list_alerts(
            uow, office_id="kukar", open_only=True, after=None, limit=9
        )
    ).items
    alerts = {a.case_id: a for a in open_alerts}
    assert {a.level for a in alerts.values()} == {0}
    runtime.run(lambda uow: alerting.acknowledge(uow, alerts[first].id, "Kasi Rahmat"))

    clock.set(START + 4 * HOUR + MINUTE + 29 * MINUTE)
    assert not [e for e in tick(runtime, standards) if isinstance(e, AlertEscalated)]
    clock.set(START + 4 * HOUR + MINUTE + 30 * MINUTE)
    [to_kabid] = [e for e in tick(runtime, standards) if isinstance(e, AlertEscalated)]
    assert (to_kabid.case_id, to_kabid.to_role, to_kabid.alert_id) == (
        second,
        "kabid_linjamsos",
        alerts[second].id,
    )
    clock.set(START + 4 * HOUR + MINUTE + 60 * MINUTE)
    [to_kadis] = [e for e in tick(runtime, standards) if isinstance(e, AlertEscalated)]
    assert to_kadis.to_role == "kepala_dinas"
    clock.set(START + 9 * HOUR)
    assert not [e for e in tick(runtime, standards) if isinstance(e, AlertEscalated)]

    def received(subscription: uuid.UUID, case: uuid.UUID) -> list[str]:
        rows = runtime.run(lambda uow: subscribers.list_notifications(
            uow, status=None, case_id=case, subscription_id=subscription, after=None, limit=50
        )).items  # fmt: skip
        return sorted(r.event_type for r in rows)

    assert received(field, first) == ["StageOverdue"]
    assert received(field, second) == ["StageOverdue"]
    assert received(kabid, first) == []  # acknowledged on the first rung
    assert received(kabid, second) == ["AlertEscalated"]
    assert received(kadis, second) == ["AlertEscalated"]
    with pytest.raises(Conflict, match="was acknowledged"):
        runtime.run(lambda uow: alerting.acknowledge(uow, alerts[first].id, "someone else"))
    with pytest.raises(NotFound, match="no alert"):
        runtime.run(lambda uow: alerting.acknowledge(uow, uuid.uuid4(), "someone"))


# --- replay and the simulated month -------------------------------------------------


def incident_flow(index: int) -> tuple[uuid.UUID, list[AnyEvent], float | None]:
    """Incident `index` of the month: its events and its response hours (None: no aid)."""
    case = uuid.UUID(int=10_000 + index)
    at = START + index * 20 * HOUR
    district = DISTRICTS[index % len(DISTRICTS)]
    hours = 9 + (index * 7) % 24  # 9 .. 32 h: some late
    never = index % 11 == 10
    verify_after = 5 if index % 5 == 0 else 2
    events: list[AnyEvent] = [
        reported(case, at, district),
        verified(case, at + verify_after * HOUR),
        planned(case, at + (verify_after + 0.5) * HOUR),
        released(case, at + (hours - 3 if not never else 10) * HOUR),
        departed(case, at + (hours - 2 if not never else 11) * HOUR),
    ]
    if not never:
        events.append(arrived(case, at + hours * HOUR))
    return case, events, None if never else float(hours)


def play(
    runtime: ServiceRuntime, standards: Standards, clock: FixedClock, events: list[AnyEvent]
) -> list[EventBase]:
    """Apply the events in time order, ticking before each stage-ending event and every
    12 hours up to the end of the month."""
    raised: list[EventBase] = []
    end = START + 31 * 24 * HOUR
    ticks = [START + 12 * HOUR * n for n in range(int((end - START) / (12 * HOUR)) + 1)]
    timeline = sorted(
        [(e.occurred_at, 1, e) for e in events] + [(t, 0, None) for t in ticks],
        key=lambda item: (item[0], item[1]),
    )
    for at, _, event in timeline:
        clock.set(max(clock.now(), at))
        # Ticking just before the events that end a stage or the clock makes every
        # lateness visible; other events need no tick, which keeps the test quick.
        if event is None or isinstance(
            event, IncidentVerified | DispatchReleased | DeliveryArrived
        ):
            raised.extend(tick(runtime, standards))
        if event is not None:
            apply(runtime, standards, event)
    return raised


def snapshot(runtime: ServiceRuntime) -> dict[uuid.UUID, tuple[Any, ...]]:
    """What the events alone decide about each clock."""
    rows = [*runtime.run(lambda uow: queries.list_clocks(
        uow, state=ClockFilter.CLOSED, office_id=None, after=None, limit=500)).items]  # fmt: skip
    rows = [*rows, *runtime.run(lambda uow: queries.list_clocks(
        uow, state=ClockFilter.OPEN, office_id=None, after=None, limit=500)).items]  # fmt: skip
    return {
        r.case_id: (r.service_code, r.started_at, r.deadline, r.stopped_at, r.outcome,
                    r.response_seconds, r.district, r.distance_km, r.departed_at,
                    [(s.name, s.due_at, s.done_at) for s in r.stages])
        for r in rows
    }  # fmt: skip


def test_a_simulated_month_gives_the_warnings_breaches_and_figures_computed_here(
    runtime: ServiceRuntime,
    standards: Standards,
    clock: FixedClock,
    database_url: str,
    tmp_path: Path,
) -> None:
    flows = [incident_flow(i) for i in range(36)]
    events = [e for _, flow, _ in flows for e in flow]
    raised = play(runtime, standards, clock, events)

    late = {case for case, _, hours in flows if hours is None or hours > 24}
    breached = {e.case_id for e in raised if type(e).__name__ == "ResponseDeadlineBreached"}
    assert breached == late
    slow_verify = {case for i, (case, _, _) in enumerate(flows) if i % 5 == 0}
    verified_late = {
        e.case_id for e in raised if isinstance(e, StageOverdue) and e.stage == "verified"
    }
    assert verified_late == slow_verify
    slow_release = {case for case, _, hours in flows if hours is not None and hours - 3 > 12}
    dispatch_late = {
        e.case_id for e in raised if isinstance(e, StageOverdue) and e.stage == "dispatched"
    }
    assert dispatch_late == slow_release
    # The three cases still without aid at the end of the month are open and breached.
    assert {c for c, _, h in flows if h is None} <= breached

    # Report figures, computed here from the scenario itself.
    report = runtime.run(
        lambda uow: queries.evaluated_cases(uow, standards, office_id="kukar", months=None)
    )
    lines = {(line.period, line.district): line for line in evaluation_report(report)}
    by_district: dict[str, list[float]] = {}
    for index, (_, _, hours) in enumerate(flows):
        if hours is not None:
            by_district.setdefault(DISTRICTS[index % 3], []).append(hours)
    everything = [h for hs in by_district.values() for h in hs]
    for district, hours_list in [*by_district.items(), (ALL_DISTRICTS, everything)]:
        line = lines[("2026-01", district)]
        ordered = sorted(hours_list)
        assert line.due - line.unserved == len(ordered)
        assert line.within_standard == sum(1 for h in ordered if h <= 24)
        assert line.median_seconds == statistics.median(ordered) * 3600
        assert line.p90_seconds == ordered[math.ceil(0.9 * len(ordered)) - 1] * 3600
    assert lines[("2026-01", ALL_DISTRICTS)].due == 36
    assert lines[("2026-01", ALL_DISTRICTS)].unserved == 3

    # Replaying the same events into a fresh database rebuilds the same clocks, and a
    # second delivery of every event changes nothing.
    first = snapshot(runtime)
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    fresh = make_runtime(new_database_url(backend, tmp_path), FixedClock(START))
    try:
        for event in events:
            apply(fresh, standards, event)
        assert snapshot(fresh) == first
        assert not any(apply(fresh, standards, event) for event in events[:20])
        assert snapshot(fresh) == first
    finally:
        fresh.engine.dispose()


def test_the_timeline_names_who_started_a_sandang_procurement(
    runtime: ServiceRuntime, standards: Standards
) -> None:
    request = uuid.uuid4()
    apply(runtime, standards, SandangProcurementStarted.following(
        **envelope(request, START, "distribution", case_type=CaseType.SANDANG_REQUEST),
        institution_id=uuid.uuid4(), institution_name="Panti Asuhan Harapan",
        lines=(NeedLine(item_code="BAJU-ANAK", quantity=30),), budget_year=2026,
        started_by="Kabid Linjamsos"))  # fmt: skip
    steps = runtime.run(lambda uow: list(queries.timeline(uow, request)))
    assert [(step.event_type, step.actor) for step in steps] == [
        ("SandangProcurementStarted", "Kabid Linjamsos")
    ]


def test_the_timeline_names_the_field_team_that_set_off_and_arrived(
    runtime: ServiceRuntime, standards: Standards
) -> None:
    case = uuid.uuid4()
    apply(runtime, standards, reported(case, START))
    team = "Tagana Tenggarong 2"
    apply(runtime, standards, DeliveryDeparted.following(
        **envelope(case, START + timedelta(hours=3), "distribution"), delivery_id=case,
        team=team))  # fmt: skip
    apply(runtime, standards, DeliveryArrived.following(
        **envelope(case, START + timedelta(hours=5), "distribution"), delivery_id=case,
        team=team, position=SITE, distance_to_destination_m=20.0))  # fmt: skip

    steps = runtime.run(lambda uow: list(queries.timeline(uow, case)))

    assert [(step.event_type, step.actor) for step in steps][1:] == [
        ("DeliveryDeparted", team),
        ("DeliveryArrived", team),
    ]


def test_a_departure_without_an_assigned_team_is_credited_to_the_service(
    runtime: ServiceRuntime, standards: Standards
) -> None:
    case = uuid.uuid4()
    apply(runtime, standards, reported(case, START))
    apply(runtime, standards, departed(case, START + timedelta(hours=3)))

    steps = runtime.run(lambda uow: list(queries.timeline(uow, case)))

    assert (steps[-1].event_type, steps[-1].actor) == ("DeliveryDeparted", "distribution")
