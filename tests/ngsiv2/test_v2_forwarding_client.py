"""Forwarding to NGSI-v2 context providers goes through one HTTP client of the ngsiv2 feature: its
connections to a provider are kept alive and reused from request to request, and it is closed when the
app stops."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app

HUMIDITY = [{"id": "Room1", "type": "Room", "humidity": {"type": "Number", "value": 40, "metadata": {}}}]


class KeepAliveProvider:
    """A context provider on 127.0.0.1 speaking HTTP/1.1 with keep-alive: answers every op/query with
    HUMIDITY and records the client address (host, port) of each request."""

    def __init__(self):
        self.peers: list[tuple[str, int]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                provider.peers.append(self.client_address)
                body = json.dumps(HUMIDITY).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v2"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider():
    p = KeepAliveProvider()
    yield p
    p.close()


def register(client, url: str) -> None:
    response = client.post("/v2/registrations", json={
        "dataProvided": {"entities": [{"id": "Room1", "type": "Room"}], "attrs": ["humidity"]},
        "provider": {"http": {"url": url}}})
    assert response.status_code == 201, response.text


def test_forwarded_queries_reuse_one_connection(client, provider):
    register(client, provider.url)
    for _ in range(2):
        assert client.get("/v2/entities/Room1?options=keyValues").json() == {"id": "Room1", "type": "Room",
                                                                            "humidity": 40}
    assert len(provider.peers) == 2 and provider.peers[0] == provider.peers[1]


def test_the_forwarding_client_is_closed_when_the_app_stops(settings):
    app = create_app(settings)
    with TestClient(app):
        forwarding = app.state.ngsiv2.http_client()
        assert not forwarding.is_closed
    assert forwarding.is_closed


def test_an_attribute_only_a_provider_has_is_forwarded(client, provider):
    register(client, provider.url)
    assert client.get("/v2/entities/Room1/attrs/humidity").json() == {"type": "Number", "value": 40, "metadata": {}}
    assert client.get("/v2/entities/Room1/attrs/humidity/value", headers={"Accept": "text/plain"}).text == "40"


def test_skip_forwarding_answers_an_attribute_from_local_data_only(client, provider):
    register(client, provider.url)
    response = client.get("/v2/entities/Room1/attrs/humidity?options=skipForwarding")
    assert (response.status_code, response.json()["error"]) == (404, "NotFound")
    assert provider.peers == []
