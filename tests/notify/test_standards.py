"""The service standards kept as data: every shipped file loads with the decree's 24 hours,
and every kind of broken file stops the service with the file and field named."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from services.notify.standards import (
    EMERGENCY_RELIEF,
    StandardError,
    load_standards,
    packaged_standards,
)

GOOD = """
office_name = "Dinas Sosial Kota Contoh"
time_zone = "Asia/Makassar"

[services.emergency_relief]
case_type = "incident"
limit = 24
unit = "hours"
warn_at = [0.5, 0.75, 0.9]
starts_on = "IncidentReported"
stops_on = "DeliveryArrived"
"""


def write_folder(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / f"standards-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    (folder / "default.toml").write_text(GOOD)
    for name, text in files.items():
        (folder / f"{name}.toml").write_text(text)
    return folder


def test_every_shipped_file_loads_with_the_decrees_24_hours() -> None:
    standards = load_standards()
    shipped = sorted(e.name for e in packaged_standards().iterdir() if e.name.endswith(".toml"))
    assert shipped == [
        "balangan.toml",
        "default.toml",
        "kukar.toml",
        "lubuklinggau.toml",
        "oku-selatan.toml",
        "tarakan.toml",
    ]
    for office_id in ("kukar", "lubuklinggau", "balangan", "tarakan", "oku-selatan", "default"):
        service = standards.for_office(office_id).services[EMERGENCY_RELIEF]
        assert service.target_seconds == 24 * 3600
        assert service.warn_at == (0.5, 0.75, 0.9)
        assert (service.starts_on, service.stops_on) == ("IncidentReported", "DeliveryArrived")


def test_each_office_requires_the_documents_its_decree_names_for_a_disaster_case() -> None:
    standards = load_standards()
    required = {
        office_id: standards.service(office_id).required_documents
        for office_id in ("kukar", "lubuklinggau", "oku-selatan", "balangan", "tarakan", "palu")
    }
    assert required == {
        "kukar": ("request_letter",),  # 000: "Surat Permohonan Bantuan Korban Bencana ..."
        "lubuklinggau": (
            "tagana_data",
        ),  # 001: "Laporan lisan / surat ...", "Pendataan Tim Tagana"
        "oku-selatan": ("covering_letter", "site_survey"),  # 003: c. and d. of its Persyaratan
        "balangan": (),
        "tarakan": (),
        "palu": (),  # the default file
    }


def test_offices_keep_their_own_time_zone() -> None:
    standards = load_standards()
    assert standards.for_office("kukar").time_zone == "Asia/Makassar"
    assert standards.for_office("balangan").time_zone == "Asia/Makassar"
    assert standards.for_office("lubuklinggau").time_zone == "Asia/Jakarta"
    assert "Balangan" in standards.for_office("balangan").office_name


def test_an_office_without_a_file_gets_the_default() -> None:
    standards = load_standards()
    assert standards.for_office("palu") is standards.default


def test_a_folder_from_the_settings_replaces_the_shipped_one(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, tarakan=GOOD.replace("limit = 24", "limit = 48"))
    standards = load_standards(folder)
    assert standards.service("tarakan").target_seconds == 48 * 3600
    assert standards.service("kukar").target_seconds == 24 * 3600  # the folder's default


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (
            GOOD.replace("limit = 24", "limit = 0"),
            "services.emergency_relief.limit",
            "greater than 0",
        ),
        (
            GOOD.replace("limit = 24", "limit = -24"),
            "services.emergency_relief.limit",
            "greater than 0",
        ),
        (
            GOOD.replace("[0.5, 0.75, 0.9]", "[0.5, 0.9, 0.75]"),
            "services.emergency_relief.warn_at",
            "strictly increasing",
        ),
        (
            GOOD.replace("[0.5, 0.75, 0.9]", "[0.5, 0.5]"),
            "services.emergency_relief.warn_at",
            "strictly increasing",
        ),
        (
            GOOD.replace("[0.5, 0.75, 0.9]", "[0.5, 1.5]"),
            "services.emergency_relief.warn_at",
            "between 0 and 1",
        ),
        (
            GOOD.replace("[0.5, 0.75, 0.9]", "[0, 0.5]"),
            "services.emergency_relief.warn_at",
            "between 0 and 1",
        ),
        (
            GOOD.replace('"IncidentReported"', '"IncidentRecieved"'),
            "services.emergency_relief.starts_on",
            "unknown event type 'IncidentRecieved'",
        ),
        (
            GOOD.replace('"DeliveryArrived"', '"AidArrived"'),
            "services.emergency_relief.stops_on",
            "unknown event type 'AidArrived'",
        ),
        (
            GOOD.replace('"DeliveryArrived"', '"ResponseClockStopped"'),
            "services.emergency_relief.stops_on",
            "notify's own event",
        ),
        (
            GOOD.replace('"DeliveryArrived"', '"StageOverdue"'),
            "services.emergency_relief.stops_on",
            "notify's own event",
        ),
        (
            GOOD.replace('"DeliveryArrived"', '"IncidentReported"'),
            "services.emergency_relief",
            "both 'IncidentReported'",
        ),
        (
            GOOD.replace("Asia/Makassar", "Asia/Balikpapan"),
            "time_zone",
            "unknown time zone 'Asia/Balikpapan'",
        ),
        (GOOD.replace("Asia/Makassar", "WITA"), "time_zone", "unknown time zone 'WITA'"),
        (
            GOOD.replace("unit = ", "units = "),
            "services.emergency_relief.units",
            "Extra inputs are not permitted",
        ),
        (
            GOOD.replace('case_type = "incident"', 'case_type = "flood"'),
            "services.emergency_relief.case_type",
            "Input should be",
        ),
        (
            GOOD.replace('office_name = "Dinas Sosial Kota Contoh"', ""),
            "office_name",
            "Field required",
        ),
        ('office_name = "broken', "", "not valid TOML"),
        (
            GOOD + 'required_documents = ["request_leter"]\n',
            "services.emergency_relief.required_documents.0",
            "Input should be 'request_letter'",
        ),
    ],
)
def test_a_broken_file_is_refused_naming_file_and_field(
    tmp_path: Path, text: str, field: str, message: str
) -> None:
    folder = write_folder(tmp_path, kukar=text)
    with pytest.raises(StandardError) as refused:
        load_standards(folder)
    assert str(refused.value).startswith(str(folder / "kukar.toml") + ":")
    # The field and its message belong together (several problems are joined by "; ").
    where = rf"[:;] {re.escape(field)}: [^;]*" if field else ""
    assert re.search(where + re.escape(message), str(refused.value)), str(refused.value)


def test_a_folder_without_the_default_is_refused(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, kukar=GOOD)
    (folder / "default.toml").unlink()
    with pytest.raises(StandardError, match=r"default\.toml is missing"):
        load_standards(folder)


def test_a_file_not_named_by_an_office_id_is_refused(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, Kukar_Kartanegara=GOOD)
    with pytest.raises(StandardError, match=r"Kukar_Kartanegara\.toml: file name must be"):
        load_standards(folder)


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StandardError, match="standards folder not found"):
        load_standards(tmp_path / "nowhere")


def test_the_service_refuses_to_start_with_a_broken_file(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, kukar=GOOD.replace("limit = 24", "limit = 0"))
    settings = NotifySettings(
        database_url=f"sqlite:///{tmp_path / 'notify.sqlite3'}", standards_dir=folder
    )
    with pytest.raises(ValueError, match=r"kukar\.toml: services\.emergency_relief\.limit"):
        create_app(settings)
