"""/health/live, /health/ready (store, schema, MQTT broker) and Prometheus /metrics, parsed with the
Prometheus text parser."""

from __future__ import annotations

import dataclasses
import sqlite3
import uuid

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient
from support import PG_SERVER, PgSchema, free_port, require_mosquitto, require_postgres, wait_until
from tcp_proxy import TcpProxy

from toshi.app import create_app
from toshi.config import Settings

SHELTER = {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "occupancy": {"type": "Property", "value": 3}}


def samples(text: str) -> dict:
    """{(name, sorted labels): value} of a Prometheus text exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_live_and_ready(client):
    assert client.get("/health/live").json() == {"status": "live"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["checks"] == {"store": "ok"}


def test_readiness_names_a_schema_behind_and_what_to_do(tmp_path):
    from toshi.store import latest_schema

    behind_by_one = latest_schema() - 1

    def set_version(version: int) -> None:  # as another program (an older Toshi's restore) would
        with sqlite3.connect(tmp_path / "toshi.db") as other:
            other.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version),))

    with TestClient(create_app(Settings(data_dir=str(tmp_path)))) as client:
        assert client.get("/health/ready").status_code == 200
        set_version(behind_by_one)
        try:
            behind = client.get("/health/ready")
        finally:
            set_version(latest_schema())
        assert behind.status_code == 503
        assert behind.json()["checks"]["store"] == (f"the database has schema version {behind_by_one}, this Toshi "
                                                    f"needs {latest_schema()}: run toshi db upgrade")
        assert client.get("/health/ready").status_code == 200


def test_health_is_public_with_authentication_on(settings):
    with TestClient(create_app(dataclasses.replace(settings, auth=True))) as client:
        assert client.get("/health/ready").status_code == 200
        assert client.get("/health/live").status_code == 200


def test_metrics_count_requests_by_route_template_and_status(client):
    client.post("/ngsi-ld/v1/entities", json=SHELTER)
    client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:1")
    client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:2")
    client.get("/v2/entities/urn:ngsi-ld:Shelter:1")
    found = samples(client.get("/metrics").text)
    route = "/ngsi-ld/v1/entities/{entity_id}"
    count = "toshi_http_request_duration_seconds_count"
    assert found[(count, (("method", "GET"), ("route", route), ("status", "200")))] == 1
    assert found[(count, (("method", "GET"), ("route", route), ("status", "404")))] == 1
    # the NGSI-v2 API routes inside its own mount: its requests share the mount's label
    assert found[(count, (("method", "GET"), ("route", "/v2/{path}"), ("status", "200")))] == 1
    assert not any("Shelter:1" in str(key) for key in found)  # labels are templates, never ids


def test_metrics_give_the_towns_figures(client):
    client.post("/ngsi-ld/v1/entities", json=SHELTER)
    client.patch("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:1/attrs/occupancy", json={"value": 4})
    found = samples(client.get("/metrics").text)
    assert found[("toshi_entities", (("tenant", ""),))] == 1
    assert found[("toshi_entity_changes_total", ())] == 2
    assert found[("toshi_notifications_queued", ())] == 0
    assert found[("toshi_dead_letters", ())] == 0
    assert found[("toshi_subscriptions", ())] == 0
    assert found[("toshi_history_rows", ())] >= 2
    assert ("toshi_notifications_total", (("outcome", "sent"),)) in found
    assert ("toshi_iot_measures_total", (("outcome", "rejected"),)) in found


def test_metrics_hold_every_family_the_operator_needs(client):
    client.post("/ngsi-ld/v1/entities", json=SHELTER)
    families = {f.name: f.type for f in text_string_to_metric_families(client.get("/metrics").text)}
    assert {name: families.get(name) for name in (
        "toshi_http_request_duration_seconds",  # requests by route and status, with latency buckets
        "toshi_entity_changes",                 # writes
        "toshi_notifications",                  # sent / failed
        "toshi_notifications_queued",
        "toshi_dead_letters",
        "toshi_iot_measures",                   # accepted / rejected
        "toshi_store_bytes",
        "toshi_history_rows",
        "toshi_audit_checkpoints",
    )} == {"toshi_http_request_duration_seconds": "histogram", "toshi_entity_changes": "counter",
           "toshi_notifications": "counter", "toshi_notifications_queued": "gauge",
           "toshi_dead_letters": "gauge", "toshi_iot_measures": "counter", "toshi_store_bytes": "gauge",
           "toshi_history_rows": "gauge", "toshi_audit_checkpoints": "gauge"}


def test_the_request_histogram_has_latency_buckets(client):
    client.get("/ngsi-ld/v1/types")
    found = samples(client.get("/metrics").text)
    labels = (("method", "GET"), ("route", "/ngsi-ld/v1/types"), ("status", "200"))
    buckets = {dict(key[1])["le"]: value for key, value in found.items()
               if key[0] == "toshi_http_request_duration_seconds_bucket"
               and tuple(k for k in key[1] if k[0] != "le") == labels}
    assert buckets["+Inf"] == 1 and set(buckets) >= {"0.001", "0.01", "0.1", "1.0", "10.0", "+Inf"}


def test_the_store_size_counts_the_database_on_disk(client):
    client.post("/ngsi-ld/v1/entities", json=SHELTER)
    assert samples(client.get("/metrics").text)[("toshi_store_bytes", ())] > 0


def test_metrics_need_the_token_or_an_admin_with_authentication_on(settings):
    secured = dataclasses.replace(settings, auth=True, metrics_token="scrape-me")
    with TestClient(create_app(secured)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        answer = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert answer.status_code == 200 and "toshi_http_request_duration_seconds" in answer.text


def test_readiness_names_a_lost_mqtt_broker(tmp_path):
    settings = Settings(data_dir=str(tmp_path / "town"), iot_mqtt_url=f"mqtt://127.0.0.1:{free_port()}")
    with TestClient(create_app(settings)) as client:
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["store"] == "ok"
        assert "not connected to the MQTT broker" in ready.json()["checks"]["mqtt"]
        assert client.get("/health/live").status_code == 200


def test_readiness_flips_when_the_mqtt_broker_goes_away_and_back(tmp_path):
    require_mosquitto()
    broker = TcpProxy("127.0.0.1", 1883).open()  # the shared Mosquitto stays up for the others
    settings = Settings(data_dir=str(tmp_path / "town"), iot_mqtt_url=f"mqtt://127.0.0.1:{broker.port}",
                        iot_mqtt_client_id=f"toshi-ops-test-{uuid.uuid4().hex[:8]}")
    try:
        with TestClient(create_app(settings)) as client:
            def status() -> int:
                return client.get("/health/ready").status_code

            assert wait_until(lambda: status() == 200, 15)
            broker.close()
            assert wait_until(lambda: status() == 503, 15)
            gone = client.get("/health/ready").json()
            assert gone["checks"]["store"] == "ok"
            assert gone["checks"]["mqtt"] == (f"not connected to the MQTT broker 127.0.0.1:{broker.port} "
                                              "(is it running? see TOSHI_IOT_MQTT_URL)")
            broker.open()
            assert wait_until(lambda: status() == 200, 40)  # paho reconnects by itself
            assert client.get("/health/ready").json()["checks"] == {"store": "ok", "mqtt": "ok"}
    finally:
        broker.close()


@pytest.fixture
def pg_schema():
    require_postgres()
    schema = PgSchema()
    yield schema
    schema.drop()


def test_readiness_flips_when_postgresql_loses_the_schema_and_back(tmp_path, pg_schema):
    with TestClient(create_app(Settings(data_dir=str(tmp_path), database_url=pg_schema.url))) as client:
        assert client.get("/health/ready").status_code == 200
        with psycopg.connect(PG_SERVER, autocommit=True) as admin:
            admin.execute(f"ALTER SCHEMA {pg_schema.name} RENAME TO {pg_schema.name}_away")
            try:
                gone = client.get("/health/ready")
            finally:
                admin.execute(f"ALTER SCHEMA {pg_schema.name}_away RENAME TO {pg_schema.name}")
        assert gone.status_code == 503
        assert gone.json()["reasons"][0].startswith("store: the database")
        assert client.get("/health/ready").status_code == 200


def test_readiness_after_the_database_connection_is_cut(tmp_path, pg_schema):
    with TestClient(create_app(Settings(data_dir=str(tmp_path), database_url=pg_schema.url))) as client:
        pid = client.app.state.toshi.store.db.raw.info.backend_pid
        with psycopg.connect(PG_SERVER, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        cut = client.get("/health/ready")
        assert cut.status_code == 503 and "does not answer" in cut.json()["checks"]["store"]
        assert client.get("/health/ready").status_code == 200  # the store reconnects by itself
