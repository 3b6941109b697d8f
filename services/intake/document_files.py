"""What an uploaded case document must be before it is kept: a PDF that is whole, or a
JPEG or PNG picture (re-encoded without its metadata), under the size limit; and a
multipart form field's text checked as the JSON bodies' are."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import ClassVar

from shared.errors import (
    Oversized,
    Unprocessable,
    UnsupportedFormat,
)
from shared.images import DEFAULT_MAX_PIXELS, NotAPicture, TooManyPixels, clean_picture
from shared.text import control_character

# --- documents: what a file must be -----------------------------------------------------

PDF_MAGIC = b"%PDF-"
# A PDF ends with `%%EOF` (and perhaps a line break or some padding); one cut off by a
# dropped upload does not, and would not open in the auditor's viewer.
PDF_END_WINDOW = 1024
PICTURE_TYPES = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}


class DocumentTooLarge(Oversized):
    """The upload is over INTAKE_DOCUMENT_MAX_BYTES."""

    code: ClassVar[str] = "document_too_large"


class UnsupportedDocument(UnsupportedFormat):
    """The bytes are not a PDF, JPEG or PNG, whatever the name or content type says."""

    code: ClassVar[str] = "unsupported_document"


@dataclass(frozen=True)
class DocumentFacts:
    """An accepted document as it is stored."""

    media_type: str
    extension: str
    sha256: str
    data: bytes


def inspect_document(
    data: bytes,
    max_bytes: int,
    *,
    declared_type: str | None,
    file_name: str | None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> DocumentFacts:
    """Accept a document only if it is small enough and its bytes really are a PDF (by
    its magic bytes and its end), or a JPEG or PNG picture (decoded, and kept re-encoded
    without EXIF: a phone's picture of a letter carries where it was taken)."""
    if len(data) > max_bytes:
        raise DocumentTooLarge(f"the document is over the limit of {max_bytes // 1024} KiB")
    if not data:
        raise Unprocessable("the document file is empty", code="document_empty")
    if data.startswith(PDF_MAGIC):
        if b"%%EOF" not in data[-PDF_END_WINDOW:]:
            raise Unprocessable(
                "the PDF is cut short: it does not end with %%EOF; send the whole file",
                code="pdf_incomplete",
            )
        return _facts("application/pdf", "pdf", data)
    if declared_type == "application/pdf" or (file_name or "").lower().endswith(".pdf"):
        raise UnsupportedDocument(
            "the file is named or declared a PDF but its bytes do not begin with %PDF-",
            code="not_a_pdf",
        )
    try:
        picture = clean_picture(data, max_pixels=max_pixels)
    except TooManyPixels as exc:
        raise Unprocessable(str(exc), code="document_too_many_pixels") from exc
    except NotAPicture as exc:
        raise UnsupportedDocument(f"send a PDF, JPEG or PNG ({exc})") from exc
    if picture.format not in PICTURE_TYPES:
        raise UnsupportedDocument(f"send a PDF, JPEG or PNG, not {picture.format}")
    media_type, extension = PICTURE_TYPES[picture.format]
    return _facts(media_type, extension, picture.data)


def _facts(media_type: str, extension: str, data: bytes) -> DocumentFacts:
    return DocumentFacts(media_type, extension, hashlib.sha256(data).hexdigest(), data)


def plain_text(value: str, field: str) -> str:
    """A form field's text (multipart fields skip the JSON bodies' check), stripped."""
    found = control_character(value, free_text=False)
    if found is not None:
        raise Unprocessable(
            f"control character {found} is not allowed (in {field})", code="control_character"
        )
    return value.strip()
