"""Constants and small helpers shared by the test suites."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
LD = {"Content-Type": "application/ld+json"}


NGSI = "https://uri.etsi.org/ngsi-ld/"
VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
TERMS = {name: NGSI + name for name in ("location", "observationSpace", "operationSpace")}
INVERSE = {iri: term for term, iri in TERMS.items()}


class TermContext:
    """Test double for toshi.jsonld.context.ActiveContext: a few core terms, @vocab for the rest."""

    def expand_term(self, term: str) -> str:
        if ":" in term:
            return term
        return TERMS.get(term, VOCAB + term)

    def compact_iri(self, iri: str) -> str:
        return INVERSE.get(iri) or iri.removeprefix(VOCAB)

    expand_value = expand_term
    compact_value = compact_iri


def error_type(response) -> str:
    return response.json()["type"].removeprefix(ERRORS)


def free_port() -> int:
    """A TCP port nobody listens on, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """A real HTTP notification receiver on 127.0.0.1: records every POST; can fail on purpose."""

    def __init__(self, fail_first: int = 0, status: int = 200, port: int = 0):
        self.requests: list[dict] = []
        self.fail_first = fail_first
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                failing = receiver.fail_first > 0
                if failing:
                    receiver.fail_first -= 1
                else:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                              "body": json.loads(body)})
                self.send_response(500 if failing else receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @classmethod
    def on_port(cls, port: int) -> "Receiver":
        return cls(port=port)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.requests

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def require_mosquitto() -> None:
    """Skip when Mosquitto is not on 127.0.0.1:1883 — except in CI, where it must be there."""
    import os
    import socket

    import pytest

    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
    except OSError:
        if os.environ.get("CI"):
            pytest.fail("Mosquitto must run on 127.0.0.1:1883 in CI")
        pytest.skip("Mosquitto is not running on 127.0.0.1:1883")


class FixedAnswer:
    """A real HTTP server on 127.0.0.1 answering every GET and POST with one body (a device's command
    endpoint, an identity provider's JWKS...); `bodies` are the request bodies it received."""

    def __init__(self, body: bytes, content_type: str = "application/json"):
        self.bodies: list[bytes] = []
        answer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802
                answer.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                self.do_GET()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
