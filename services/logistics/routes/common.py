"""What the API's route modules share: the settings dependency, a page of a list as its
JSON array, files (PDF, Excel) as downloads, and the shapes of rows several resources
answer with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response

from services.logistics.models.stock import LotOut, LotRow
from services.logistics.settings import LogisticsSettings
from shared.exports import XLSX_MEDIA_TYPE
from shared.openapi import file_answer
from shared.paging import Page, link_next_page

Row = TypeVar("Row")
Out = TypeVar("Out")


# A printable document, documented as what it is rather than JSON.
PDF: dict[str, Any] = {"response_class": Response, "responses": file_answer("application/pdf")}


def get_logistics_settings(request: Request) -> LogisticsSettings:
    """The settings this app was built with."""
    settings: LogisticsSettings = request.app.state.runtime.settings
    return settings


SettingsDep = Annotated[LogisticsSettings, Depends(get_logistics_settings)]


def lot_out(row: LotRow) -> LotOut:
    return LotOut(**row.model_dump(exclude={"recorded_at"}), free=row.on_hand - row.reserved)


def answer_page(
    request: Request, response: Response, page: Page[Row], out: Callable[[Row], Out]
) -> list[Out]:
    """A page of a list as its JSON array, the next page's address in `Link`."""
    link_next_page(request, response, page)
    return [out(row) for row in page.items]


def xlsx_download(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def pdf_inline(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )
