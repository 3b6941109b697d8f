"""What is kept of an uploaded picture: its pixels, upright, in its own format; never its
metadata, and nothing is decoded past the pixel limit."""

from __future__ import annotations

import io

import pytest
from PIL import Image, PngImagePlugin

from shared.images import NotAPicture, TooManyPixels, clean_picture
from tests.support.pictures import GPS_IFD, MAKE, metadata_of, png_declaring


def with_metadata(fmt: str) -> bytes:
    exif = Image.Exif()
    exif[MAKE] = "Xiaomi"
    exif[GPS_IFD] = {1: "S", 2: (0.0, 25.0, 12.5)}
    options: dict[str, object] = {"exif": exif, "icc_profile": b"Xiaomi-icc" * 20}
    if fmt == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", "rumah Pak Budi, RT 05")
        options["pnginfo"] = text
    buffer = io.BytesIO()
    Image.new("RGBA" if fmt == "PNG" else "RGB", (30, 10), (9, 9, 9)).save(
        buffer, format=fmt, **options
    )
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_every_format_is_kept_in_its_own_format_without_any_metadata(fmt: str) -> None:
    original = with_metadata(fmt)
    assert metadata_of(original)[0]  # the test picture does carry EXIF

    cleaned = clean_picture(original)

    exif, carried, size = metadata_of(cleaned.data)
    assert (cleaned.format, size, exif, carried) == (fmt, (30, 10), {}, set())
    assert b"Xiaomi" not in cleaned.data and b"Pak Budi" not in cleaned.data


def test_a_picture_over_the_pixel_limit_is_refused_from_its_header() -> None:
    with pytest.raises(TooManyPixels) as refused:
        clean_picture(png_declaring(4_000, 3_000), max_pixels=10_000_000)
    assert "12 MP" in str(refused.value)


def test_a_gif_is_not_a_picture_we_keep() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="GIF")
    with pytest.raises(NotAPicture):
        clean_picture(buffer.getvalue())
