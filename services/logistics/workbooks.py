"""The keeper's spreadsheets, from the ledger: the stock and the stock card (kartu stok)
as Excel workbooks, with the same figures as `GET /stock` and `GET /stock-card`, typed
(quantities are numbers Excel can add up, dates are dates)."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlmodel import select

from services.logistics import queries
from services.logistics.models.catalogue import ItemRow, WarehouseRow
from services.logistics.models.stock import StockCard
from shared.exports import Column, Kind, xlsx
from shared.unit_of_work import UnitOfWork

STOCK_COLUMNS = (
    Column("Gudang"),
    Column("Nama gudang"),
    Column("Kode barang"),
    Column("Nama barang"),
    Column("Satuan", width=10),
    *(Column(heading, Kind.INTEGER, width=12) for heading in
      ("Stok fisik", "Dipesan", "Karantina", "Bebas", "Jumlah lot")),
)  # fmt: skip


def stock_xlsx(uow: UnitOfWork) -> bytes:
    """Stock per warehouse and item (the caller's office): on hand, reserved for
    dispatches, quarantined, free to issue, and the number of lots."""
    levels = queries.stock_levels(uow)
    items = {row.code: row.name for row in uow.session.exec(select(ItemRow))}
    warehouses = {row.code: row.name for row in uow.session.exec(select(WarehouseRow))}
    return xlsx(
        "Stok",
        STOCK_COLUMNS,
        [
            (
                level.warehouse_code,
                warehouses.get(level.warehouse_code),
                level.item_code,
                items.get(level.item_code),
                level.unit,
                level.on_hand,
                level.reserved,
                level.quarantined,
                level.free,
                level.lots,
            )
            for level in levels
        ],
    )


STOCK_CARD_COLUMNS = (
    Column("Tanggal", Kind.DATE, width=12),
    Column("Uraian"),
    Column("Referensi"),
    Column("Lot", width=10),
    Column("Masuk", Kind.INTEGER, width=10),
    Column("Keluar", Kind.INTEGER, width=10),
    Column("Saldo", Kind.INTEGER, width=10),
    Column("Keterangan"),
    Column("Petugas"),
    Column("Dicatat", Kind.DATETIME, width=17),
)


def stock_card_xlsx(
    card: StockCard, warehouse_name: str, zone: ZoneInfo, movement_in_words: Callable[[str], str]
) -> bytes:
    """The stock card (kartu stok) as a sheet: the opening balance, then every movement
    of goods with the running balance, as the paper card has it."""
    period = f"{card.since:%d-%m-%Y} s.d. " if card.since else "s.d. "
    opening = (card.since, "Saldo awal", None, None, None, None, card.opening_balance)
    return xlsx(
        f"Kartu stok {card.item_code}",
        STOCK_CARD_COLUMNS,
        [
            (*opening, None, None, None),
            *(
                (
                    line.date,
                    movement_in_words(line.kind),
                    line.reference,
                    str(line.lot_id)[:8],
                    line.quantity_in or None,
                    line.quantity_out or None,
                    line.balance,
                    line.reason,
                    line.actor,
                    line.recorded_at,
                )
                for line in card.lines
            ),
        ],
        zone=zone,
        caption=(
            f"KARTU STOK: {card.item_name} ({card.item_code}), satuan {card.unit}",
            f"Gudang: {warehouse_name} ({card.warehouse_code})",
            f"Periode: {period}{card.as_of:%d-%m-%Y}; saldo akhir {card.closing_balance}",
        ),
    )
