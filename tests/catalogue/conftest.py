"""Fixtures of the catalogue tests: shelter CSVs and a town with authentication on."""

from __future__ import annotations

import dataclasses

import pytest
from catalogue_samples import csv_bytes, full_row
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.auth.apikeys import api_keys_of
from toshi.catalogue import standards as std


@pytest.fixture
def shelters_csv():
    def make(count: int = 3, encoding: str = "utf-8", **changes) -> bytes:
        rows = [full_row(std.EVACUATION_SITES, n) for n in range(count)]
        for row in rows:
            row.update(changes)
        return csv_bytes(std.EVACUATION_SITES.headers, rows, encoding)
    return make


class Town:
    """The app with authentication on, an admin key, and anonymous callers."""

    def __init__(self, client: TestClient):
        self.client = client
        keys = api_keys_of(client.app.state.toshi.store)
        account = keys.create_account("clerk", ["*:admin"])
        _, secret = keys.create_key(account["id"])
        self.admin = {"Authorization": f"Bearer {secret}"}

    def imported(self, name: str, data: bytes, **params) -> dict:
        query = "&".join(f"{k}={v}" for k, v in {"confirm": "true", **params}.items())
        r = self.client.post(f"/catalogue/admin/datasets/{name}/import?{query}", content=data, headers=self.admin)
        assert r.status_code == 200, r.text
        return r.json()

    def opened(self, name: str) -> dict:
        r = self.client.post(f"/catalogue/admin/datasets/{name}/open", headers=self.admin)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def town(settings):
    with TestClient(create_app(dataclasses.replace(settings, auth=True))) as client:
        yield Town(client)
