"""A local server speaking Nominatim's search protocol, standing in for the public
geocoder (not reachable from CI). It answers from a fixed gazetteer, and can be told to
fail, to see that a geocoder outage never costs a report."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# Real places in Kutai Kartanegara, by the village name a report would give.
GAZETTEER = {
    "loa janan ilir": (-0.5290, 117.0950, "Loa Janan Ilir, Samarinda Seberang, Samarinda"),
    "sukarame": (-0.4230, 116.9860, "Sukarame, Tenggarong, Kutai Kartanegara"),
    "melayu": (-0.4120, 116.9900, "Melayu, Tenggarong, Kutai Kartanegara"),
}


class NominatimStandIn:
    """Handle to the running server: its URL, the queries it saw, and a failure switch."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.failing = False
        self.url = ""


@contextmanager
def nominatim_server() -> Iterator[NominatimStandIn]:
    """Run the stand-in on a free port for the duration of the block."""
    state = NominatimStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = parse_qs(parts.query)
            if parts.path != "/search" or params.get("format") != ["json"]:
                self.send_error(400, "expected /search?format=json")
                return
            query = params.get("q", [""])[0]
            state.queries.append(query)
            if state.failing:
                self.send_error(503, "Service Unavailable")
                return
            village = query.split(",")[0].strip().lower()
            hits = []
            if village in GAZETTEER:
                lat, lon, name = GAZETTEER[village]
                hits.append(
                    {
                        "lat": str(lat),
                        "lon": str(lon),
                        "display_name": name,
                        "place_id": 1,
                        "importance": 0.5,
                    }
                )
            body = json.dumps(hits).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
