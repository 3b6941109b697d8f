"""A case's records as tests make them: the leadership's disposition on a report, as a
coordinator enters it (what an office whose standard puts it before validation, Kukar,
000: "Disposisi pimpinan dan validasi informasi", needs before it verifies: tests that
verify a Kukar report record one first), and a letter as a PDF."""

from __future__ import annotations

from typing import Any, Protocol

# A small, complete PDF: the header, one empty page, the trailer and %%EOF.
LETTER_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

# "Kepala Dinas mendisposisi ke Bidang Linjamsos untuk memvalidasi informasi dan
# menyiapkan logistik sesuai kebutuhan" (000).
DISPOSITION = {
    "given_by": "Drs. H. Hamly",
    "position": "Kepala Dinas Sosial",
    "instruction": "Kabid Linjamsos: validasi informasi dan siapkan logistik sesuai kebutuhan.",
}


class Poster(Protocol):
    """A client that posts JSON (TestClient, httpx.Client)."""

    def post(self, url: str, *, json: Any = ..., headers: Any = ...) -> Any: ...


def record_disposition(
    client: Poster, incident: str, headers: dict[str, str] | None = None, *, base: str = ""
) -> None:
    """Record the Kepala Dinas's disposition on `incident` (201 or the test fails)."""
    answer = client.post(
        f"{base}/incidents/{incident}/dispositions", json=DISPOSITION, headers=headers or {}
    )
    assert answer.status_code == 201, answer.text
