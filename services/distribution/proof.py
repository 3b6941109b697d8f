"""Proof of delivery for a program parcel: who received it and how they relate to the
recipient, the GPS position checked against the address, the signature or photo kept as
an image, and the refusal to hand over expired goods."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from uuid import UUID

from sqlmodel import select

from services.distribution.common import Policy
from services.distribution.domain import check_image, check_proof_position, expired_lots
from services.distribution.models.deliveries import CompletionIn, DeliveryRow, ProofImageRow
from shared.errors import Unprocessable
from shared.unit_of_work import UnitOfWork


def _decode_signature(encoded: str) -> bytes:
    payload = encoded.split(",", 1)[1] if encoded.startswith("data:") else encoded
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Unprocessable("the signature is not valid base64", code="not_an_image") from exc


def refuse_expired_goods(row: DeliveryRow, today: date) -> None:
    """000: food is handed over "tidak cacat dan tidak kadaluwarsa": a parcel holding goods
    of a lot that has expired by the office's date is not handed over."""
    expired = expired_lots(row.lots or [], today)
    if expired:
        raise Unprocessable(
            "the parcel holds expired goods ("
            + ", ".join(f"{item} of lot {lot[:8]}, expired {day}" for item, lot, day in expired)
            + "); it cannot be handed over: record the delivery as failed and ask the "
            "warehouse for a replacement",
            code="goods_expired",
        )


def record_proof(
    uow: UnitOfWork, row: DeliveryRow, completion: CompletionIn, policy: Policy, now: datetime
) -> None:
    """Check and keep a program parcel's proof: relation, GPS position (far from the
    address is kept but flagged) and a signature or an uploaded photo."""
    if completion.relation is None:
        raise Unprocessable(
            "say who received the parcel in relation to the recipient (e.g. self, spouse)",
            code="proof_relation_missing",
        )
    if completion.position is None:
        raise Unprocessable(
            "a proof of delivery needs the GPS position", code="proof_position_missing"
        )
    checked = check_proof_position(completion.position, row.destination(), policy.proof_tolerance_m)
    if completion.signature_png_base64 is not None:
        store_signature(uow, row, completion.signature_png_base64, policy, now)
    if not (row.has_signature or row.has_photo):
        raise Unprocessable(
            "a proof of delivery needs the receiver's signature or a photo", code="proof_missing"
        )
    row.proof_lat, row.proof_lon = completion.position.lat, completion.position.lon
    row.proof_distance_m = checked.distance_m
    row.far_from_address = row.far_from_address or checked.far_from_address


def store_signature(
    uow: UnitOfWork, row: DeliveryRow, encoded: str, policy: Policy, now: datetime
) -> None:
    """Keep the receiver's signature (base64, or a data: URL) as the delivery's image."""
    info = check_image(_decode_signature(encoded), max_bytes=policy.max_image_bytes)
    store_image(
        uow,
        row.id,
        purpose="signature",
        content_type=info.content_type,
        data=info.data,
        now=now,
        replacing=row.has_signature,
    )
    row.has_signature = True


def store_image(
    uow: UnitOfWork,
    delivery_id: UUID,
    *,
    purpose: str,
    content_type: str,
    data: bytes,
    now: datetime,
    replacing: bool,
) -> None:
    """Keep a delivery's photo or signature; `replacing` overwrites the one kept before."""
    existing = (
        uow.session.exec(
            select(ProofImageRow).where(
                ProofImageRow.delivery_id == delivery_id, ProofImageRow.purpose == purpose
            )
        ).first()
        if replacing
        else None
    )
    image = existing or ProofImageRow(
        delivery_id=delivery_id, purpose=purpose, content_type=content_type, data=data, taken_at=now
    )
    image.content_type, image.data, image.taken_at = content_type, data, now
    uow.session.add(image)
