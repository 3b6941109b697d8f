"""One way to make a screen, for all four services: Jinja2 templates (autoescaped) on one
layout, Babel catalogs for Bahasa Indonesia (the default) and English, and dates, numbers
and durations written the way an Indonesian office reads them.

A service makes one `Pages` with its own templates folder and catalog beside the shared
ones, and renders with `pages.render(request, "inbox.html", cases=...)`. Templates call
`_("...")` for text (English message ids; the `id` catalog gives the Indonesian words),
`word("hazard", code)` for any code a user would otherwise see (stage, service, hazard,
reason), and the filters `when`, `day`, `number`, `duration` and `time_left`.

Catalogs are `.po` files read at start-up (no compile step to forget): the shared one in
`shared/locale/<lang>/LC_MESSAGES/messages.po`, a service's in
`services/<s>/locale/<lang>/LC_MESSAGES/messages.po`; a service's entry wins.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal, cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from shared.clock import DEFAULT_OFFICE_ZONE
from shared.http import csp_nonce

Lang = Literal["id", "en"]
LANGUAGES: Final[tuple[Lang, ...]] = ("id", "en")
DEFAULT_LANG: Final[Lang] = "id"
# What an empty value reads as on a screen: a dash, never "None" or a blank cell.
NOTHING: Final = "\N{EN DASH}"
LANG_COOKIE: Final = "dinsos_lang"
LANG_NAMES: Final[Mapping[Lang, str]] = {"id": "Bahasa Indonesia", "en": "English"}

SHARED_DIR: Final = Path(__file__).parent
SHARED_TEMPLATES: Final = SHARED_DIR / "templates"
SHARED_LOCALE: Final = SHARED_DIR / "locale"
ASSETS_DIR: Final = SHARED_DIR / "static" / "assets"

# Kinds of code a screen shows in words; each code is a `msgctxt "<kind>"` entry in the
# shared catalog (tests/shared/test_pages.py checks every known code has both languages).
WORD_KINDS: Final = (
    "hazard",
    "reporter_role",
    "case_type",
    "stage",
    "delivery_status",
    "failure_reason",
    "outcome",
    "rung",
    "service",
)


def choose_language(request: Request) -> Lang:
    """`?lang=` first, then the cookie the last choice left, then the browser's wish."""
    for asked in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if asked in LANGUAGES:
            return asked
    for part in request.headers.get("accept-language", "").split(","):
        primary = part.split(";")[0].strip().lower()[:2]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANG


def load_catalog(path: Path, lang: Lang) -> Translations:
    """A `.po` file as gettext translations; an empty set when the file does not exist."""
    if not path.exists():
        return Translations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def po_path(locale_dir: Path, lang: Lang) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / "messages.po"


def translations(lang: Lang, service_locale: Path | None = None) -> Translations:
    """The shared catalog with the service's on top (its entries win). The shared one is
    the base, not merged into an empty set: its header carries the language's plural rule."""
    merged = load_catalog(po_path(SHARED_LOCALE, lang), lang)
    if service_locale is not None:
        merged.merge(load_catalog(po_path(service_locale, lang), lang))
    return merged


