"""Issue 15 item 13 in notify: the slower disaster services clocked with each office's
standard. OKU Selatan's proposal runs 2 working days from the papers complete (003),
Balangan's house-damage assistance 30 working days from the filing (004); an office whose
standard does not publish them gets no clock. Then a simulated quarter per office (the
five standard files) whose evaluation figures this test computes on its own, open and
never-served applications included."""

from __future__ import annotations

import enum
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from fastapi.testclient import TestClient

from services.notify import case_clocks, queries
from services.notify.evaluation import ALL_DISTRICTS, Period, evaluation_report
from services.notify.models import ClockRow
from services.notify.standards import Standards, load_standards
from shared.clock import FixedClock
from shared.contracts.envelope import CaseType, HazardType
from shared.contracts.intake_disaster_aid import (
    AidApplicationDocumentsCompleted,
    AidApplicationFiled,
    AidApplicationSettled,
    AidApplicationWithdrawn,
)
from shared.contracts.union import AnyEvent
from shared.runtime import ServiceRuntime
from tests.notify.test_board_pages import app_for, case_names, play
from tests.notify.test_board_pages import make_runtime as board_runtime
from tests.notify.test_evaluation_quarter import OFFICES, quarter_of

HOUR = timedelta(hours=1)
WIB, WITA = ZoneInfo("Asia/Jakarta"), ZoneInfo("Asia/Makassar")


def envelope(office: str, case_id: uuid.UUID, incident_id: uuid.UUID) -> dict[str, Any]:
    return {
        "office_id": office,
        "case_id": case_id,
        "case_type": CaseType.AID_APPLICATION,
        "correlation_id": incident_id,
        "causation_id": None,
        "producer": "intake",
    }


def filed(office: str, case_id: uuid.UUID, at: datetime, district: str = "Muaradua") -> AnyEvent:
    incident = uuid.UUID(int=case_id.int ^ 1)
    return AidApplicationFiled.following(
        **envelope(office, case_id, incident),
        occurred_at=at,
        kind="house_damage" if office == "balangan" else "disaster_aid_proposal",
        incident_id=incident,
        incident_happened_at=at - 240 * HOUR,
        hazard=HazardType.FLOOD,
        district=district,
        village="Desa",
        damage="heavy",
        members=4,
        documents_complete=False,
        recorded_by="Front office",
    )


def papers(office: str, case_id: uuid.UUID, at: datetime, district: str = "Muaradua") -> AnyEvent:
    return AidApplicationDocumentsCompleted.following(
        **envelope(office, case_id, uuid.UUID(int=case_id.int ^ 1)),
        occurred_at=at,
        kind="house_damage" if office == "balangan" else "disaster_aid_proposal",
        district=district,
        village="Desa",
        recorded_by="Front office",
    )


def settled(office: str, case_id: uuid.UUID, at: datetime) -> AnyEvent:
    return AidApplicationSettled.following(
        **envelope(office, case_id, uuid.UUID(int=case_id.int ^ 1)),
        occurred_at=at,
        outcome="proposed",
        decided_by="Kepala Dinas Sosial",
        recorded_by="Kabid Linjamsos",
    )


def withdrawn(office: str, case_id: uuid.UUID, at: datetime) -> AnyEvent:
    return AidApplicationWithdrawn.following(
        **envelope(office, case_id, uuid.UUID(int=case_id.int ^ 1)),
        occurred_at=at,
        reason="Ditarik pemohon",
        recorded_by="Front office",
    )


def apply_all(
    runtime: ServiceRuntime, clock: FixedClock, standards: Standards, events: list[AnyEvent]
) -> None:
    for event in sorted(events, key=lambda e: e.occurred_at):
        clock.set(event.occurred_at)
        assert runtime.apply_event(
            "notify:aid", lambda uow, e: case_clocks.apply_event(uow, e, standards), event
        )


