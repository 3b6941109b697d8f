"""Pure rules of issue #5: deadlines in hours, days, working days (with Indonesian
holidays) and months in the office's zone; stage budgets; predicted arrival; the
escalation ladder; and the report's median and p90. No I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest

from services.notify.domain import (
    Unit,
    add_working_days,
    breach_predicted,
    complete_stages,
    current_stage,
    deadline_for,
    escalation_due,
    overdue_stages,
    plan_stages,
    predict_arrival,
)
from services.notify.evaluation import (
    ALL_DISTRICTS,
    EvaluatedCase,
    Period,
    Verdict,
    evaluation_report,
    missing_documents,
    nearest_rank,
)
from services.notify.standards import (
    OfficeCalendar,
    indonesian_holidays,
    load_standards,
    parse_standard,
)

WITA = ZoneInfo("Asia/Makassar")
WIB = ZoneInfo("Asia/Jakarta")
HOUR = timedelta(hours=1)
T0 = datetime(2026, 1, 12, 1, 30, tzinfo=UTC)


def test_the_holidays_package_knows_indonesian_public_holidays() -> None:
    holidays = indonesian_holidays()
    assert date(2026, 8, 17) in holidays  # Hari Kemerdekaan
    assert date(2026, 8, 18) not in holidays


def test_working_days_skip_the_weekend() -> None:
    friday_noon = datetime(2026, 1, 9, 12, 0, tzinfo=WITA)
    # Friday's request: Monday and Tuesday are the 2 working days; due Wednesday 00:00 WITA.
    deadline = add_working_days(friday_noon, 2, zone=WITA, holidays=frozenset())
    assert deadline == datetime(2026, 1, 14, 0, 0, tzinfo=WITA)


def test_working_days_skip_public_holidays_from_the_package() -> None:
    # Thu 13 Aug 2026; Mon 17 Aug is Independence Day: Fri 14, Tue 18 count.
    thursday = datetime(2026, 8, 13, 9, 0, tzinfo=WIB)
    deadline = add_working_days(thursday, 2, zone=WIB, holidays=indonesian_holidays())
    assert deadline == datetime(2026, 8, 19, 0, 0, tzinfo=WIB)


def test_a_hari_kerja_skips_cuti_bersama_when_government_offices_are_closed() -> None:
    # 000: "2 (dua) hari kerja": offices are closed on cuti bersama, the joint leave days
    # around Christmas 2026 (Thu 24 Dec) as on Christmas itself (Fri 25 Dec).
    closed = indonesian_holidays()
    assert date(2026, 12, 24) in closed
    wednesday = datetime(2026, 12, 23, 9, 0, tzinfo=WITA)
    # Thu 24 and Fri 25 closed, weekend: Mon 28 and Tue 29 are the 2 working days.
    deadline = add_working_days(wednesday, 2, zone=WITA, holidays=closed)
    assert deadline == datetime(2026, 12, 30, 0, 0, tzinfo=WITA)


def test_an_office_can_close_its_own_days_in_its_standard_file() -> None:
    standard = parse_standard(
        """office_name = "Dinas Sosial Uji"
