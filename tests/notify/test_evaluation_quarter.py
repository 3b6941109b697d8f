"""Issue 15 item 1: a simulated quarter per office, through notify's handlers on a real
database (SQLite and PostgreSQL), against figures this test computes on its own.

Every office's own standard file is used (five offices, two time zones). Incidents are
drawn with a seeded random generator per office: met, late, never served (still open at
the evaluation) and rejected. The evaluation counts every case whose deadline fell in
the period, open or closed, and groups by the month and the half-year of the deadline in
the office's zone (004: "Evaluasi penerapan standar pelayanan ini dilakukan minimal 2
(dua) kali dalam 1 (satu) tahun")."""

from __future__ import annotations

import enum
import math
import random
import statistics
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.notify import case_clocks, queries
from services.notify.app import router
from services.notify.evaluation import ALL_DISTRICTS, Period, evaluation_report
from services.notify.standards import Standards
from shared.clock import FixedClock
from shared.contracts.distribution import DeliveryArrived
from shared.contracts.envelope import Address, GeoPoint, HazardType, NeedLine
from shared.contracts.intake import IncidentRejected, IncidentReported, Reporter
from shared.contracts.union import AnyEvent
from shared.http import install_error_handlers
from shared.runtime import ServiceRuntime

HOUR = timedelta(hours=1)
SITE = GeoPoint(lat=-2.0, lon=115.5)
# Office, its zone (what the standard file says, restated here so the test is
# independent of it) and its districts.
OFFICES = {
    "kukar": ("Asia/Makassar", ("Tenggarong", "Loa Kulu", "Sebulu")),
    "lubuklinggau": ("Asia/Jakarta", ("Lubuklinggau Barat I", "Lubuklinggau Timur II")),
    "tarakan": ("Asia/Makassar", ("Tarakan Barat", "Tarakan Utara")),
    "oku-selatan": ("Asia/Jakarta", ("Muaradua", "Simpang", "Buay Runjung")),
    "balangan": ("Asia/Makassar", ("Paringin", "Juai")),
}
CASES_PER_OFFICE = 45
LIMIT = 24 * HOUR  # every office's relief clock: 24 hours (decree or office setting)


class Fate(enum.Enum):
    MET = "met"
    LATE = "late"
    NEVER = "never"  # no aid ever arrives
    REJECTED = "rejected"


@dataclass(frozen=True)
class Case:
    case_id: uuid.UUID
    district: str
    reported_at: datetime
    fate: Fate
    hours: float  # to the arrival (met, late) or the rejection


def quarter_of(office: str) -> tuple[datetime, datetime]:
    """1 Jan to 1 Apr 2026 at midnight in the office's zone."""
    zone = ZoneInfo(OFFICES[office][0])
    return datetime(2026, 1, 1, tzinfo=zone), datetime(2026, 4, 1, tzinfo=zone)


def simulate(office: str) -> list[Case]:
    """The office's quarter, the same on every run (a generator seeded by the office)."""
    rng = random.Random(f"quarter-{office}")
    start, end = quarter_of(office)
    seconds = (end - start).total_seconds()
    cases = []
    for _ in range(CASES_PER_OFFICE):
        fate = rng.choice([Fate.MET, Fate.MET, Fate.MET, Fate.LATE, Fate.NEVER, Fate.REJECTED])
        hours = {
            Fate.MET: rng.uniform(1, 24),
            Fate.LATE: rng.uniform(24.5, 90),
            Fate.NEVER: 0.0,
            Fate.REJECTED: rng.uniform(0.5, 48),
        }[fate]
        cases.append(
            Case(
                case_id=uuid.UUID(int=rng.getrandbits(128)),
                district=rng.choice(OFFICES[office][1]),
                # Reported anywhere in the quarter, the last days too: some deadlines
                # fall in April, after the evaluation.
                reported_at=start + timedelta(seconds=rng.uniform(0, seconds)),
                fate=fate,
                hours=round(hours, 2),
            )
        )
    # One case from the last hour of December whose deadline falls in January, and one
    # from the quarter's last hour, still within its 24 hours at the evaluation.
    district = OFFICES[office][1][0]
    cases += [
        Case(uuid.UUID(int=rng.getrandbits(128)), district, start - 0.5 * HOUR, Fate.NEVER, 0.0),
        Case(uuid.UUID(int=rng.getrandbits(128)), district, end - HOUR, Fate.NEVER, 0.0),
    ]
    return cases


def events_of(office: str, case: Case, evaluated_at: datetime) -> list[AnyEvent]:
    envelope: dict[str, Any] = {
        "office_id": office,
        "case_id": case.case_id,
        "correlation_id": case.case_id,
        "causation_id": None,
        "producer": "intake",
    }
    events: list[AnyEvent] = [
        IncidentReported.following(
            **envelope,
            occurred_at=case.reported_at,
            hazard=HazardType.FLOOD,
            happened_at=case.reported_at - HOUR,
            reporter=Reporter(name="Tim Tagana", role="tagana"),
            location=SITE,
            address=Address(district=case.district, village="Desa"),
            households_affected=5,
            people_affected=20,
            stated_needs=(NeedLine(item_code="RICE-5KG", quantity=5),),
        )
    ]
    ended_at = case.reported_at + case.hours * HOUR
    if case.fate in (Fate.MET, Fate.LATE) and ended_at <= evaluated_at:
        events.append(
            DeliveryArrived.following(
                **{**envelope, "producer": "distribution"},
                occurred_at=ended_at,
                delivery_id=case.case_id,
                position=SITE,
                distance_to_destination_m=15.0,
            )
        )
    if case.fate is Fate.REJECTED and ended_at <= evaluated_at:
        events.append(
            IncidentRejected.following(
                **envelope, occurred_at=ended_at, reason="Bukan bencana", rejected_by="Kabid"
            )
        )
    return events


