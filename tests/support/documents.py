"""Reading back the papers the services print: a PDF's text as a reader extracts it."""

from __future__ import annotations

import io

from pypdf import PdfReader
from pypdf.generic import DictionaryObject


def pdf_text(content: bytes) -> str:
    """Every page's text, as a PDF reader (and a search in it) sees it."""
    assert content.startswith(b"%PDF-"), content[:20]
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def pdf_fonts(content: bytes) -> set[str]:
    """The base names of the fonts a PDF's pages use (a subset's prefix dropped)."""
    names: set[str] = set()
    for page in PdfReader(io.BytesIO(content)).pages:
        resources = page["/Resources"].get_object()
        assert isinstance(resources, DictionaryObject)
        fonts = resources["/Font"].get_object()
        assert isinstance(fonts, DictionaryObject)
        for font in fonts.values():
            described = font.get_object()
            assert isinstance(described, DictionaryObject)
            names.add(str(described["/BaseFont"]).split("+")[-1])
    return names