def format_duration(delta: timedelta, translation: Translations) -> str:
    """The two largest units, e.g. '45 hari 2 jam', '3 jam 12 menit', '8 menit'."""
    seconds = abs(int(delta.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    ngettext = translation.ngettext
    parts = [
        ngettext("%(num)d day", "%(num)d days", days) % {"num": days} if days else "",
        ngettext("%(num)d hour", "%(num)d hours", hours) % {"num": hours} if hours else "",
        ngettext("%(num)d minute", "%(num)d minutes", minutes) % {"num": minutes}
        if minutes and not days
        else "",
    ]
    words = [part for part in parts if part][:2]
    return " ".join(words) if words else translation.gettext("under a minute")


class Pages:
    """Templates of one service on the shared layout, in both languages."""

    def __init__(
        self,
        templates: Path | None = None,
        locale: Path | None = None,
        *,
        service_title: str = "Dinas Sosial",
        office_zone: str = DEFAULT_OFFICE_ZONE,
    ) -> None:
        folders = [str(templates)] if templates is not None else []
        self._loader = ChoiceLoader([FileSystemLoader([*folders, str(SHARED_TEMPLATES)])])
        self._zone = ZoneInfo(office_zone)
        self.service_title = service_title
        self._translations = {lang: translations(lang, locale) for lang in LANGUAGES}
        self._environments = {lang: self._environment(lang) for lang in LANGUAGES}

    def _environment(self, lang: Lang) -> Environment:
        environment = Environment(
            loader=self._loader,
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        translation = self._translations[lang]
        environment.install_gettext_translations(translation, newstyle=True)  # type: ignore[attr-defined]  # added by the i18n extension
        environment.globals["word"] = self._word_function(translation)
        environment.globals["lang"] = lang
        environment.filters.update(self._filters(lang, translation))
        return environment

    @staticmethod
    def _word_function(translation: Translations) -> Callable[[str, object], str]:
        def word(kind: str, code: object) -> str:
            """A code in words; an unknown code stays readable instead of blank."""
            if code is None or code == "":
                return NOTHING
            text = str(code)
            translated = str(translation.pgettext(kind, text))
            return translated if translated != text else text.replace("_", " ")

        return word

    def _filters(self, lang: Lang, translation: Translations) -> dict[str, Callable[..., str]]:
        zone = self._zone

        def when(moment: datetime | None, pattern: str = "d MMM yyyy HH.mm") -> str:
            if moment is None:
                return NOTHING
            return format_datetime(moment, pattern, tzinfo=zone, locale=lang)

        def day(value: date | datetime | None) -> str:
            if value is None:
                return NOTHING
            if isinstance(value, datetime):
                value = value.astimezone(zone).date()
            return format_date(value, "d MMM yyyy", locale=lang)

        def number(value: float | int | None, digits: int = 0) -> str:
            if value is None:
                return NOTHING
            return format_decimal(
                value, format=f"#,##0.{'0' * digits}" if digits else "#,##0", locale=lang
            )

        def duration(value: timedelta | float | int | None) -> str:
            if value is None:
                return NOTHING
            delta = value if isinstance(value, timedelta) else timedelta(seconds=value)
            return format_duration(delta, translation)

        def time_left(deadline: datetime | None, now: datetime | None = None) -> str:
            if deadline is None:
                return NOTHING
            left = deadline - (now or datetime.now(deadline.tzinfo))
            if left.total_seconds() < 0:
                return translation.gettext("%(duration)s late") % {
                    "duration": format_duration(-left, translation)
                }
            return format_duration(left, translation)

        return {
            "when": when,
            "day": day,
            "number": number,
            "duration": duration,
            "time_left": time_left,
        }

    def text(self, lang: Lang, message: str) -> str:
        """One message in `lang`, for code that builds text outside a template."""
        return str(self._translations[lang].gettext(message))

    def word(self, lang: Lang, kind: str, code: object) -> str:
        """A code in words, for code outside a template (CSV and PDF exports)."""
        word = cast(Callable[[str, object], str], self._environments[lang].globals["word"])
        return word(kind, code)

    def render(
        self, request: Request, template: str, *, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        """A page in the visitor's language, its inline script/style allowed by the nonce."""
        lang = choose_language(request)
        other: Lang = "en" if lang == "id" else "id"
        page = (
            self._environments[lang]
            .get_template(template)
            .render(
                request=request,
                nonce=csp_nonce(request),
                other_lang=other,
                other_lang_name=LANG_NAMES[other],
                service_title=self.service_title,
                switch_language_url=_with_query(request, lang=other),
                **context,
            )
        )
        response = HTMLResponse(page, status_code=status_code)
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(
                LANG_COOKIE, lang, max_age=365 * 86_400, samesite="lax", httponly=True
            )
        return response


def _with_query(request: Request, **changes: str) -> str:
    """This page again with some query parameters changed (relative: services may sit
    behind a proxy on their own host name)."""
    query = dict(request.query_params)
    query.update(changes)
    return "?" + urlencode(query)


def plain(text: str) -> Markup:
    """Mark text as already safe (only for markup built from escaped parts)."""
    return Markup(text)  # noqa: S704 - callers pass markup they built from escaped values


assets_router = APIRouter(include_in_schema=False)

_ASSET_TYPES: Final = {
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
# A flat name, or one inside a vendored library's folder (Leaflet's CSS asks for
# `images/layers.png` beside itself). No dots leading a part, so no `..` and no hidden file.
_ASSET_NAME: Final = re.compile(
    r"^(?:leaflet/(?:images/)?)?[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9]+)+$"
)


@assets_router.get("/assets/{name:path}")
def asset(name: str) -> FileResponse:
    """The layout's stylesheet and scripts and the vendored map library, served by each
    service (no CDN on a posko's network); names are checked against a pattern and must
    resolve inside the folder, so a path cannot climb out of it."""
    path = (ASSETS_DIR / name).resolve()
    if (
        not _ASSET_NAME.fullmatch(name)
        or not path.is_relative_to(ASSETS_DIR.resolve())
        or not path.is_file()
        or path.suffix not in _ASSET_TYPES
    ):
        raise HTTPException(status_code=404, detail=f"no asset named {name!r}")
    return FileResponse(
        path,
        media_type=_ASSET_TYPES[path.suffix],
        headers={"Cache-Control": "public, max-age=3600"},
    )
