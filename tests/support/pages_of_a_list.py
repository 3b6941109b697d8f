"""Walking a paged JSON list (`shared.paging`) over HTTP the way a client does: follow
`Link: rel="next"` until there is none."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def every_page(client: TestClient, url: str, **request: Any) -> list[list[dict[str, Any]]]:
    """Each page's items, from `url` through every `rel="next"` link (followed as given,
    so the link itself is what is tested)."""
    pages: list[list[dict[str, Any]]] = []
    next_url: str | None = url
    while next_url is not None:
        answer = client.get(next_url, **request)
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        link = answer.headers.get("link")
        next_url = None
        if link is not None:
            assert link.endswith('>; rel="next"'), link
            next_url = link[1 : -len('>; rel="next"')]
        assert len(pages) < 100, "the list never ends: a cursor repeats a page"
    return pages
