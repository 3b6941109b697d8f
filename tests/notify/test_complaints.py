"""Complaints in notify: the answer's clock (the office's setting, no decree sets one)
starts when the office received the complaint and stops at the answer; the evaluation
counts complaints by the month received (on time, late, open past their limit), and the
case page names a complaint by its channel, in both languages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from services.notify import queries
from services.notify.complaints import ComplaintClock, complaint_figures
from services.notify.domain import Outcome
from services.notify.evaluation import Period
from services.notify.standards import load_standards
from shared.clock import FixedClock
from shared.contracts.envelope import CaseType
from shared.contracts.intake import (
    ComplaintAnswered,
    ComplaintClosed,
    ComplaintHandlingStarted,
    ComplaintReceived,
)
from tests.notify.test_board_pages import (
    NOW,
    app_for,
    case_names,
    make_runtime,
    play,
    text_of,
)
from tests.notify.test_cases import envelope

DAY = timedelta(days=1)
WITA = ZoneInfo("Asia/Makassar")


def received(case: uuid.UUID, at: datetime, channel: str = "whatsapp") -> ComplaintReceived:
    return ComplaintReceived.following(
        **envelope(case, at, "intake", case_type=CaseType.COMPLAINT),
        channel=channel,
        about_reference="PMK-2026-R3",
        recorded_by="Rina (front office)",
    )


def answered(case: uuid.UUID, at: datetime) -> ComplaintAnswered:
    return ComplaintAnswered.following(
        **envelope(case, at, "intake", case_type=CaseType.COMPLAINT), answered_by="Sari"
    )


def test_complaints_are_counted_by_the_month_received_on_time_late_and_open_past_the_limit() -> (
    None
):
    at = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    clocks = [
        ComplaintClock(at, at + 5 * DAY, Outcome.MET),
        ComplaintClock(at, at + 5 * DAY, Outcome.LATE),
        ComplaintClock(at, at + 5 * DAY, None),
        ComplaintClock(at + 20 * DAY, at + 27 * DAY, None),
        # 23.30 WITA on 31 October is still October in Kukar, though November in UTC+9.
        ComplaintClock(datetime(2026, 10, 31, 15, 30, tzinfo=UTC), at, Outcome.MET),
    ]
    october, november = complaint_figures(clocks, now=at + 22 * DAY, zone=WITA, period=Period.MONTH)
    assert (october.period, october.received, october.answered_on_time) == ("2026-10", 1, 1)
    assert (
        november.received,
        november.answered_on_time,
        november.answered_late,
        november.open_past_limit,
        november.open_within_limit,
    ) == (4, 1, 1, 1, 1)


def test_a_complaint_clock_runs_from_receipt_to_the_answer_in_the_offices_working_days(
    tmp_path: Path,
) -> None:
    standards = load_standards()
    clock = FixedClock(NOW)
    runtime = make_runtime(tmp_path, clock)
    case = uuid.uuid4()
    friday = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # Friday 09.00 WITA
    play(runtime, standards, received(case, friday))
    row = runtime.run(lambda uow: queries.get_clock(uow, case))
    assert (row.service_code, row.case_type, row.label) == (
        "complaint_handling",
        "complaint",
        "whatsapp",
    )
    # Five working days after Friday: Mon..Fri of the next week, to the end of that Friday.
    assert row.deadline.astimezone(WITA) == datetime(2026, 12, 5, 0, 0, tzinfo=WITA)
    play(runtime, standards, answered(case, friday + 3 * DAY))
    row = runtime.run(lambda uow: queries.get_clock(uow, case))
    assert row.outcome == "met"
    runtime.engine.dispose()


def test_the_evaluation_and_the_case_page_show_complaints_in_words(tmp_path: Path) -> None:
    standards = load_standards()
    clock = FixedClock(NOW - 30 * DAY)
    runtime = make_runtime(tmp_path, clock)
    on_time, late, open_past, open_within = (uuid.uuid4() for _ in range(4))
    start = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # Monday 09.00 WITA
    play(runtime, standards,
         received(on_time, start), answered(on_time, start + 2 * DAY),
         ComplaintClosed.following(
             **envelope(on_time, start + 3 * DAY, "intake", case_type=CaseType.COMPLAINT),
             closed_by="Sari"),
         received(late, start, channel="sp4n_lapor"), answered(late, start + 18 * DAY),
         received(open_past, start + DAY, channel="in_person"),
         ComplaintHandlingStarted.following(
             **envelope(open_past, start + 2 * DAY, "intake", case_type=CaseType.COMPLAINT),
             handled_by="Budi"),
         received(open_within, NOW - DAY, channel="email"))  # fmt: skip
    clock.set(NOW)
    with TestClient(app_for(runtime, standards)) as client:
        page = text_of(client.get("/reports/view?office_id=kukar&lang=id").text)
        english = text_of(client.get("/reports/view?office_id=kukar&lang=en").text)
        case = text_of(client.get(f"/cases/{open_past}?lang=id").text)
        case_en = text_of(client.get(f"/cases/{on_time}?lang=en").text)
        figures = client.get("/reports?office_id=kukar").json()
        board = client.get("/?lang=id")
    runtime.engine.dispose()

    assert "Pengaduan menurut bulan diterima" in page
    # Month, received, on time, late, open past the limit, open within it.
    assert "November 2026 4 1 1 1 1" in page
    assert "November 2026 4 1 1 1 1" in english and "Answered on time" in english
    total = next(
        line
        for line in figures
        if line["service_code"] == "complaint_handling" and line["district"] == "*"
    )
    assert (total["within_standard"], total["late"], total["unserved"]) == (1, 1, 1)

    assert board.status_code == 200
    assert {"Pengaduan · Datang langsung", "Pengaduan · E-mail"} <= set(case_names(board.text))
    assert "Pengaduan · Datang langsung" in case
    assert "Pengaduan diterima" in case and "Mulai ditangani" in case and "Budi" in case
    assert "Dari gudang" not in case  # a complaint is answered, not delivered
    assert "Complaint · WhatsApp" in case_en
    assert "Complaint answered" in case_en and "Complaint closed" in case_en
