"""Hostile and revealing pictures for upload tests: a decompression bomb (a tiny PNG that
declares a huge canvas) and a phone photo with EXIF (GPS position, device, orientation)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

# EXIF tags: where they live and what they are called in the standard.
MAKE, MODEL, ORIENTATION, GPS_IFD = 0x010F, 0x0110, 0x0112, 0x8825
ROTATED_90_CLOCKWISE = 6


def png_declaring(width: int, height: int) -> bytes:
    """A well-formed PNG of a few dozen bytes whose header declares `width` x `height`."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def phone_photo(size: tuple[int, int] = (40, 20)) -> bytes:
    """A JPEG as a phone takes it: EXIF with the home's GPS position, the phone's make
    and model, and an orientation saying the pixels are to be turned 90 degrees."""
    exif = Image.Exif()
    exif[MAKE], exif[MODEL] = "Samsung", "SM-A145F serial 35-209900-176148-1"
    exif[ORIENTATION] = ROTATED_90_CLOCKWISE
    exif[GPS_IFD] = {1: "S", 2: (0.0, 25.0, 12.5), 3: "E", 4: (116.0, 59.0, 30.0)}
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 60)).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def metadata_of(data: bytes) -> tuple[dict[int, object], set[str], tuple[int, int]]:
    """What a stored picture still says about itself: its EXIF tags (GPS is one of them),
    the other metadata it carries (XMP, ICC profile, EXIF blob, text), and its size."""
    with Image.open(io.BytesIO(data)) as image:
        carried = {key for key in image.info if key in {"exif", "xmp", "icc_profile", "comment"}}
        return dict(image.getexif()), carried, image.size
