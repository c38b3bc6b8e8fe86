"""`toshi serve --workers 2` on PostgreSQL: two processes serve the same data.

Concurrent updates of one entity all persist, each change is notified once per subscription (not
once per worker), temporal history holds every point, and killing a worker with SIGKILL under load
loses no acknowledged write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from support import PgSchema, Receiver, ServerProcess, require_mosquitto, require_postgres, wait_until

ENTITIES = "/ngsi-ld/v1/entities"
JSON = {"Content-Type": "application/json"}
ENTITY = "urn:ngsi-ld:Shelter:w1"


@pytest.fixture
def cluster(tmp_path: Path):
    require_postgres()
    schema = PgSchema()
    server = ServerProcess(tmp_path / "data", "--workers", "2", "--database-url", schema.url).start()
    wait_until(lambda: len(workers(server)) == 2)
    yield server
    server.stop()
    schema.drop()


def workers(server: ServerProcess) -> list[int]:
    """The live worker processes under the server's supervisor (not multiprocessing's resource
    tracker, not a killed worker nobody has reaped yet)."""
    pid = server.proc.pid
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = []
    for child in children.read_text().split() if children.exists() else []:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            continue
        if b"spawn_main" in command and state != "Z":
            found.append(int(child))
    return found


def fresh_connection_each_time(url: str, method: str, path: str, **kwargs) -> httpx.Response:
    """A new connection per request, so the kernel spreads requests over both workers."""
    with httpx.Client(base_url=url, timeout=10) as client:
        return client.request(method, path, **kwargs)


def test_concurrent_updates_of_different_attributes_of_one_entity_all_persist(cluster):
    created = httpx.post(cluster.url + ENTITIES, headers=JSON,
                         json={"id": ENTITY, "type": "Shelter", "occupancy": {"type": "Property", "value": 0}})
    assert created.status_code == 201

    def update(n: int) -> int:
        return fresh_connection_each_time(cluster.url, "POST", f"{ENTITIES}/{ENTITY}/attrs", headers=JSON,
                                          json={f"a{n}": {"type": "Property", "value": n}}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(update, range(60)))
    assert codes == [204] * 60
    entity = httpx.get(f"{cluster.url}{ENTITIES}/{ENTITY}", params={"options": "keyValues"}).json()
    assert {f"a{n}": n for n in range(60)}.items() <= entity.items()

    def bump(n: int) -> int:  # the same attribute: every value lands in the history, in some order
        return fresh_connection_each_time(cluster.url, "PATCH", f"{ENTITIES}/{ENTITY}/attrs/occupancy",
                                          headers=JSON, json={"value": n}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(bump, range(1, 41))) == {204}
    history = httpx.get(f"{cluster.url}/ngsi-ld/v1/temporal/entities/{ENTITY}",
                        params={"attrs": "occupancy", "options": "temporalValues", "lastN": 100,
                                "timeproperty": "modifiedAt"}).json()
    assert sorted(value for value, _ in history["occupancy"]["values"]) == list(range(41))


def test_each_change_is_notified_once_per_subscription_not_once_per_worker(cluster):
    receiver = Receiver()
    try:
        created = httpx.post(cluster.url + "/ngsi-ld/v1/subscriptions", headers=JSON, json={
            "id": "urn:ngsi-ld:Subscription:w", "type": "Subscription", "entities": [{"type": "Shelter"}],
            "notification": {"endpoint": {"uri": receiver.url}}})
        assert created.status_code == 201
        time.sleep(1.0)  # the other worker hears of the subscription

        def create(n: int) -> int:
            return fresh_connection_each_time(cluster.url, "POST", ENTITIES, headers=JSON, json={
                "id": f"urn:ngsi-ld:Shelter:n{n}", "type": "Shelter",
                "occupancy": {"type": "Property", "value": n}}).status_code

        with ThreadPoolExecutor(6) as pool:
            assert set(pool.map(create, range(50))) == {201}
        receiver.wait_for(50, timeout=20)
        time.sleep(1.5)  # a second worker delivering too would show up by now
        notified = [e["id"] for r in receiver.requests for e in r["body"]["data"]]
        assert sorted(notified) == sorted(f"urn:ngsi-ld:Shelter:n{n}" for n in range(50))
        ids = [r["body"]["id"] for r in receiver.requests]
        assert len(ids) == len(set(ids))
    finally:
        receiver.close()


def test_killing_a_worker_under_load_loses_no_acknowledged_write(cluster):
    acknowledged: list[str] = []
    stop = threading.Event()

    def load(thread: int) -> None:
        n = 0
        while not stop.is_set():
            entity_id = f"urn:ngsi-ld:Shelter:k{thread}-{n}"
            try:
                response = fresh_connection_each_time(cluster.url, "POST", ENTITIES, headers=JSON, json={
                    "id": entity_id, "type": "Shelter", "occupancy": {"type": "Property", "value": n}})
                if response.status_code == 201:
                    acknowledged.append(entity_id)
            except httpx.TransportError:
                pass  # the killed worker's connections: not acknowledged
            n += 1

    threads = [threading.Thread(target=load, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    assert wait_until(lambda: len(acknowledged) > 25, timeout=30)  # under load: by progress, not the clock
    victim = workers(cluster)[0]
    os.kill(victim, signal.SIGKILL)
    killed_at = len(acknowledged)
    assert wait_until(lambda: len(acknowledged) > killed_at + 25, timeout=30)  # the survivor takes the load
    stop.set()
    for thread in threads:
        thread.join(15)
    assert len(acknowledged) > 50
    assert wait_until(lambda: len(workers(cluster)) == 2 and victim not in workers(cluster), timeout=15)
    count = httpx.get(cluster.url + ENTITIES, params={"type": "Shelter", "count": "true", "limit": 1})
    assert int(count.headers["NGSILD-Results-Count"]) >= len(acknowledged)
    for entity_id in acknowledged:
        assert httpx.get(f"{cluster.url}{ENTITIES}/{entity_id}").status_code == 200, entity_id


def test_a_key_revoked_through_one_worker_is_refused_by_every_worker(tmp_path):
    require_postgres()
    schema = PgSchema()
    server = ServerProcess(tmp_path / "data", "--workers", "2", "--database-url", schema.url, "--auth").start()
    try:
        wait_until(lambda: len(workers(server)) == 2)
        admin_token = subprocess.run(
            [sys.executable, "-m", "toshi.cli", "token", "create", "--sub", "root", "--role", "*:admin",
             "--data-dir", str(tmp_path / "data"), "--database-url", schema.url],
            capture_output=True, text=True, check=True).stdout.strip()
        admin = {"Authorization": f"Bearer {admin_token}"}
        made = httpx.post(server.url + "/admin/auth/accounts", headers=admin,
                          json={"name": "app", "roles": ["default:consumer"]})
        assert made.status_code == 201, made.text
        key = {"Authorization": f"Bearer {made.json()['apiKey']}"}

        def codes() -> set[int]:  # through both workers, each caching the key's principal
            return {fresh_connection_each_time(server.url, "GET", "/ngsi-ld/v1/types", headers=key).status_code
                    for _ in range(16)}

        assert codes() == {200}
        revoked = httpx.delete(f"{server.url}/admin/auth/keys/{made.json()['key']['id']}", headers=admin)
        assert revoked.status_code == 204
        assert wait_until(lambda: codes() == {401}, timeout=5)
    finally:
        server.stop()
        schema.drop()


def test_one_worker_takes_the_iot_mqtt_measures_and_another_takes_over_when_it_dies(tmp_path, monkeypatch):
    require_postgres()
    require_mosquitto()
    from iot.mqtt_support import Device, forget_session

    client_id = f"toshi-w-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("TOSHI_IOT_MQTT_URL", "mqtt://127.0.0.1:1883")
    monkeypatch.setenv("TOSHI_IOT_MQTT_CLIENT_ID", client_id)
    monkeypatch.setenv("TOSHI_IOT_DEVICE_RATE", "0")  # the device sends faster than the default 50/s allows
    schema = PgSchema()
    server = ServerProcess(tmp_path / "data", "--workers", "2", "--database-url", schema.url).start()
    device = None
    try:
        status = lambda: httpx.get(server.url + "/admin/iot/status").json()["mqtt"]  # noqa: E731
        assert wait_until(lambda: len(workers(server)) == 2 and status()["connected"], timeout=15)
        key, h = f"k{uuid.uuid4().hex[:8]}", {"Fiware-Service": "city", "Fiware-ServicePath": "/"}
        r = httpx.post(server.url + "/iot/services", headers=h, json={"services": [{
            "apikey": key, "resource": "/iot/d", "entity_type": "Meter",
            "attributes": [{"object_id": "n", "name": "count", "type": "Integer"}]}]})
        assert r.status_code == 201, r.text
        r = httpx.post(server.url + "/iot/devices", headers=h, json={"devices": [
            {"device_id": "m1", "protocol": "IoTA-UL", "transport": "MQTT"}]})
        assert r.status_code == 201, r.text
        time.sleep(1.5)  # one worker holds the intake
        device = Device()

        def counts() -> list[int]:
            history = httpx.get(f"{server.url}/ngsi-ld/v1/temporal/entities/Meter:m1",
                                headers={"NGSILD-Tenant": "city"},
                                params={"attrs": "count", "options": "temporalValues", "lastN": 1000},
                                timeout=30)  # the surviving worker may be busy with the queued measures
            return sorted(v for v, _ in history.json().get("count", {}).get("values", [])) \
                if history.status_code == 200 else []

        for n in range(200):
            device.publish(f"/{key}/m1/attrs", f"n|{n}", qos=1)
        assert wait_until(lambda: len(counts()) >= 200, timeout=20), len(counts())
        for round_, victim in enumerate(workers(server)):  # each original worker dies: the intake moves at least once
            os.kill(victim, signal.SIGKILL)
            for n in range(200 + 50 * round_, 250 + 50 * round_):  # QoS 1: kept by the broker for the session
                device.publish(f"/{key}/m1/attrs", f"n|{n}", qos=1)
            assert wait_until(lambda v=victim: len(workers(server)) == 2 and v not in workers(server), timeout=15)
        assert wait_until(lambda: len(counts()) >= 300, timeout=30), len(counts())
        time.sleep(0.5)
        assert counts() == list(range(300))  # every measure once: none lost, none taken twice
    finally:
        if device is not None:
            device.close()
        server.stop()
        schema.drop()
        forget_session(client_id)
