"""PostgreSQL going away: a clear error at start-up, 503 while it is gone, and back by itself after."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest
from starlette.testclient import TestClient
from support import PG_SERVER, PgSchema, require_postgres

from toshi.app import create_app
from toshi.config import Settings

ENTITIES = "/ngsi-ld/v1/entities"


@pytest.fixture
def pg_client(tmp_path):
    require_postgres()
    schema = PgSchema()
    with TestClient(create_app(Settings(data_dir=str(tmp_path), database_url=schema.url))) as client:
        yield client
    schema.drop()


def cut_connection(client: TestClient) -> None:
    """What a PostgreSQL restart does to the store's connection."""
    pid = client.app.state.toshi.store.db.raw.info.backend_pid
    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_an_unreachable_database_stops_the_start_with_a_clear_message(tmp_path):
    done = subprocess.run([sys.executable, "-m", "toshi.cli", "serve", "--data-dir", str(tmp_path),
                           "--database-url", "postgresql://toshi:secret@127.0.0.1:1/town"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "cannot reach PostgreSQL at postgresql://toshi:***@127.0.0.1:1/town" in done.stderr
    assert "secret" not in done.stderr


def test_requests_get_503_while_the_connection_is_gone_then_it_comes_back(pg_client):
    entity = {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "occupancy": {"type": "Property", "value": 1}}
    assert pg_client.post(ENTITIES, json=entity).status_code == 201
    cut_connection(pg_client)
    lost = pg_client.get(f"{ENTITIES}/urn:ngsi-ld:Shelter:1")
    assert lost.status_code == 503
    assert lost.json()["title"] == "Database unavailable"
    assert pg_client.get(f"{ENTITIES}/urn:ngsi-ld:Shelter:1").json()["occupancy"]["value"] == 1  # reconnected


def test_a_write_that_meets_a_lost_connection_writes_nothing(pg_client):
    cut_connection(pg_client)
    entity = {"id": "urn:ngsi-ld:Shelter:2", "type": "Shelter"}
    refused = pg_client.post(ENTITIES, json=entity)
    assert refused.status_code == 503
    assert pg_client.get(f"{ENTITIES}/urn:ngsi-ld:Shelter:2").status_code == 404
    assert pg_client.post(ENTITIES, json=entity).status_code == 201
    v2 = pg_client.get("/v2/entities/urn:ngsi-ld:Shelter:2")
    assert v2.status_code == 200
