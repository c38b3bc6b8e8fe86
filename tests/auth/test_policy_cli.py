"""`toshi policy ...` and `toshi tenant ...` on a data directory, then the rules at work in a server."""

from __future__ import annotations

import dataclasses
import json

from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.cli import main


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_policy_and_tenant_commands(tmp_path, capsys, settings, monkeypatch):
    data = str(tmp_path / "data")
    if settings.database_url:  # the commands find the town where the server keeps it
        monkeypatch.setenv("TOSHI_DATABASE_URL", settings.database_url)
    code, out = run(capsys, "policy", "add", "allow", "--principal", "group:buses", "--action", "read",
                    "--action", "update", "--tenant", "toyono", "--type", "Bus", "--id", "buses", "--data-dir", data)
    assert code == 0 and json.loads(out)["id"] == "buses"
    code, out = run(capsys, "policy", "open-data", "--tenant", "default", "--type", "Shelter", "--data-dir", data)
    open_rule = json.loads(out)
    assert code == 0 and open_rule["principals"] == ["*"] and open_rule["actions"] == ["read"]
    code, out = run(capsys, "policy", "list", "--data-dir", data)
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["buses", open_rule["id"]]
    assert main(["policy", "add", "allow", "--principal", "role:king", "--action", "read", "--data-dir", data]) == 2
    assert run(capsys, "policy", "delete", "nope", "--data-dir", data)[0] == 1
    code, out = run(capsys, "tenant", "create", "toyono", "--data-dir", data)
    assert code == 0
    assert "toyono" in run(capsys, "tenant", "list", "--data-dir", data)[1]
    code, out = run(capsys, "key", "create", "--name", "bus-app", "--role", "toyono:consumer", "--group", "buses",
                    "--data-dir", data)
    key = out.strip()
    assert code == 0 and key.startswith("toshi_")
    code, out = run(capsys, "audit", "list", "--data-dir", data)
    operations = [json.loads(line)["operation"] for line in out.splitlines()]
    assert operations == ["cli policy add", "cli policy open-data", "cli tenant create", "cli key create"]
    assert key.split("_")[-1] not in out  # never the secret

    with TestClient(create_app(dataclasses.replace(settings, data_dir=data, auth=True))) as client:
        shelter = {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter"}
        assert client.post("/ngsi-ld/v1/entities", json=shelter).status_code == 401
        admin = run(capsys, "token", "create", "--sub", "root", "--role", "*:admin", "--data-dir", data)[1].strip()
        r = client.post("/ngsi-ld/v1/entities", json=shelter, headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code == 201, r.text
        assert client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:1").status_code == 200  # open data
        assert client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:1",
                          headers={"Authorization": f"Bearer {key}"}).status_code == 200
