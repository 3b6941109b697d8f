"""Uploaded pictures (incident photos, handover photos, signatures) decoded safely and
stored clean.

Two dangers in a picture a phone sends: a few kilobytes of PNG or JPEG may declare
billions of pixels (a decompression bomb that takes the server's memory when decoded),
and a phone's photo carries EXIF: the GPS position of the reporter's or recipient's
home, the device's make and serial, the time. So the pixel count is checked from the
header before anything is decoded, and what is stored is the picture re-encoded from its
pixels alone (turned upright first, as the EXIF orientation said), with no EXIF, XMP,
ICC profile or text chunks.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

# 40 megapixels: more than a phone's photo at full resolution (12-16 MP, or 48-50 MP
# sensors that save 12 MP by default) or a signature pad's canvas, and at most about
# 160 MB while decoded (RGBA).
DEFAULT_MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
JPEG_QUALITY = 90


class NotAPicture(ValueError):
    """The bytes are not a readable picture of an accepted format."""


class TooManyPixels(ValueError):
    """The picture declares more pixels than may be decoded."""


@dataclass(frozen=True)
class CleanPicture:
    """A picture re-encoded from its pixels: what to store and serve."""

    format: str
    width: int
    height: int
    data: bytes


def clean_picture(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> CleanPicture:
    """The picture in `data` upright and without metadata, in its own format; refuses a
    picture over `max_pixels` before decoding it, and anything that is not a complete
    JPEG, PNG or WebP."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; either is a refusal here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                found = _checked(image, max_pixels)
                return _reencoded(ImageOps.exif_transpose(image), found)
    except (NotAPicture, TooManyPixels):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooManyPixels(f"the picture declares too many pixels ({exc})") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise NotAPicture(f"not a readable picture: {exc}") from exc


def _checked(image: Image.Image, max_pixels: int) -> str:
    """The picture's format, once its format and header size (nothing decoded) pass."""
    found = image.format or ""
    if found not in ACCEPTED_FORMATS:
        raise NotAPicture(f"{found or 'unknown'} pictures are not accepted")
    width, height = image.size
    if width * height > max_pixels:
        raise TooManyPixels(_too_many(width, height, max_pixels))
    return found


def _too_many(width: int, height: int, max_pixels: int) -> str:
    return (
        f"the picture is {width}x{height} pixels ({width * height // 1_000_000} MP); "
        f"at most {max_pixels // 1_000_000} MP are accepted"
    )


def _reencoded(pixels: Image.Image, found: str) -> CleanPicture:
    """`pixels` (a copy of its own: `exif_transpose` always makes one) in `found` format."""
    # Only the pixels are kept: `info` holds EXIF, XMP, ICC and PNG text, which Pillow
    # would otherwise write back for some formats.
    pixels.info = {}
    options: dict[str, Any] = {}
    if found == "JPEG":
        if pixels.mode not in ("RGB", "L", "CMYK"):
            pixels = pixels.convert("RGB")
        options = {"quality": JPEG_QUALITY, "optimize": True}
    elif found == "WEBP":
        options = {"quality": JPEG_QUALITY}
    buffer = io.BytesIO()
    pixels.save(buffer, format=found, **options)
    return CleanPicture(
        format=found, width=pixels.width, height=pixels.height, data=buffer.getvalue()
    )
