"""What the warehouse screens share: the page foundation with the warehouse's templates
and words, rendering, paging, naming a dispatch or a lot, and running a button's use case."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Generic, TypeVar
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from services.logistics.models import IncidentPlaceRow, PickList
from services.logistics.settings import LogisticsSettings
from shared.csrf import csrf_field
from shared.errors import DomainError
from shared.invariants import of_type
from shared.pages import LANGUAGES, Lang, Pages, choose_language, translations
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

LOCALE: Final = Path(__file__).parents[1] / "locale"
pages = Pages(Path(__file__).parents[1] / "templates", LOCALE, service_title="Gudang Dinsos")
# Words said from Python (a rule's refusal explained); `Pages.text` calls the template
# environment's context-bound gettext without a context, so the catalogs are read here.
CATALOGS: Final = {lang: translations(lang, LOCALE) for lang in LANGUAGES}

# Rows on one page of a long list; `?limit=` may ask for fewer or more, within reason.
PAGE_SIZE: Final = 50
PageSize = Annotated[int, Query(ge=1, le=200)]
After = Annotated[str | None, Query(max_length=120)]
Row = TypeVar("Row")


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a long list and the cursor of the next (None on the last page)."""

    rows: list[Row]
    next_after: str | None
    after: str | None


def page_of(
    rows: Sequence[Row], key: Callable[[Row], str], after: str | None, limit: int
) -> Page[Row]:
    """The rows after the cursor `after` (a row's key), in key order. A cursor, not an
    offset: a row booked while the keeper pages does not shift the next page."""
    ordered = sorted(rows, key=key)
    if after:
        ordered = [row for row in ordered if key(row) > after]
    shown = ordered[:limit]
    next_after = key(shown[-1]) if len(ordered) > limit else None
    return Page(rows=shown, next_after=next_after, after=after)


def dispatch_name(
    lang: Lang, pick: PickList, place: IncidentPlaceRow | None, zone: ZoneInfo
) -> str:
    """What a keeper calls a dispatch: the incident's hazard, village and district and the
    households hit ("Banjir · Sukarame, Tenggarong · 30 KK"); a dispatch of a program, or
    of a report logistics never heard, by its kind and planned day. Never a case id."""
    catalog = CATALOGS[lang]
    if place is None:
        planned = format_date(pick.planned_at.astimezone(zone).date(), "d MMM yyyy", locale=lang)
        kind = pages.word(lang, "case_type", pick.case_type)
        return f"{kind} · " + catalog.gettext("planned %(day)s") % {"day": planned}
    parts = [pages.word(lang, "hazard", place.hazard)]
    where = ", ".join(part for part in (place.village, place.district) if part)
    if where:
        parts.append(where)
    if place.households_affected:
        households = format_decimal(place.households_affected, locale=lang)
        parts.append(catalog.gettext("%(households)s households") % {"households": households})
    return " · ".join(parts)


def short_lot(lot_id: UUID) -> str:
    """A lot's id as a keeper reads it off a label: its first eight characters."""
    return str(lot_id)[:8].upper()


# The rules explain a refused delivery line in English (services/logistics/domain.py);
# these are the ones a keeper meets at the bay, in the keeper's words.
RECEIPT_EXPLANATIONS: Final = (
    (
        re.compile(r"^(?P<item>\S+): (?P<rejected>\d+) units not accepted: give a reason"),
        "%(item)s: %(rejected)s not accepted; choose the reason for the rest.",
    ),
    (
        re.compile(
            r"^(?P<item>\S+): accepted must be between 0 and delivered \((?P<delivered>\d+)\)"
        ),
        "%(item)s: accepted must be between 0 and the %(delivered)s delivered.",
    ),
    (
        re.compile(r"^(?P<item>\S+): accepting (?P<accepted>\d+) exceeds the (?P<still>\d+) still"),
        "%(item)s: %(accepted)s accepted but only %(still)s still on order; ask the supplier.",
    ),
    (re.compile(r"^received_on .* is after today"), "The day received cannot be after today."),
)


def explain(lang: Lang, detail: str) -> str | None:
    """A rule's refusal in the keeper's words, where the screen knows it."""
    for pattern, message in RECEIPT_EXPLANATIONS:
        found = pattern.match(detail)
        if found:
            return str(CATALOGS[lang].gettext(message)) % found.groupdict()
    return None


def settings_of(runtime: RuntimeDep) -> LogisticsSettings:
    """logistics' settings, which the runtime holds as the common type."""
    settings = runtime.settings
    return of_type(settings, LogisticsSettings, "the runtime's settings")


def render(request: Request, template: str, current: str, **context: Any) -> HTMLResponse:
    """A warehouse page: the shared layout, the warehouse's menu, the CSRF field."""
    return pages.render(
        request,
        template,
        explain=lambda detail: explain(choose_language(request), detail),
        current=current,
        csrf=Markup(csrf_field(request)),  # noqa: S704 - built by shared.csrf from a hex token
        short_lot=short_lot,
        **context,
    )


def page_url(path: str, **params: object) -> str:
    """A screen's address with the parameters that have a value."""
    query = {name: value for name, value in params.items() if value not in (None, "")}
    return f"{path}?{urlencode(query)}" if query else path


def pager_query(params: dict[str, object], limit: int) -> dict[str, object]:
    """The query of a page's "next page" link: its filters, and its size if not the usual."""
    return params if limit == PAGE_SIZE else {**params, "limit": limit}


def redirect_after(
    runtime: RuntimeDep, back: str, done: str, work: Callable[[UnitOfWork], object]
) -> RedirectResponse:
    """Run a button's use case; back to the page saying it is done, or why it was refused."""
    try:
        runtime.run(work)
    except DomainError as exc:
        separator = "&" if "?" in back else "?"
        refusal = urlencode({"refused": exc.error_code, "detail": exc.detail})
        return RedirectResponse(f"{back}{separator}{refusal}", status_code=303)
    separator = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{separator}done={done}", status_code=303)
