"""Which characters a request's text may hold.

Control characters are never data a person typed: a NUL byte is refused by PostgreSQL
(the request would fail with a 500 after validation), and CR/LF in a name or a code ends
up splitting log lines, CSV rows and e-mail headers. So every string of a request body is
checked once (`shared.http.ApiModel`) and a control character is a clear 422. Free text
(a description, a note, a reason, a street) may keep tabs and line breaks: mark its type
with `FREE_TEXT`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, get_args


@dataclass(frozen=True)
class FreeTextMarker:
    """Annotated metadata: this string may hold tabs and line breaks."""


FREE_TEXT = FreeTextMarker()

# C0 controls, DEL and C1 controls; tab, LF and CR are told apart below.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character(value: str, *, free_text: bool) -> str | None:
    """The first character `value` may not hold, shown as `U+0000`, or None."""
    found = (_CONTROL_BUT_LINE_BREAKS if free_text else _CONTROL).search(value)
    return None if found is None else f"U+{ord(found.group()):04X}"


def allows_line_breaks(annotation: Any, metadata: list[Any] | tuple[Any, ...] = ()) -> bool:
    """Whether a field's type (or a type inside its union) is marked `FREE_TEXT`."""
    if any(isinstance(item, FreeTextMarker) for item in metadata):
        return True
    extra = getattr(annotation, "__metadata__", ())
    if any(isinstance(item, FreeTextMarker) for item in extra):
        return True
    return any(allows_line_breaks(arg) for arg in get_args(annotation))


# A spreadsheet reads a cell starting with one of these as a formula (tab and CR too, as
# some import paths strip them first): `=HYPERLINK(...)` or `=cmd|...` in a village name
# would run on the coordinator's machine when the export is opened.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """A text cell for a CSV export: prefixed with `'` when a spreadsheet would read it
    as a formula (OWASP's CSV injection advice); numbers we format ourselves need not."""
    return f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell
