"""`toshi status` for the admin console: GET /admin/ops/status answers an administrator of every
tenant (the request gate's /admin/ rule), with the town's figures and the last backup; anyone else
is refused."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.auth.apikeys import api_keys_of
from toshi.config import Settings
from toshi.ops import record_backup


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(Settings(data_dir=str(tmp_path), auth=True)), base_url="http://127.0.0.1") as c:
        yield c


def bearer(client, role: str) -> dict:
    keys = api_keys_of(client.app.state.toshi.store)
    account = keys.create_account(role.replace(":", "-").replace("*", "all"), [role])
    return {"Authorization": f"Bearer {keys.create_key(account['id'])[1]}"}


def test_an_administrator_gets_the_figures_and_the_last_backup(client, tmp_path):
    record_backup(tmp_path, tmp_path / "town.toshi.gz", rows=12)
    answer = client.get("/admin/ops/status", headers=bearer(client, "*:admin"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["entities"] == 0 and body["dead letters"] == 0
    assert body["last backup"]["file"] == str((tmp_path / "town.toshi.gz").resolve())
    assert body["last backup"]["rows"] == 12


def test_a_tenants_operator_is_refused(client):
    assert client.get("/admin/ops/status", headers=bearer(client, "default:operator")).status_code == 403


def test_an_anonymous_caller_is_refused(client):
    assert client.get("/admin/ops/status").status_code == 401
