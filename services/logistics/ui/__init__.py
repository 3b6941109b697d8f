"""The warehouse keeper's screens on the shared page foundation (`shared.pages`), one
module per screen area, assembled here under `/ui` with who may open each:

- `picking`: today's dispatches to pick (named by hazard and place, lines in walk order,
  printable one page per dispatch), signed off and released;
- `stock`: find an item or a lot (and shelve it), stock, the stock card, alerts;
- `receiving`: receiving against purchase orders, counts;
- `procurement`: follow purchase requests and their orders against their clock, raise a
  request, order it from a supplier (both through the JSON API from
  `static/procurement.js`), receive against an order;
- `common`: what they share (templates, words, rendering, paging, names).

Templates are in `templates/`, the words in `locale/`. Forms post back here. A success
redirects (post/redirect/get) to the page with a notice; a refusal of the receiving or
count form is shown in place, with the rule's words and what the keeper typed still in
the boxes. Every posting form carries the CSRF token (`shared.csrf`). The rules live in
`catalogue`, `stock_changes`, `allocation`, `procurement` and `documents`: the screens
only read, shape and forward."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from services.logistics.ui import picking, procurement, receiving, stock
from shared.auth import Access, Policy, Role

# Each screen module's router carries the `/ui` prefix itself: the access check reads the
# path of the route that answered, which does not include an enclosing router's prefix.
router = APIRouter(include_in_schema=False)


@router.get("/ui")
def home(request: Request) -> RedirectResponse:
    """The first screen: what to pick today (a `?lang=` choice goes along)."""
    query = request.url.query
    return RedirectResponse(f"/ui/picking?{query}" if query else "/ui/picking", status_code=303)


for screens in (picking, stock, receiving, procurement):
    router.include_router(screens.router)

ACCESS: Policy = {
    "GET /ui": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /ui/picking": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "POST /ui/picking/{dispatch_id}/sign": Access.of(Role.WAREHOUSE),
    "POST /ui/picking/{dispatch_id}/release": Access.of(Role.WAREHOUSE),
    "POST /ui/picking/{dispatch_id}/handover": Access.of(Role.WAREHOUSE),
    "GET /ui/stock": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /ui/stock-card": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /ui/receiving": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "POST /ui/receiving/{order_id}": Access.of(Role.WAREHOUSE),
    "GET /ui/counts": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "POST /ui/counts": Access.of(Role.WAREHOUSE),
    "GET /ui/alerts": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /ui/find": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "POST /ui/lots/{lot_id}/bin": Access.of(Role.WAREHOUSE),
    # Following procurement: whoever may read purchase requests; raising and ordering
    # happen through the API's own routes.
    "GET /ui/procurement": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /ui/procurement/new": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /ui/procurement/{request_id}": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    # Code only, no data in it.
    "GET /ui/procurement.js": Access.anyone(),
}
"""Who may open each screen; `app.ACCESS` takes these in."""