def clock_of(runtime: ServiceRuntime, case_id: uuid.UUID) -> ClockRow | None:
    return runtime.run(lambda uow: uow.session.get(ClockRow, case_id))


def test_oku_selatans_proposal_runs_two_working_days_from_the_papers_complete(
    runtime: ServiceRuntime, clock: FixedClock, standards: Standards
) -> None:
    # 003: "2 (dua) hari kerja, apabila persyaratan lengkap dan benar".
    case = uuid.uuid4()
    friday = datetime(2026, 2, 6, 10, 0, tzinfo=WIB)
    apply_all(runtime, clock, standards, [filed("oku-selatan", case, friday - 48 * HOUR)])
    assert clock_of(runtime, case) is None  # filed, papers not complete: no clock yet

    apply_all(runtime, clock, standards, [papers("oku-selatan", case, friday)])

    row = clock_of(runtime, case)
    assert row is not None
    assert (row.service_code, row.started_at) == ("disaster_aid_proposal", friday)
    # Saturday and Sunday do not count: Monday 9 and Tuesday 10 February, to its end.
    assert row.deadline == datetime(2026, 2, 11, 0, 0, tzinfo=WIB)
    assert row.district == "Muaradua"


def test_balangans_house_damage_assistance_runs_thirty_working_days_from_the_filing(
    runtime: ServiceRuntime, clock: FixedClock, standards: Standards
) -> None:
    # 004: "Jangka Waktu Penyelesaian 7-30 hari kerja".
    case = uuid.uuid4()
    monday = datetime(2026, 8, 3, 9, 0, tzinfo=WITA)

    apply_all(runtime, clock, standards, [filed("balangan", case, monday, district="Paringin")])

    row = clock_of(runtime, case)
    assert row is not None
    assert (row.service_code, row.started_at) == ("house_damage_settlement", monday)
    # 30 working days from 4 August: 17 August (Independence Day) and 25 August (Maulid
    # Nabi) are closed, so the 30th is Wednesday 16 September 2026, to its end.
    assert row.deadline == datetime(2026, 9, 17, 0, 0, tzinfo=WITA)


def test_a_settlement_stops_the_clock_and_a_withdrawal_cancels_it(
    runtime: ServiceRuntime, clock: FixedClock, standards: Standards
) -> None:
    kept, dropped = uuid.uuid4(), uuid.uuid4()
    start = datetime(2026, 8, 3, 9, 0, tzinfo=WITA)

    apply_all(
        runtime, clock, standards,
        [
            filed("balangan", kept, start), settled("balangan", kept, start + 72 * HOUR),
            filed("balangan", dropped, start), withdrawn("balangan", dropped, start + HOUR),
        ],
    )  # fmt: skip

    met, cancelled = clock_of(runtime, kept), clock_of(runtime, dropped)
    assert met is not None and cancelled is not None
    assert (met.outcome, cancelled.outcome) == ("met", "cancelled")


@pytest.mark.parametrize("office", ["kukar", "lubuklinggau", "tarakan"])
def test_an_office_that_publishes_no_such_service_gets_no_clock(
    office: str, runtime: ServiceRuntime, clock: FixedClock, standards: Standards
) -> None:
    case = uuid.uuid4()
    start = datetime(2026, 2, 6, 10, 0, tzinfo=WITA)

    events = [filed(office, case, start), papers(office, case, start)]
    apply_all(runtime, clock, standards, [*events, settled(office, case, start + HOUR)])

    assert clock_of(runtime, case) is None


# --- the simulated quarter ------------------------------------------------------------------

# Restated from the decrees, not read from the standard files: the service, its limit in
# working days, and the event that starts it.
PUBLISHED = {
    "oku-selatan": ("disaster_aid_proposal", 2, "papers"),  # 003
    "balangan": ("house_damage_settlement", 30, "filing"),  # 004
}
APPLICATIONS_PER_OFFICE = 40


