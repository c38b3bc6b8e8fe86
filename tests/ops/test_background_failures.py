"""A background failure — a notification receiver down, the MQTT broker lost, a context source that
does not answer — is logged once, saying what to do, and then held back (OncePerMinute, the filter
`toshi serve` puts on its log handler), however often it repeats."""

from __future__ import annotations

import dataclasses
import logging
import socket
import uuid

import pytest
from starlette.testclient import TestClient
from support import free_port, require_mosquitto, wait_until
from tcp_proxy import TcpProxy

from toshi.app import create_app
from toshi.config import Settings
from toshi.ops.logs import OncePerMinute


class Shown(logging.Handler):
    """What a server's log handler (with its filter) would write."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.addFilter(OncePerMinute())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def like(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]


@pytest.fixture
def shown():
    handler = Shown()
    logger = logging.getLogger("toshi")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def test_a_receiver_down_is_logged_once_with_what_to_do(settings, shown):
    fast = dataclasses.replace(settings, notify_backoff=0.05, notify_max_attempts=3, notify_timeout=2.0)
    down = f"http://127.0.0.1:{free_port()}/notify"
    with TestClient(create_app(fast)) as client:
        shelter = {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "occupancy": {"type": "Property", "value": 0}}
        assert client.post("/ngsi-ld/v1/entities", json=shelter).status_code == 201
        subscription = {"type": "Subscription", "entities": [{"type": "Shelter"}],
                        "watchedAttributes": ["occupancy"], "notification": {"endpoint": {"uri": down}}}
        assert client.post("/ngsi-ld/v1/subscriptions", json=subscription).status_code == 201
        for value in range(1, 4):
            assert client.patch("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:1/attrs/occupancy",
                                json={"value": value}).status_code == 204
        # three notifications, three attempts each: nine failures
        assert wait_until(lambda: len(client.get("/admin/notifications/dead-letters").json()) == 3, 30)
    failing = shown.like(f"notifications to {down.removesuffix('/notify')} fail")
    assert len(failing) == 1, shown.lines
    assert "check that the receiver runs and is reachable" in failing[0]
    assert len(shown.like("moved to dead letters")) == 1


def test_a_lost_mqtt_broker_is_logged_once_with_what_to_do(tmp_path, shown):
    require_mosquitto()
    broker = TcpProxy("127.0.0.1", 1883).open()
    settings = Settings(data_dir=str(tmp_path / "town"), iot_mqtt_url=f"mqtt://127.0.0.1:{broker.port}",
                        iot_mqtt_client_id=f"toshi-ops-test-{uuid.uuid4().hex[:8]}")
    try:
        with TestClient(create_app(settings)) as client:
            assert wait_until(lambda: client.get("/health/ready").status_code == 200, 15)
            broker.close()
            agent = client.app.state.iot.agent
            assert wait_until(lambda: not agent.mqtt.connected, 15)
            for _ in range(20):  # a load balancer asking again and again
                assert client.get("/health/ready").status_code == 503
    finally:
        broker.close()
    lost = shown.like("lost the MQTT broker")
    assert len(lost) == 1 and "check that the broker runs and TOSHI_IOT_MQTT_URL" in lost[0]
    assert len(shown.like("not ready: mqtt: not connected")) == 1


def test_a_context_source_that_does_not_answer_is_logged_once(client, shown, monkeypatch):
    monkeypatch.setattr("toshi.ngsiv2.forwarding.FORWARD_TIMEOUT", 0.2)
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        provider = f"http://127.0.0.1:{silent.getsockname()[1]}/v2"
        client.post("/v2/entities", json={"id": "Room1", "type": "Room", "temperature": {"value": 21}})
        registration = {"dataProvided": {"entities": [{"id": "Room1", "type": "Room"}], "attrs": ["humidity"]},
                        "provider": {"http": {"url": provider}}}
        assert client.post("/v2/registrations", json=registration).status_code == 201
        for _ in range(5):
            assert client.get("/v2/entities/Room1?options=keyValues").json() == \
                {"id": "Room1", "type": "Room", "temperature": 21}
    silent_lines = shown.like("did not answer within 0.2 s")
    assert len(silent_lines) == 1, shown.lines
    assert f"context provider {provider}/op/query" in silent_lines[0]
    assert "check that it runs and is reachable from this server, or delete its registration" in silent_lines[0]


def test_an_ngsi_ld_context_source_that_is_down_is_logged_once(client, shown):
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens: every ask is refused
    registration = {"type": "ContextSourceRegistration", "endpoint": down, "mode": "inclusive",
                    "information": [{"entities": [{"type": "Shelter"}]}]}
    assert client.post("/ngsi-ld/v1/csourceRegistrations", json=registration).status_code == 201
    client.post("/ngsi-ld/v1/entities", json={"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter"})
    for _ in range(5):
        answer = client.get("/ngsi-ld/v1/entities?type=Shelter")
        assert [e["id"] for e in answer.json()] == ["urn:ngsi-ld:Shelter:1"]  # the local answer still comes
    lines = shown.like(f"({down})")
    assert len(lines) == 1, shown.lines
    assert "check that it runs and is reachable from this server, or update its registration" in lines[0]
