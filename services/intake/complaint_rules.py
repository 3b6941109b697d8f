"""The rules of a complaint, pure: its states and what each allows, the lookup code the
complainant follows it with (drawn, typed back, shown), the time it was received, and
a contact masked for showing."""

from __future__ import annotations

import enum
import re
import secrets
from datetime import datetime, timedelta

from shared.errors import Conflict, Unprocessable
from shared.privacy import mask_phone

# --- rules (pure) -----------------------------------------------------------------------


class ComplaintStatus(enum.StrEnum):
    """Where a complaint stands."""

    RECEIVED = "received"
    IN_HANDLING = "in_handling"
    ANSWERED = "answered"
    CLOSED = "closed"


OPEN_STATUSES = (ComplaintStatus.RECEIVED, ComplaintStatus.IN_HANDLING)

# Digits and capitals a person reads off paper or a phone and types back without doubt:
# no 0/O, 1/I/L, and no U (read as V). 30 symbols, 10 of them: 30^10 ≈ 5.9e14 codes
# (49 bits), so guessing one of even a million complaints takes ~10^8 tries on average,
# and the public page allows a client 10 wrong ones per 15 minutes.
LOOKUP_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LOOKUP_LENGTH = 10
_TYPED_SEPARATORS = re.compile(r"[\s\-.]")


def new_lookup_code() -> str:
    """A fresh lookup code from a cryptographic source, e.g. 'K7QM2XR9TD'."""
    return "".join(secrets.choice(LOOKUP_ALPHABET) for _ in range(LOOKUP_LENGTH))


def normalised_lookup_code(typed: str) -> str | None:
    """The code as stored from what someone typed (any case, with spaces or dashes), or
    None when it cannot be a code at all."""
    code = _TYPED_SEPARATORS.sub("", typed).upper()
    if len(code) != LOOKUP_LENGTH or any(symbol not in LOOKUP_ALPHABET for symbol in code):
        return None
    return code


def shown_lookup_code(code: str) -> str:
    """The code as printed for the complainant: two groups of five, 'K7QM2-XR9TD'."""
    half = LOOKUP_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def status_after_note(status: ComplaintStatus) -> ComplaintStatus:
    """A handling note takes a received complaint into handling; a closed one takes none."""
    if status is ComplaintStatus.CLOSED:
        raise Conflict("the complaint is closed: nothing more is added", code="complaint_closed")
    return ComplaintStatus.IN_HANDLING if status is ComplaintStatus.RECEIVED else status


def check_answerable(status: ComplaintStatus) -> None:
    """Only an open complaint is answered (once: the answer is what the complainant read)."""
    if status is ComplaintStatus.CLOSED:
        raise Conflict("the complaint is closed", code="complaint_closed")
    if status is ComplaintStatus.ANSWERED:
        raise Conflict("the complaint was answered already", code="complaint_already_answered")


def check_closable(status: ComplaintStatus) -> None:
    """Only an answered complaint is closed: the complainant must have had an answer."""
    if status is ComplaintStatus.CLOSED:
        raise Conflict("the complaint is closed already", code="complaint_closed")
    if status is not ComplaintStatus.ANSWERED:
        raise Conflict(
            "an unanswered complaint cannot be closed: answer it first",
            code="complaint_not_answered",
        )


# A complaint written down after it arrived (the complaint box is opened weekly, a
# WhatsApp message read the next morning) keeps its own arrival time, within limits.
CLOCK_DRIFT = timedelta(minutes=15)
OLDEST_RECEIVED = timedelta(days=30)


def check_received_at(received_at: datetime, now: datetime) -> None:
    """When the office received it: not in the future, not more than 30 days ago."""
    if received_at > now + CLOCK_DRIFT:
        raise Unprocessable("received_at lies in the future", code="received_in_future")
    if received_at < now - OLDEST_RECEIVED:
        raise Unprocessable(
            "received_at is more than 30 days ago: record it with the day it is written down",
            code="received_too_long_ago",
        )


_EMAIL = re.compile(r"^([^@\s]+)@([^@\s]+\.[^@\s]+)$")


def masked_contact(contact: str) -> str:
    """A contact as shown on screens and in answers: a phone as '0812******90', an e-mail
    as 'bu****@mail.com', a handle as '@li******'."""
    email = _EMAIL.match(contact)
    if email is not None:
        local = email.group(1)
        return f"{local[:2]}{'*' * max(1, len(local) - 2)}@{email.group(2)}"
    if contact.startswith("@"):
        return contact[:3] + "*" * max(1, len(contact) - 3)
    return mask_phone(contact)
