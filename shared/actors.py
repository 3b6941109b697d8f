"""Who acted on a record: the signed-in user, never a name typed into the request.

Request bodies used to carry `verified_by`, `approved_by`, `released_by` and the like, and
whatever a client wrote there was recorded as the actor: anyone could sign a release as
the head of the office. Those fields are now optional, documented as ignored, and kept
only so that older clients that still send them are not refused; the HTTP layer
overwrites them with the signed-in user's name before a use case sees the body (the
audit trail records the user's subject beside it). Names that describe someone else,
the person a handover was given to (`received_by` of a BAST or a parcel) or the
volunteers who counted a shelf (`counted_by`), stay typed: they are facts about the
world, not the actor.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from shared.auth import Principal

# Changes made through an API served without sign-in rules (some tests) name nobody.
ANONYMOUS = "anonymous"

Body = TypeVar("Body", bound=BaseModel)


def acting_user_name(request: Request) -> str:
    """The display name of the user this request acts for."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal.name if principal is not None else ANONYMOUS


ActingUserName = Annotated[str, Depends(acting_user_name)]


def attributed(body: Body, actor: str, *fields: str) -> Body:
    """`body` with each of `fields` set to `actor`, whatever the client sent in them."""
    return body.model_copy(update=dict.fromkeys(fields, actor))


def ignored_actor_field() -> Any:
    """A request field that once named the actor: accepted for old clients, never used."""
    return Field(
        default="",
        description="Deprecated and ignored: the signed-in user is recorded as the actor.",
        json_schema_extra={"deprecated": True},
    )
