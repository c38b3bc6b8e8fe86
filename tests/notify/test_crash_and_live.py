"""Against a real server process: notifications survive kill -9; the live stream of changes."""

from __future__ import annotations

import json
import threading

import httpx
from support import Receiver


def test_notification_delivered_after_kill_9(server):
    receiver = Receiver()
    url = receiver.url
    receiver.close()  # nobody listens: the notification cannot be delivered before the crash
    with httpx.Client(base_url=server.url, timeout=10) as http:
        http.post("/ngsi-ld/v1/entities", json={"id": "urn:ngsi-ld:River:1", "type": "River",
                                                "level": {"type": "Property", "value": 1.0}})
        subscription = {"type": "Subscription", "entities": [{"type": "River"}], "watchedAttributes": ["level"],
                        "notification": {"endpoint": {"uri": url, "accept": "application/json"}}}
        assert http.post("/ngsi-ld/v1/subscriptions", json=subscription).status_code == 201
        assert http.patch("/ngsi-ld/v1/entities/urn:ngsi-ld:River:1/attrs/level",
                          json={"value": 3.5}).status_code == 204
    server.kill()
    port = int(url.split(":")[2].split("/")[0])
    revived = Receiver.on_port(port)
    try:
        server.start()
        [request] = revived.wait_for(1, timeout=20)
        assert request["body"]["data"][0]["level"]["value"] == 3.5
    finally:
        revived.close()


def test_live_stream_sends_matching_changes(server):
    events: list[dict] = []
    ready = threading.Event()

    def listen():
        with httpx.stream("GET", server.url + "/ngsi-ld/v1/live/entities", params={"type": "Bus"},
                          timeout=20) as response:
            for line in response.iter_lines():
                if line.startswith(": connected"):
                    ready.set()
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    if len(events) == 2:
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(10)
    with httpx.Client(base_url=server.url, timeout=10) as http:
        http.post("/ngsi-ld/v1/entities", json={"id": "urn:ngsi-ld:Stop:1", "type": "BusStop"})
        http.post("/ngsi-ld/v1/entities", json={"id": "urn:ngsi-ld:Bus:1", "type": "Bus",
                                                "speed": {"type": "Property", "value": 30}})
        http.patch("/ngsi-ld/v1/entities/urn:ngsi-ld:Bus:1/attrs/speed", json={"value": 35})
    thread.join(10)
    assert [e["operation"] for e in events] == ["created", "updated"]
    assert events[1]["entity"]["speed"]["value"] == 35
