"""logistics' tables and the shapes of its HTTP API, one module per aggregate: `catalogue`
(warehouses, items, buffer levels), `stock` (lots, ledger, counts, transfers), `dispatch`
(dispatches, incident places, shortages, handovers), `procurement` (requests, orders,
receipts); `base` holds the tables' metadata and shared field types.

Every aggregate is imported here so that `LogisticsTable.metadata` holds every table (and
their foreign keys resolve) whichever model a caller imports first."""

from services.logistics.models import catalogue, dispatch, procurement, stock

__all__ = ["catalogue", "dispatch", "procurement", "stock"]
