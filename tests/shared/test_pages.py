"""The one way screens are made (shared/pages.py): languages, words for codes, formats,
escaping, and that every text a template shows has both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from services.distribution.domain import DeliveryStatus, FailureReason
from services.notify.standards import load_standards
from shared.contracts.envelope import CaseType, HazardType
from shared.contracts.intake import DocumentKind, EmergencyLevel, EmergencyPhase, ReporterRole
from shared.pages import (
    LANGUAGES,
    Lang,
    Pages,
    assets_router,
    format_duration,
    po_path,
    translations,
)

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_FOLDERS = sorted(
    {path.parent for path in REPO.glob("*/**/templates/*.html") if ".venv" not in path.parts}
)


def _standard_codes() -> tuple[set[str], set[str]]:
    """The service codes and stage names of every office's published standard."""
    standards = load_standards()
    services: set[str] = set()
    stages: set[str] = set()
    for office in (standards.default, *standards.offices.values()):
        services.update(office.services)
        for service in office.services.values():
            stages.update(stage.name for stage in service.stages)
    return services, stages


KNOWN_CODES: dict[str, set[str]] = {
    "hazard": {code.value for code in HazardType},
    "reporter_role": {code.value for code in ReporterRole},
    "case_type": {code.value for code in CaseType},
    "delivery_status": {code.value for code in DeliveryStatus},
    "failure_reason": {code.value for code in FailureReason},
    "outcome": {"met", "late", "cancelled"},
    "rung": {"field_coordinator", "kabid_linjamsos", "kepala_dinas"},
    "service": _standard_codes()[0],
    "stage": _standard_codes()[1],
    "document_kind": {code.value for code in DocumentKind},
    "emergency_phase": {code.value for code in EmergencyPhase},
    "emergency_level": {code.value for code in EmergencyLevel},
}


@pytest.mark.parametrize("kind", sorted(KNOWN_CODES))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_code_a_user_can_see_has_words_in_both_languages(kind: str, lang: Lang) -> None:
    catalog = translations(lang)
    missing = [code for code in sorted(KNOWN_CODES[kind]) if catalog.pgettext(kind, code) == code]
    assert missing == []


def test_the_standards_name_services_and_stages_to_put_in_words() -> None:
    services, stages = _standard_codes()
    assert {"emergency_relief", "permakanan", "sandang"} <= services
    assert {"verified", "dispatched", "arrived"} <= stages


def _template_messages(folder: Path) -> set[str]:
    found = extract_from_dir(
        str(folder),
        method_map=[("*.html", "jinja2")],
        options_map={"*.html": {"extensions": "jinja2.ext.i18n"}},
    )
    messages: set[str] = set()
    for _filename, _lineno, message, _comments, _context in found:
        messages.add(message if isinstance(message, str) else message[0])
    return messages


@pytest.mark.parametrize(
    "folder", TEMPLATE_FOLDERS, ids=lambda folder: str(folder.relative_to(REPO))
)
def test_every_text_of_a_template_has_its_indonesian_words(folder: Path) -> None:
    service_locale = folder.parent / "locale"
    catalog = translations("id", service_locale if service_locale.exists() else None)
    untranslated = sorted(
        message for message in _template_messages(folder) if catalog.gettext(message) == message
    )
    assert untranslated == []


def test_the_shared_catalogs_exist_for_every_language() -> None:
    for lang in LANGUAGES:
        assert po_path(REPO / "shared/locale", lang).is_file()


@pytest.mark.parametrize(
    ("lang", "delta", "expected"),
    [
        ("id", timedelta(days=45, hours=2, minutes=10), "45 hari 2 jam"),
        ("en", timedelta(days=1, hours=2), "1 day 2 hours"),
        ("id", timedelta(hours=3, minutes=12), "3 jam 12 menit"),
        ("en", timedelta(minutes=1), "1 minute"),
        ("id", timedelta(seconds=20), "kurang dari semenit"),
    ],
)
def test_durations_read_as_the_two_largest_units(
    lang: Lang, delta: timedelta, expected: str
) -> None:
    assert format_duration(delta, translations(lang)) == expected