class Fate(enum.Enum):
    MET = "met"
    LATE = "late"
    NEVER = "never"  # papers complete, never decided
    WITHDRAWN = "withdrawn"
    PAPERS_NEVER = "papers_never"  # filed, papers never complete


@dataclass(frozen=True)
class Application:
    case_id: uuid.UUID
    district: str
    filed_at: datetime
    papers_at: datetime | None
    fate: Fate
    share: float  # of the time to the deadline, when it was decided or withdrawn


CLOSED = holidays.country_holidays(
    "ID", categories=(holidays.PUBLIC, holidays.GOVERNMENT), years=(2025, 2026)
)


def working_days_deadline(start: datetime, count: int, zone: ZoneInfo) -> datetime:
    """Midnight after the `count`-th working day after the start's own day."""
    day, left = start.astimezone(zone).date(), count
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in CLOSED:
            left -= 1
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def simulate(office: str) -> list[Application]:
    rng = random.Random(f"aid-quarter-{office}")
    start, end = quarter_of(office)
    seconds = (end - start).total_seconds()
    cases = []
    for _ in range(APPLICATIONS_PER_OFFICE):
        fate = rng.choice(
            [Fate.MET, Fate.MET, Fate.LATE, Fate.NEVER, Fate.WITHDRAWN, Fate.PAPERS_NEVER]
        )
        filed_at = start + timedelta(seconds=rng.uniform(0, seconds))
        papers_at = None if fate is Fate.PAPERS_NEVER else filed_at + rng.uniform(0, 50) * HOUR
        share = {
            Fate.MET: rng.uniform(0.05, 0.95),
            Fate.LATE: rng.uniform(1.05, 3.0),
            Fate.WITHDRAWN: rng.uniform(0.05, 2.0),
        }.get(fate, 0.0)
        cases.append(
            Application(
                uuid.UUID(int=rng.getrandbits(128)),
                rng.choice(OFFICES[office][1]),
                filed_at,
                papers_at,
                fate,
                share,
            )
        )
    return cases


def started_at(office: str, case: Application) -> datetime | None:
    """When the office's clock starts for the application: None when it never does."""
    if office not in PUBLISHED:
        return None
    return case.papers_at if PUBLISHED[office][2] == "papers" else case.filed_at


def deadline_of(office: str, case: Application) -> datetime | None:
    begun = started_at(office, case)
    if begun is None:
        return None
    return working_days_deadline(begun, PUBLISHED[office][1], ZoneInfo(OFFICES[office][0]))


def ended_at(office: str, case: Application) -> datetime | None:
    """When it was decided or withdrawn, if it was (by the clock's own start)."""
    begun, deadline = started_at(office, case), deadline_of(office, case)
    if case.fate in (Fate.MET, Fate.LATE, Fate.WITHDRAWN):
        origin = begun or case.papers_at or case.filed_at
        limit = (deadline - origin) if deadline else 48 * HOUR
        return origin + case.share * limit
    return None


def events_of(office: str, case: Application, evaluated_at: datetime) -> list[AnyEvent]:
    events = [filed(office, case.case_id, case.filed_at, case.district)]
    if case.papers_at is not None and case.papers_at <= evaluated_at:
        events.append(papers(office, case.case_id, case.papers_at, case.district))
    end = ended_at(office, case)
    if end is not None and end <= evaluated_at:
        make = withdrawn if case.fate is Fate.WITHDRAWN else settled
        events.append(make(office, case.case_id, end))
    return events


@dataclass
class Expected:
    met: int = 0
    late: int = 0
    unserved: int = 0
    pending: int = 0
    cancelled: int = 0


