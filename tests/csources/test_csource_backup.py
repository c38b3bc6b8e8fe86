"""Registrations and csourceSubscriptions are part of a town: `toshi backup` / `toshi restore` carry them."""

from __future__ import annotations

import dataclasses

from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.cli import main

REGS = "/ngsi-ld/v1/csourceRegistrations"
SUBS = "/ngsi-ld/v1/csourceSubscriptions"


def test_backup_and_restore_carry_registrations_and_their_subscriptions(tmp_path, monkeypatch):
    from toshi.config import Settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TOSHI_CONFIG", raising=False)
    monkeypatch.delenv("TOSHI_DATABASE_URL", raising=False)
    original = Settings(data_dir=str(tmp_path / "town"))
    registration = {"id": "urn:x:b", "type": "ContextSourceRegistration", "endpoint": "http://town-b.example.org",
                    "information": [{"entities": [{"type": "Shelter"}]}]}
    subscription = {"id": "urn:ngsi-ld:Subscription:cs", "type": "Subscription", "entities": [{"type": "Shelter"}],
                    "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}}}
    with TestClient(create_app(original)) as client:
        assert client.post(REGS, json=registration).status_code == 201
        assert client.post(SUBS, json=subscription).status_code == 201
        before = client.get(f"{REGS}/urn:x:b").json(), client.get(f"{SUBS}/urn:ngsi-ld:Subscription:cs").json()
    assert main(["backup", str(tmp_path / "town.gz"), "--data-dir", original.data_dir]) == 0
    assert main(["restore", str(tmp_path / "town.gz"), "--data-dir", str(tmp_path / "copy")]) == 0
    with TestClient(create_app(dataclasses.replace(original, data_dir=str(tmp_path / "copy")))) as client:
        after = client.get(f"{REGS}/urn:x:b").json(), client.get(f"{SUBS}/urn:ngsi-ld:Subscription:cs").json()
    assert after == before