@dataclass
class Expected:
    due: int = 0
    met: int = 0
    late: int = 0
    unserved: int = 0
    pending: int = 0
    cancelled: int = 0


def expected_figures(
    office: str, cases: list[Case], evaluated_at: datetime, half: bool
) -> tuple[dict[tuple[str, str], Expected], dict[tuple[str, str], list[float]]]:
    """By (period, district) and (period, all districts): the counts and the served
    response times, from the simulation alone."""
    zone = ZoneInfo(OFFICES[office][0])
    figures: dict[tuple[str, str], Expected] = {}
    times: dict[tuple[str, str], list[float]] = {}
    for case in cases:
        deadline = (case.reported_at + LIMIT).astimezone(zone)
        period = (
            f"{deadline.year}-H{1 if deadline.month <= 6 else 2}"
            if half
            else f"{deadline.year}-{deadline.month:02d}"
        )
        ended_at = case.reported_at + case.hours * HOUR
        ended = case.fate is not Fate.NEVER and ended_at <= evaluated_at
        for district in (case.district, ALL_DISTRICTS):
            line = figures.setdefault((period, district), Expected())
            times.setdefault((period, district), [])
            if case.fate is Fate.REJECTED and ended:
                line.cancelled += 1
            elif ended and case.hours <= 24:
                line.met += 1
                times[(period, district)].append(case.hours * 3600)
            elif ended:
                line.late += 1
                times[(period, district)].append(case.hours * 3600)
            elif evaluated_at > case.reported_at + LIMIT:
                line.unserved += 1
            else:
                line.pending += 1
            line.due = line.met + line.late + line.unserved
    return figures, times


@pytest.mark.parametrize("office", sorted(OFFICES))
def test_a_simulated_quarter_gives_evaluation_figures_with_open_and_never_served_cases(
    office: str, runtime: ServiceRuntime, standards: Standards, clock: FixedClock
) -> None:
    # 004: "Evaluasi penerapan standar pelayanan ini dilakukan minimal 2 (dua) kali dalam
    # 1 (satu) tahun"; 000: "1 x 24 jam sesuai kebutuhan dilapangan".
    assert str(standards.for_office(office).zone) == OFFICES[office][0]
    _, evaluated_at = quarter_of(office)
    evaluated_at += 6 * HOUR  # the quarter's last reports are still inside their 24 hours
    cases = simulate(office)
    events = sorted(
        (e for case in cases for e in events_of(office, case, evaluated_at)),
        key=lambda e: e.occurred_at,
    )
    for event in events:
        clock.set(event.occurred_at)
        assert runtime.apply_event(
            "notify:quarter", lambda uow, e: case_clocks.apply_event(uow, e, standards), event
        )
    clock.set(evaluated_at)
    evaluated = runtime.run(
        lambda uow: queries.evaluated_cases(uow, standards, office_id=office, months=None)
    )
    assert len(evaluated) == len(cases)  # every case, open or closed

    for period in (Period.MONTH, Period.HALF):
        lines = {
            (line.period, line.district): line
            for line in evaluation_report(evaluated, period)
            if line.service_code == "emergency_relief"
        }
        figures, times = expected_figures(office, cases, evaluated_at, period is Period.HALF)
        assert set(lines) == set(figures)
        for key, want in figures.items():
            got = lines[key]
            assert (got.due, got.within_standard, got.late, got.unserved) == (
                want.due, want.met, want.late, want.unserved,
            ), key  # fmt: skip
            assert (got.pending, got.cancelled) == (want.pending, want.cancelled), key
            assert got.share_within == (want.met / want.due if want.due else None), key
            served = sorted(times[key])
            if served:
                assert got.median_seconds == pytest.approx(statistics.median(served)), key
                rank = served[math.ceil(0.9 * len(served)) - 1]
                assert got.p90_seconds == pytest.approx(rank), key
            else:
                assert got.median_seconds is None and got.p90_seconds is None, key

    # The simulation holds every kind of case the evaluation must count.
    totals = [v for (p, d), v in figures.items() if d == ALL_DISTRICTS]
    assert sum(t.unserved for t in totals) > 0 and sum(t.late for t in totals) > 0
    assert sum(t.cancelled for t in totals) > 0 and sum(t.pending for t in totals) > 0
    assert "2026-01" in {p for (p, _) in expected_figures(office, cases, evaluated_at, False)[0]}

    # The API gives the same half-year figures as the handlers.
    app = FastAPI()
    app.state.runtime, app.state.standards = runtime, standards
    install_error_handlers(app)
    app.include_router(router)
    with TestClient(app) as client:
        answer = client.get("/reports", params={"office_id": office, "period": "half"})
    assert answer.status_code == 200
    first_half = next(
        line for line in answer.json() if (line["period"], line["district"]) == ("2026-H1", "*")
    )
    want = figures[("2026-H1", ALL_DISTRICTS)]
    assert (first_half["due"], first_half["within_standard"], first_half["unserved"]) == (
        want.due, want.met, want.unserved,
    )  # fmt: skip