def expected_figures(
    office: str, cases: list[Application], evaluated_at: datetime, half: bool
) -> dict[tuple[str, str], Expected]:
    zone = ZoneInfo(OFFICES[office][0])
    figures: dict[tuple[str, str], Expected] = {}
    for case in cases:
        begun, deadline = started_at(office, case), deadline_of(office, case)
        if begun is None or deadline is None or begun > evaluated_at:
            continue  # no clock ever started: nothing to evaluate
        # The evaluation's rule: the day the deadline falls on in the office's zone (the
        # midnight that ends a working-day limit is the next day's first instant).
        day = deadline.astimezone(zone).date()
        period = f"{day.year}-H{1 if day.month <= 6 else 2}" if half else f"{day:%Y-%m}"
        end = ended_at(office, case)
        for district in (case.district, ALL_DISTRICTS):
            line = figures.setdefault((period, district), Expected())
            if end is not None and end <= evaluated_at and case.fate is Fate.WITHDRAWN:
                line.cancelled += 1
            elif end is not None and end <= evaluated_at:
                if end <= deadline:
                    line.met += 1
                else:
                    line.late += 1
            elif evaluated_at > deadline:
                line.unserved += 1
            else:
                line.pending += 1
    return figures


@pytest.mark.parametrize("office", sorted(OFFICES))
def test_a_simulated_quarter_of_aid_applications_gives_the_evaluation_figures_per_office(
    office: str, runtime: ServiceRuntime, standards: Standards, clock: FixedClock
) -> None:
    # 003: "2 (dua) hari kerja, apabila persyaratan lengkap dan benar"; 004: "7-30 hari
    # kerja"; 000, 001 and 002 publish no such service.
    _, evaluated_at = quarter_of(office)
    evaluated_at += 6 * HOUR
    cases = simulate(office)
    apply_all(
        runtime, clock, standards,
        [event for case in cases for event in events_of(office, case, evaluated_at)],
    )  # fmt: skip
    clock.set(evaluated_at)
    evaluated = runtime.run(
        lambda uow: queries.evaluated_cases(uow, standards, office_id=office, months=None)
    )

    for period in (Period.MONTH, Period.HALF):
        lines = {
            (line.period, line.district): line
            for line in evaluation_report(evaluated, period)
            if line.service_code != "emergency_relief"
        }
        figures = expected_figures(office, cases, evaluated_at, period is Period.HALF)
        assert set(lines) == set(figures)
        for key, want in figures.items():
            got = lines[key]
            assert (got.within_standard, got.late, got.unserved) == (
                want.met, want.late, want.unserved,
            ), key  # fmt: skip
            assert (got.pending, got.cancelled) == (want.pending, want.cancelled), key
            assert got.due == want.met + want.late + want.unserved, key

    if office not in PUBLISHED:
        assert evaluated == []
        return
    assert {case.service_code for case in evaluated} == {PUBLISHED[office][0]}
    totals = [v for (_, d), v in expected_figures(office, cases, evaluated_at, True).items()
              if d == ALL_DISTRICTS]  # fmt: skip
    # The quarter holds every kind of case the evaluation must count.
    assert sum(t.met for t in totals) and sum(t.late for t in totals)
    assert sum(t.unserved for t in totals) and sum(t.cancelled for t in totals)
    assert sum(t.pending for t in totals)
    # OKU Selatan's applications whose papers never came complete have no clock at all.
    if PUBLISHED[office][2] == "papers":
        never = [c for c in cases if c.fate is Fate.PAPERS_NEVER]
        assert never and len(evaluated) < len(cases)


def test_the_board_names_an_aid_application_by_its_service_and_place(tmp_path: Path) -> None:
    standards = load_standards()
    start = datetime(2026, 8, 3, 9, 0, tzinfo=WITA)
    clock = FixedClock(start)
    board = board_runtime(tmp_path, clock)
    play(board, standards, filed("balangan", uuid.uuid4(), start, district="Paringin"))
    clock.set(start + HOUR)

    with TestClient(app_for(board, standards)) as client:
        names = case_names(client.get("/").text)
        english = case_names(client.get("/?lang=en").text)

    assert names == ["Penyelesaian bantuan rumah rusak · Desa, Paringin"]
    assert english == ["Damaged-house aid (settlement) · Desa, Paringin"]
    board.engine.dispose()