def _app(tmp_path: Path, template: str) -> TestClient:
    (tmp_path / "page.html").write_text(template, encoding="utf-8")
    pages = Pages(tmp_path, service_title="Uji")
    app = FastAPI()
    app.include_router(assets_router)

    @app.get("/page")
    def page(request: Request) -> HTMLResponse:
        return pages.render(
            request,
            "page.html",
            title="<b>judul</b>",
            deadline=datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
            now=datetime(2026, 11, 29, 6, 30, tzinfo=UTC),
            amount=1234567.5,
            hazard="settlement_fire",
        )

    return TestClient(app)


PAGE = """{% extends "layout.html" %}{% block main %}
<p id="left">{{ deadline | time_left(now) }}</p><p id="late">{{ now | time_left(deadline) }}</p>
<p id="amount">{{ amount | number(1) }}</p><p id="hazard">{{ word("hazard", hazard) }}</p>
<p id="unknown">{{ word("hazard", "meteor_strike") }}</p><p id="when">{{ deadline | when }}</p>
{% endblock %}"""


def test_a_page_speaks_indonesian_by_default_with_office_formats(tmp_path: Path) -> None:
    answer = _app(tmp_path, PAGE).get("/page")
    assert answer.status_code == 200
    html = answer.text
    assert '<html lang="id">' in html
    assert '<p id="left">1 hari 1 jam</p>' in html
    assert '<p id="late">terlambat 1 hari 1 jam</p>' in html
    assert '<p id="amount">1.234.567,5</p>' in html
    assert '<p id="hazard">Kebakaran permukiman</p>' in html
    assert '<p id="unknown">meteor strike</p>' in html
    assert '<p id="when">30 Nov 2026 16.00</p>' in html  # 08:00 UTC is 16:00 WITA


def test_the_language_comes_from_the_query_then_the_cookie_then_the_browser(tmp_path: Path) -> None:
    client = _app(tmp_path, PAGE)
    assert (
        '<html lang="en">'
        in client.get("/page", headers={"Accept-Language": "en-GB,en;q=0.8"}).text
    )
    chosen = client.get("/page?lang=en")
    assert chosen.cookies.get("dinsos_lang") == "en"
    assert '<p id="amount">1,234,567.5</p>' in chosen.text
    assert '<html lang="en">' in client.get("/page").text  # the cookie remembers
    assert '<html lang="id">' in client.get("/page?lang=id", headers={"Accept-Language": "en"}).text
    client.cookies.set("dinsos_lang", "id")
    assert '<html lang="id">' in client.get("/page?lang=xx", headers={"Accept-Language": "en"}).text


def test_code_outside_a_template_gets_the_same_words(tmp_path: Path) -> None:
    pages = Pages(tmp_path)
    assert pages.text("id", "Next page") == "Halaman berikutnya"
    assert pages.text("en", "Next page") == "Next page"
    assert pages.word("id", "stage", "dispatched") == "Dikeluarkan dari gudang"


def test_values_are_escaped_in_every_template(tmp_path: Path) -> None:
    html = _app(tmp_path, PAGE).get("/page").text
    assert "<b>judul</b>" not in html
    assert "&lt;b&gt;judul&lt;/b&gt;" in html


def test_the_layout_links_the_shared_style_sheet_which_every_service_serves(tmp_path: Path) -> None:
    client = _app(tmp_path, PAGE)
    assert '<link rel="stylesheet" href="/assets/dinsos.css">' in client.get("/page").text
    sheet = client.get("/assets/dinsos.css")
    assert sheet.status_code == 200
    assert sheet.headers["content-type"].startswith("text/css")
    for hostile in ("..%2Fpages.py", ".hidden.css", "nothing.css", "layout.html"):
        assert client.get(f"/assets/{hostile}").status_code == 404
