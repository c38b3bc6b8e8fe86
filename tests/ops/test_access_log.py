"""The access log: one line per request with method, path, status, duration, tenant and principal;
never a secret (Authorization, the IoT `k=` apikey) nor a value of the query or the body; JSON lines
for collectors."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time

import httpx
import pytest
from starlette.testclient import TestClient
from support import free_port, wait_until

from toshi.app import create_app
from toshi.ops.logs import JsonLines

SECRET = "s3cr3t-apikey-value"


@pytest.fixture
def logged(settings, caplog):
    caplog.set_level(logging.INFO, logger="toshi.access")
    with TestClient(create_app(settings)) as client:
        yield client, caplog


def access_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "toshi.access"]


def test_a_request_is_logged_with_its_fields(logged):
    client, caplog = logged
    entity = {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter"}
    assert client.post("/ngsi-ld/v1/entities", json=entity, headers={"NGSILD-Tenant": "toyono"}).status_code == 201
    fields = access_records(caplog)[-1].fields
    assert (fields["method"], fields["path"], fields["status"], fields["tenant"]) == \
        ("POST", "/ngsi-ld/v1/entities", 201, "toyono")
    assert fields["duration_ms"] >= 0 and fields["principal"] == "local"


def test_the_principal_is_the_callers_account(settings, caplog, tmp_path):
    from toshi.auth.apikeys import api_keys_of

    caplog.set_level(logging.INFO, logger="toshi.access")
    app = create_app(dataclasses.replace(settings, auth=True))
    with TestClient(app) as client:
        keys = api_keys_of(app.state.toshi.store)
        account = keys.create_account("dashboard", ["default:consumer"], [])
        _, key = keys.create_key(account["id"], None)
        assert client.get("/ngsi-ld/v1/types", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert client.get("/ngsi-ld/v1/types").status_code == 401
    granted, refused = access_records(caplog)[-2:]
    assert granted.fields["principal"] == account["id"] and granted.fields["status"] == 200
    assert refused.fields["status"] == 401  # the gate's refusals are logged too
    assert key not in caplog.text


def test_query_values_and_apikeys_never_reach_the_log(logged):
    client, caplog = logged
    client.post(f"/iot/d?k={SECRET}&i=meter-1", content="t|1")
    client.get("/ngsi-ld/v1/entities", params={"type": "Person", "q": 'name=="Taro Yamada"'},
               headers={"Authorization": f"Bearer {SECRET}"})
    iot, query = access_records(caplog)[-2:]
    assert iot.fields["query"] == ["k", "i"] and iot.getMessage().startswith("POST /iot/d?k&i ")
    assert query.fields["query"] == ["type", "q"]
    assert SECRET not in caplog.text and "Taro" not in caplog.text and "meter-1" not in caplog.text


def test_json_lines_carry_the_fields(logged):
    client, caplog = logged
    client.get("/ngsi-ld/v1/types")
    line = json.loads(JsonLines().format(access_records(caplog)[-1]))
    assert line["logger"] == "toshi.access" and line["level"] == "info"
    assert line["method"] == "GET" and line["path"] == "/ngsi-ld/v1/types" and line["status"] == 200
    assert "duration_ms" in line and "time" in line


def test_the_access_log_can_be_turned_off(settings, caplog):
    caplog.set_level(logging.INFO, logger="toshi.access")
    with TestClient(create_app(dataclasses.replace(settings, access_log=False))) as client:
        client.get("/ngsi-ld/v1/types")
    assert access_records(caplog) == []


def test_a_served_town_logs_json_lines_at_info_by_default_and_a_clean_stop_loses_none(tmp_path):
    log_file = tmp_path / "server.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOSHI_")}
    with open(log_file, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "toshi.cli", "serve", "--port", str(port), "--data-dir",
                                 str(tmp_path / "town"), "--log-format", "json"], stdout=out, stderr=out, env=env)
    try:
        assert wait_until(lambda: _answers(f"http://127.0.0.1:{port}/health/live"), 30)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for n in range(20):
                client.post(f"/iot/d?k={SECRET}&i=m{n}", content="t|1")
    finally:
        proc.terminate()  # at once: the lines still waiting in the log's buffer are written on the way out
        proc.wait(10)
    lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "toshi.access"]
    assert [line["path"] for line in access if line["method"] == "POST"] == ["/iot/d"] * 20
    assert all(line["query"] == ["k", "i"] for line in access if line["method"] == "POST")
    assert any(line["message"] == "Application startup complete." for line in lines)
    assert SECRET not in log_file.read_text()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        time.sleep(0.05)
        return False
