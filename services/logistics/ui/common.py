"""What the warehouse screens share: the page foundation with the warehouse's templates
and words, rendering, paging, naming a dispatch or a lot, and running a button's use case."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Generic, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from services.logistics.domain import short_lot
from services.logistics.models.dispatch import IncidentPlaceRow, PickList
from services.logistics.settings import LogisticsSettings
from shared import paging
from shared.csrf import csrf_field
from shared.errors import DomainError
from shared.invariants import of_type
from shared.pages import LANGUAGES, Lang, Pages, choose_language, translations
from shared.paging import MAX_CURSOR_LENGTH
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
After = Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)]
Row = TypeVar("Row")


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a long list and the cursor of the next (None on the last page)."""

    rows: list[Row]
    next_after: str | None
    after: str | None


def screen_page(page: paging.Page[Row], after: str | None) -> Page[Row]:
    """A page the database cut (`shared.paging`), as the screens' pager shows it."""
    return Page(rows=list(page.items), next_after=page.next_after, after=after)


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


# The particulars of a rule's refusal in the keeper's words, by the refusal's code, filled
# from its facts (`domain.Refused`); the headline of every code the screens meet is in
# `templates/macros.html`. The English `detail` is shown only for a code known to neither.
PARTICULARS: Final = {
    "delivered_not_positive": "%(item)s: write how many came.",
    "accepted_out_of_range": (
        "%(item)s: accepted must be between 0 and the %(delivered)s delivered."
    ),
    "accepted_over_order": (
        "%(item)s: %(accepted)s accepted but only %(still)s still on order; ask the supplier."
    ),
    "rejection_reason_missing": (
        "%(item)s: %(rejected)s not accepted; choose the reason for the rest."
    ),
    "received_in_future": "The day received cannot be after today.",
    "expired_at_receipt": "Expired goods are refused at the door.",
    "lot_counted_twice": "Lot %(lot)s is on the sheet twice.",
    "count_negative": "Lot %(lot)s: a count cannot be below zero.",
    "count_in_future": "A count cannot be dated after today.",
    "lot_in_other_warehouse": "Lot %(lot)s is in another warehouse.",
}


def explain(lang: Lang, code: str, facts: Mapping[str, object] | None) -> str | None:
    """The particulars of a refusal with this code in the keeper's words, where the screen
    knows them and the refusal carries the facts they need."""
    words = PARTICULARS.get(code)
    if words is None:
        return None
    try:
        return str(CATALOGS[lang].gettext(words)) % dict(facts or {})
    except (KeyError, TypeError):  # a refusal of that code without its facts
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
        explain=lambda code, facts=None: explain(choose_language(request), code, facts),
        current=current,
        csrf=Markup(csrf_field(request)),  # noqa: S704 - built by shared.csrf from a hex token
        short_lot=short_lot,
        **context,
    )


def page_url(path: str, **params: object) -> str:
    """A screen's address with the parameters that have a value."""
    query = {name: value for name, value in params.items() if value not in (None, "")}
    return f"{path}?{urlencode(query)}" if query else path


def pager_query(params: dict[str, object], limit: int, usual: int = PAGE_SIZE) -> dict[str, object]:
    """The query of a page's "next page" link: its filters, and its size if not the usual."""
    return params if limit == usual else {**params, "limit": limit}


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