time_zone = "Asia/Makassar"
[closed_days]
2026-09-28 = "Hari Jadi Kota Tenggarong"
[services.emergency_relief]
name = "Tanggap darurat"
case_type = "incident"
limit = 24
unit = "hours"
starts_on = "IncidentReported"
stops_on = "DeliveryCompleted"
""",
        "uji.toml",
    )
    assert standard.closed_days == {date(2026, 9, 28): "Hari Jadi Kota Tenggarong"}
    calendar = OfficeCalendar(indonesian_holidays(), frozenset(standard.closed_days))
    friday = datetime(2026, 9, 25, 9, 0, tzinfo=WITA)
    # Mon 28 Sep closed for this office only: Tue 29 and Wed 30 count.
    assert add_working_days(friday, 2, zone=WITA, holidays=calendar) == datetime(
        2026, 10, 1, 0, 0, tzinfo=WITA
    )
    assert add_working_days(friday, 2, zone=WITA, holidays=indonesian_holidays()) == datetime(
        2026, 9, 30, 0, 0, tzinfo=WITA
    )


def test_each_office_keeps_its_own_closed_days() -> None:
    standards = load_standards()
    some_office = next(iter(standards.offices))
    assert date(2026, 8, 17) in standards.closed_days(some_office)
    assert date(2026, 8, 18) not in standards.closed_days(some_office)


def test_the_same_instant_counts_days_in_the_offices_own_zone() -> None:
    # 16:30 UTC Friday is already Saturday 00:30 in WITA but still Friday 23:30 in WIB.
    instant = datetime(2026, 1, 9, 16, 30, tzinfo=UTC)
    wita = add_working_days(instant, 1, zone=WITA, holidays=frozenset())
    wib = add_working_days(instant, 1, zone=WIB, holidays=frozenset())
    assert wita == datetime(2026, 1, 13, 0, 0, tzinfo=WITA)  # Monday counts, due Tue
    assert wib == datetime(2026, 1, 13, 0, 0, tzinfo=WIB)


@pytest.mark.parametrize(
    ("limit", "unit", "expected"),
    [
        (24, Unit.HOURS, T0 + 24 * HOUR),
        (3, Unit.DAYS, T0 + 72 * HOUR),
        (2, Unit.MONTHS, datetime(2026, 3, 12, 9, 30, tzinfo=WITA)),
    ],
)
def test_deadlines_in_hours_days_and_months(limit: float, unit: Unit, expected: datetime) -> None:
    assert deadline_for(T0, limit, unit, zone=WITA, holidays=frozenset()) == expected


def test_a_month_from_the_31st_ends_on_the_last_day_of_a_short_month() -> None:
    start = datetime(2026, 1, 31, 10, 0, tzinfo=WITA)
    assert deadline_for(start, 1, Unit.MONTHS, zone=WITA, holidays=frozenset()) == datetime(
        2026, 2, 28, 10, 0, tzinfo=WITA
    )


def test_a_negative_limit_is_a_broken_invariant() -> None:
    with pytest.raises(ValueError, match="limit must be positive"):
        deadline_for(T0, -1, Unit.HOURS, zone=WITA, holidays=frozenset())


BUDGETS = [("verified", "IncidentVerified", 4), ("dispatched", "DispatchReleased", 8),
           ("arrived", "DeliveryArrived", 12)]  # fmt: skip


def test_stage_budgets_add_up_from_the_start() -> None:
    stages = plan_stages(T0, BUDGETS)
    assert [s.due_at - T0 for s in stages] == [4 * HOUR, 12 * HOUR, 24 * HOUR]
    assert current_stage(stages) == stages[0]


def test_the_late_stage_is_the_one_whose_event_has_not_come() -> None:
    stages = complete_stages(plan_stages(T0, BUDGETS), "IncidentVerified", T0 + 3 * HOUR)
    late = overdue_stages(stages, T0 + 13 * HOUR)
    assert [s.name for s in late] == ["dispatched"]
    assert overdue_stages(stages, T0 + 12 * HOUR) == []  # exactly at the budget: in time


def test_an_arrival_completes_the_stages_before_it() -> None:
    stages = complete_stages(plan_stages(T0, BUDGETS), "DeliveryArrived", T0 + 9 * HOUR)
    assert all(s.done_at == T0 + 9 * HOUR for s in stages)
    assert current_stage(stages) is None


def test_predicted_arrival_follows_the_delivery() -> None:
    assert predict_arrival(now=T0, departed_at=None, distance_km=None, speed_kmh=30) is None
    not_left = predict_arrival(now=T0, departed_at=None, distance_km=60, speed_kmh=30)
    assert not_left == T0 + 2 * HOUR
    on_road = predict_arrival(now=T0 + HOUR, departed_at=T0, distance_km=90, speed_kmh=30)
    assert on_road == T0 + 3 * HOUR
    overdue_truck = predict_arrival(now=T0 + 5 * HOUR, departed_at=T0, distance_km=90, speed_kmh=30)
    assert overdue_truck == T0 + 5 * HOUR
    assert breach_predicted(T0 + 25 * HOUR, T0 + 24 * HOUR)
    assert not breach_predicted(T0 + 24 * HOUR, T0 + 24 * HOUR)


def test_an_unacknowledged_warning_climbs_one_rung_per_wait_and_stops_at_the_top() -> None:
    wait = timedelta(minutes=30)
    due = partial(escalation_due, since=T0, acknowledged=False, after=wait)
    assert due(level=0, now=T0 + 29 * timedelta(minutes=1)) is None
    assert due(level=0, now=T0 + wait) == 1
    assert due(level=1, now=T0 + wait) == 2
    assert due(level=2, now=T0 + 10 * wait) is None
    assert (
        escalation_due(level=0, since=T0, acknowledged=True, now=T0 + 9 * wait, after=wait) is None
    )


def test_nearest_rank_p90_of_ten_values_is_the_ninth() -> None:
    assert nearest_rank([float(v) for v in range(10, 0, -1)], 0.9) == 9.0
    assert nearest_rank([5.0], 0.9) == 5.0


def served(district: str, hours: float, day: date = date(2026, 1, 15)) -> EvaluatedCase:
    verdict = Verdict.MET if hours <= 24 else Verdict.LATE
    return EvaluatedCase("emergency_relief", day, district, verdict, 3600.0 * hours)


def test_the_report_groups_by_service_month_and_district_with_a_total() -> None:
    cases = [served("Tenggarong", h) for h in (10, 20, 30)] + [served("Sebulu", 5)]
    lines = {(line.district): line for line in evaluation_report(cases)}
    assert lines["Tenggarong"].due == 3
    assert lines["Tenggarong"].within_standard == 2
    assert lines["Tenggarong"].median_seconds == 20 * 3600
    assert lines[ALL_DISTRICTS].due == 4
    assert lines[ALL_DISTRICTS].share_within == 0.75
    assert lines[ALL_DISTRICTS].median_seconds == 15 * 3600
    assert lines[ALL_DISTRICTS].p90_seconds == 30 * 3600


def test_a_case_still_open_past_its_deadline_counts_against_the_standard() -> None:
    # Issue 15 item 1: one case met and one breached and still open is 50 %, not 100 %.
    unserved = EvaluatedCase(
        "emergency_relief", date(2026, 1, 20), "Sebulu", Verdict.UNSERVED, None
    )
    (total, *_) = evaluation_report([served("Tenggarong", 5), unserved])
    assert (total.district, total.due, total.within_standard, total.unserved) == (
        ALL_DISTRICTS, 2, 1, 1,
    )  # fmt: skip
    assert total.share_within == 0.5
    assert total.median_seconds == total.p90_seconds == 5 * 3600  # served cases only


def test_a_rejected_report_and_a_case_not_yet_due_stand_outside_the_share() -> None:
    rejected = EvaluatedCase(
        "emergency_relief", date(2026, 1, 3), "Sebulu", Verdict.CANCELLED, None
    )
    waiting = EvaluatedCase("emergency_relief", date(2026, 1, 31), "Sebulu", Verdict.PENDING, None)
    (total, *_) = evaluation_report([rejected, waiting])
    assert (total.due, total.cancelled, total.pending, total.share_within) == (0, 1, 1, None)
    assert total.median_seconds is None and total.p90_seconds is None


def test_evaluation_at_least_twice_a_year_groups_by_half_year_of_the_deadline() -> None:
    # 004: "Evaluasi penerapan standar pelayanan ini dilakukan minimal 2 (dua) kali
    # dalam 1 (satu) tahun".
    cases = [
        served("Tenggarong", 5, date(2026, 1, 10)),
        served("Tenggarong", 30, date(2026, 6, 30)),
        served("Tenggarong", 5, date(2026, 7, 1)),
    ]
    totals = {
        line.period: line
        for line in evaluation_report(cases, Period.HALF)
        if line.district == ALL_DISTRICTS
    }
    assert {period: (t.due, t.within_standard) for period, t in totals.items()} == {
        "2026-H1": (2, 1),
        "2026-H2": (1, 1),
    }


def test_the_five_offices_count_in_their_own_zones_and_units() -> None:
    standards = load_standards()
    zones = {office: standards.for_office(office).time_zone for office in standards.offices}
    assert zones == {
        "kukar": "Asia/Makassar",
        "tarakan": "Asia/Makassar",
        "balangan": "Asia/Makassar",
        "lubuklinggau": "Asia/Jakarta",
        "oku-selatan": "Asia/Jakarta",
    }
    assert standards.service("oku-selatan", "disaster_aid_proposal").unit is Unit.WORKING_DAYS
    assert standards.service("balangan", "house_damage_settlement").clocked
    assert not standards.service("balangan", "house_damage_filing").clocked
    assert standards.service("kukar", "sandang").unit is Unit.MONTHS
    assert standards.service("tarakan", "procurement").limit == 30


# --- issue 15 item 6: standards that no decree sets ----------------------------------


def test_tarakan_publishes_no_disaster_service_so_its_relief_clock_is_the_offices_own_setting() -> (
    None
):
    # 002 (Tarakan) publishes only the Sembako facility standard.
    assert load_standards().service("tarakan").basis == "office_setting"


def test_oku_selatans_decree_sets_no_24_hour_rule_so_relief_runs_on_the_offices_setting() -> None:
    # 003: "2 (dua) hari kerja, apabila persyaratan lengkap dan benar" is for the proposal.
    standards = load_standards()
    assert standards.service("oku-selatan").basis == "office_setting"
    assert standards.for_office("oku-selatan").services["disaster_aid_proposal"].basis == "decree"


def test_kukars_permakanan_and_sandang_rules_do_not_run_where_they_are_not_published() -> None:
    # 000 (Kukar): "penyaluran bantuan setiap 2 bulan sekali"; Tarakan publishes nothing alike.
    standards = load_standards()
    kukar = standards.services_starting_on("kukar", "PermakananRoundScheduled", "permakanan_round")
    assert [code for code, _ in kukar] == ["permakanan"]
    for office in ("tarakan", "balangan", "lubuklinggau", "oku-selatan"):
        assert (
            standards.services_starting_on(office, "PermakananRoundScheduled", "permakanan_round")
            == []
        )
        assert (
            standards.services_starting_on(office, "SandangProcurementStarted", "sandang_request")
            == []
        )


def test_an_office_without_a_standard_file_runs_the_common_limits() -> None:
    standards = load_standards()
    started = standards.services_starting_on(
        "an-office-without-a-file", "IncidentReported", "incident"
    )
    assert [code for code, _ in started] == ["emergency_relief"]


def test_every_limit_an_office_files_under_its_decree_quotes_the_decrees_words() -> None:
    standards = load_standards()
    unquoted = [
        f"{office}.{code}"
        for office, standard in standards.offices.items()
        for code, service in standard.services.items()
        if service.basis == "decree" and not service.quote
    ]
    assert unquoted == []


def test_missing_documents_are_the_required_kinds_not_attached_in_the_decrees_order() -> None:
    required = ("covering_letter", "site_survey")  # 003: c. and d. of its Persyaratan
    assert missing_documents(required, []) == ("covering_letter", "site_survey")
    assert missing_documents(required, ["site_survey", "other"]) == ("covering_letter",)
    assert missing_documents(required, ["site_survey", "covering_letter", "site_survey"]) == ()
    assert missing_documents((), ["other"]) == ()


def test_the_report_counts_cases_lacking_documents_and_each_missing_kind() -> None:
    day = date(2026, 1, 15)
    cases = [
        EvaluatedCase("emergency_relief", day, "Muara", Verdict.MET, 3600.0,
                      ("covering_letter", "site_survey")),
        EvaluatedCase("emergency_relief", day, "Muara", Verdict.UNSERVED, None, ("site_survey",)),
        EvaluatedCase("emergency_relief", day, "Muara", Verdict.PENDING, None, ()),
        # A rejected report owes no file: not counted as lacking one.
        EvaluatedCase("emergency_relief", day, "Muara", Verdict.CANCELLED, None, ("site_survey",)),
    ]  # fmt: skip
    (total, *_) = evaluation_report(cases)
    assert total.lacking_documents == 2
    assert total.missing_documents == {"covering_letter": 1, "site_survey": 2}
