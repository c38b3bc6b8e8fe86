"""A real local HTTP server serving Smart-Data-Models-like @context documents (and broken ones)."""

from __future__ import annotations

import collections
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

SDM_CONTEXT = {
    "@context": {
        "ngsi-ld": "https://uri.etsi.org/ngsi-ld/",
        "schema": "https://schema.org/",
        "fiware": "https://uri.fiware.org/ns/dataModels#",
        "id": "@id",
        "type": "@type",
        "location": "https://uri.etsi.org/ngsi-ld/location",
        "description": "https://uri.etsi.org/ngsi-ld/description",
        "name": "https://smartdatamodels.org/name",
        "address": "https://smartdatamodels.org/address",
        "alternateName": "https://smartdatamodels.org/alternateName",
        "OffStreetParking": "https://smartdatamodels.org/dataModel.Parking/OffStreetParking",
        "availableSpotNumber": "https://smartdatamodels.org/dataModel.Parking/availableSpotNumber",
        "totalSpotNumber": "https://smartdatamodels.org/dataModel.Parking/totalSpotNumber",
        "category": {"@id": "https://smartdatamodels.org/dataModel.Parking/category", "@type": "@vocab"},
        "free": "https://smartdatamodels.org/dataModel.Parking/free",
        "refParkingSite": {
            "@id": "https://smartdatamodels.org/dataModel.Parking/refParkingSite",
            "@type": "@id",
        },
        "dateObserved": {"@id": "https://smartdatamodels.org/dateObserved", "@type": "DateTime"},
    }
}

DOCUMENTS: dict[str, tuple[int, bytes, float]] = {
    # path -> (status, body, delay in seconds)
    "/sdm/context.jsonld": (200, json.dumps(SDM_CONTEXT).encode(), 0.0),
    "/nested.jsonld": (
        200,
        json.dumps({"@context": ["sdm/context.jsonld", {"extra": "https://example.org/extra"}]}).encode(),
        0.0,
    ),
    "/vocab.jsonld": (200, json.dumps({"@context": {"@vocab": "https://example.org/vocab#"}}).encode(), 0.0),
    "/slowish.jsonld": (
        200,
        json.dumps({"@context": {"slowish": "https://example.org/slowish"}}).encode(),
        0.3,
    ),
    "/slow.jsonld": (200, json.dumps({"@context": {}}).encode(), 3.0),
    "/invalid.json": (200, b"{ this is not json", 0.0),
    "/nocontext.json": (200, b'{"terms": {"a": "https://example.org/a"}}', 0.0),
    "/array.json": (200, b"[1, 2, 3]", 0.0),
    "/badterm.jsonld": (200, b'{"@context": {"broken": 5}}', 0.0),
    "/big.jsonld": (
        200,
        json.dumps({"@context": {f"t{i}": f"https://example.org/{i}" for i in range(5000)}}).encode(),
        0.0,
    ),
}


class ContextServer:
    def __init__(self) -> None:
        self.hits: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self.documents = dict(DOCUMENTS)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.hits[self.path] += 1
                status, body, delay = server.documents.get(urlsplit(self.path).path, (404, b"not found", 0.0))
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/ld+json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str, fresh: bool = True) -> str:
        """URL of a served document; `fresh` adds a unique query so each test counts its own hits."""
        return f"{self.base}{path}?t={uuid.uuid4().hex}" if fresh else f"{self.base}{path}"

    def hits_for(self, url: str) -> int:
        with self._lock:
            return self.hits[url[len(self.base) :]]


@pytest.fixture(scope="session")
def context_server() -> Iterator[ContextServer]:
    server = ContextServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def unreachable_url() -> str:
    """A URL on a local port nobody listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/context.jsonld"
