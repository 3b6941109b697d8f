"""A local HTTP endpoint standing in for an office's webhook receiver (a chat bridge, an
SMS gateway). It records every request it gets, and can be told to answer 500 (or another
status, with a body and headers of the test's choosing, e.g. a redirect) to the first N
requests, or to answer slowly, to see retries and isolation at work."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the receiver saw it, and the status it answered."""

    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    answered: int

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class WebhookReceiver:
    """Handle to the running receiver: its URL, what it got, and its failure switches."""

    def __init__(
        self,
        *,
        fail_first: int = 0,
        delay_s: float = 0.0,
        failure_status: int = 500,
        failure_body: bytes = b'{"ok": false}',
        failure_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.url = ""
        self.fail_first = fail_first
        self.delay_s = delay_s
        self.failure_status = failure_status
        self.failure_body = failure_body
        self.failure_headers = dict(failure_headers or {})
        self._requests: list[ReceivedRequest] = []
        self._started = 0
        self._lock = threading.Lock()
        self.released = threading.Event()

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every answered request, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def started(self) -> int:
        """Requests that arrived, including those still waiting to be answered."""
        with self._lock:
            return self._started

    def delivered(self) -> list[ReceivedRequest]:
        """The requests it accepted (answered 2xx)."""
        return [r for r in self.requests if 200 <= r.answered < 300]

    def _arrived(self) -> int:
        with self._lock:
            self._started += 1
            return self._started

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self._requests.append(request)


@contextmanager
def webhook_receiver(
    *,
    fail_first: int = 0,
    delay_s: float = 0.0,
    failure_status: int = 500,
    failure_body: bytes = b'{"ok": false}',
    failure_headers: Mapping[str, str] | None = None,
) -> Iterator[WebhookReceiver]:
    """Run a receiver on a free port for the duration of the block; the first `fail_first`
    requests are answered `failure_status` with `failure_body` and `failure_headers`."""
    state = WebhookReceiver(
        fail_first=fail_first,
        delay_s=delay_s,
        failure_status=failure_status,
        failure_body=failure_body,
        failure_headers=failure_headers,
    )

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's naming
            number = state._arrived()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if state.delay_s:
                # Released early when the test ends, so no thread outlives it for long.
                state.released.wait(state.delay_s)
            failing = number <= state.fail_first
            status = state.failure_status if failing else 200
            headers = {name.lower(): value for name, value in self.headers.items()}
            state._record(
                ReceivedRequest(path=self.path, headers=headers, body=body, answered=status)
            )
            answer = state.failure_body if failing else b'{"ok": true}'
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                for name, value in (state.failure_headers if failing else {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer)
            except OSError:
                return  # the client gave up waiting (a timeout under test)

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/dinsos"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.released.set()
        server.shutdown()
        server.server_close()
