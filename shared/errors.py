"""The refusals every service's rules raise: a machine code and a detail for a person,
nothing about HTTP. Standard library only, so a pure `domain.py` can raise them without
importing a web framework or a database driver.

`shared.http` answers each kind with its status (one table, `ERROR_STATUS`), and the
consume pipeline (`shared.kafka.consume_one`) dead-letters an event refused with one at
once, with `code` as the dead-letter reason: a refusal is an answer, not a crash, and
trying again cannot change it.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """An expected refusal from a rule or a use case; subclasses name the kind of refusal
    (unknown id, clash with the current state, broken rule, ...) and its default `code`."""

    code: ClassVar[str] = "domain_error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.error_code = code or type(self).code


class NotFound(DomainError):
    """The id names nothing this service holds (or nothing the caller's office may see)."""

    code = "not_found"


class Forbidden(DomainError):
    """The caller is known, but their role may not do this."""

    code = "forbidden"


class Conflict(DomainError):
    """The request is valid but clashes with the current state."""

    code = "conflict"


class Unprocessable(DomainError):
    """The request is well-formed but breaks a domain rule."""

    code = "unprocessable"


class Oversized(DomainError):
    """A file (or its rows) is larger than the service takes."""

    code = "too_large"


class UnsupportedFormat(DomainError):
    """The bytes are not of a kind the service reads, whatever their name says."""

    code = "unsupported_format"


class LimitReached(DomainError):
    """The caller used up an allowance (reveals of personal numbers per day, ...)."""

    code = "limit_reached"


class PermanentEventError(DomainError):
    """A well-formed event this service can never apply (unknown case, another office's
    lot), refused with a `reason` of its own: the consume pipeline dead-letters it with
    that reason, as it does any other `DomainError` met while applying an event."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail, code=reason)
        self.reason = reason
