"""Management commands that change a town work while `toshi serve` runs on it: the server runs them
on its own store (authenticated by the admin token in the data directory), so its caches see the
change at once; two at once both succeed; without a server the commands open the store directly.

One served town for the module (a server start is most of a test's time): each test uses names and
types of its own, and the one that stops the server comes last (the `served` fixture starts it again
for any test after it)."""

from __future__ import annotations

import json
import stat
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from cli_support import aed_csv, in_process, one_line_error, toshi
from support import ServerProcess, free_port

from toshi import __version__

TYPES = "/ngsi-ld/v1/types"


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    server = ServerProcess(tmp_path_factory.mktemp("served") / "town", "--auth").start()
    yield server
    server.stop()


@pytest.fixture
def served(town):
    if town.proc.poll() is not None:  # stopped by a test before this one
        town.start()
    return town


@pytest.fixture(scope="module")
def admin(town) -> str:
    """An administrator's API key, made while serving (as the first test shows)."""
    done = in_process("key", "create", "--name", "admin", "--role", "*:admin", "--data-dir", str(town.data_dir))
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def data(server) -> str:
    return str(server.data_dir)


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_a_key_created_while_serving_works_at_once(served, here):
    done = here("key", "create", "--name", "reader", "--role", "*:consumer", "--data-dir", data(served))
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert "Store this key now" in done.stderr
    assert httpx.get(served.url + TYPES).status_code == 401
    assert httpx.get(served.url + TYPES, headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_two_commands_at_once_both_succeed(served, here):
    def create(name):
        return toshi("key", "create", "--name", name, "--role", "default:consumer", "--data-dir", data(served))

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(create, ["first", "second"]))
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    keys = [r.stdout.strip() for r in results]
    assert keys[0] != keys[1]
    listing = here("key", "list", "--data-dir", data(served))
    assert listing.returncode == 0 and "first" in listing.stdout and "second" in listing.stdout


def test_a_policy_added_while_serving_applies_at_once(served, admin, here):
    shelter = {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter"}
    assert httpx.post(served.url + "/ngsi-ld/v1/entities", json=shelter, headers=bearer(admin)).status_code == 201
    assert httpx.get(served.url + "/ngsi-ld/v1/entities?type=Shelter").status_code == 401
    done = here("policy", "open-data", "--tenant", "default", "--type", "Shelter", "--data-dir", data(served))
    assert done.returncode == 0, done.stderr
    answer = httpx.get(served.url + "/ngsi-ld/v1/entities?type=Shelter")
    assert answer.status_code == 200 and [e["id"] for e in answer.json()] == [shelter["id"]]


def test_a_refused_command_reports_as_the_command_line_does(served, here):
    done = here("key", "revoke", "nosuchkey", "--data-dir", data(served))
    assert done.returncode == 1
    assert done.stderr.startswith("toshi: ") and "Traceback" not in done.stderr


def test_the_admin_token_is_readable_by_its_owner_only(served):
    token = served.data_dir / "ops" / "admin.token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert httpx.post(served.url + "/ops/commands", json={"argv": ["key", "list"]}).status_code == 401
    assert httpx.post(served.url + "/ops/commands", json={"argv": ["key", "list"]},
                      headers={"Toshi-Admin-Token": "guess"}).status_code == 401


def status_of(here, server) -> dict:
    done = here("status", "--json", "--data-dir", data(server))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_status_shows_the_running_server_and_the_town(served, admin, here):
    before = status_of(here, served)
    assert before["server"].startswith(f"running (process {served.proc.pid}")
    assert before["version"] == __version__ and before["uptime"]
    probe = {"id": "urn:ngsi-ld:StatusProbe:1", "type": "StatusProbe"}
    assert httpx.post(served.url + "/ngsi-ld/v1/entities", json=probe, headers=bearer(admin)).status_code == 201
    subscription = {"type": "Subscription", "entities": [{"type": "NoSuchType"}],
                    "notification": {"endpoint": {"uri": "https://receiver.example.com/n"}}}  # matches nothing
    assert httpx.post(served.url + "/ngsi-ld/v1/subscriptions", json=subscription,
                      headers=bearer(admin)).status_code == 201
    written = status_of(here, served)
    assert written["entities"] == before["entities"] + 1
    assert written["subscriptions"] == before["subscriptions"] + 1
    assert isinstance(written["queued notifications"], int) and isinstance(written["dead letters"], int)
    device = {"devices": [{"device_id": "status-probe", "entity_type": "StatusProbe", "protocol": "IoTA-UL"}]}
    assert httpx.post(served.url + "/iot/devices", json=device,
                      headers={**bearer(admin), "Fiware-Service": "city", "Fiware-ServicePath": "/"}).status_code == 201
    assert status_of(here, served)["devices"] == written["devices"] + 1


def test_status_names_the_last_backup(tmp_path, here):
    town = tmp_path / "town"
    assert here("key", "create", "--name", "admin", "--role", "*:admin", "--data-dir", str(town)).returncode == 0
    assert here("backup", str(tmp_path / "town.toshi.gz"), "--data-dir", str(town)).returncode == 0
    status = json.loads(here("status", "--json", "--data-dir", str(town)).stdout)
    assert status["last backup"]["file"] == str(tmp_path / "town.toshi.gz")


PATIENT = {"id": "urn:ngsi-ld:Patient:1", "type": "Patient",
           "owner": {"type": "Property", "value": "urn:ngsi-ld:Resident:7"},
           "diagnosis": {"type": "Property", "value": "flu"}}


def test_personal_data_declared_while_serving_is_hidden_at_once(served, admin, here):
    assert httpx.post(served.url + "/ngsi-ld/v1/entities", json=PATIENT, headers=bearer(admin)).status_code == 201
    assert here("policy", "open-data", "--tenant", "default", "--type", "Patient",
                 "--data-dir", data(served)).returncode == 0
    url = served.url + "/ngsi-ld/v1/entities/urn:ngsi-ld:Patient:1?options=keyValues"
    assert httpx.get(url).json()["diagnosis"] == "flu"
    done = here("personal-data", "declare", "Patient", "--subject", "owner", "--attr", "diagnosis=sensitive",
                 "--data-dir", data(served))
    assert done.returncode == 0, done.stderr
    assert httpx.get(url).json() == {"id": PATIENT["id"], "type": "Patient", "owner": "urn:ngsi-ld:Resident:7"}


def test_two_different_commands_at_once_both_apply(served, admin, here):
    commands = [("tenant", "create", "osaka"),
                ("personal-data", "declare", "CareRecord", "--subject", "owner", "--attr", "notes=sensitive")]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda argv: toshi(*argv, "--data-dir", data(served)), commands))
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    tenants = httpx.get(served.url + "/admin/tenants", headers=bearer(admin))
    assert "osaka" in tenants.json()
    listed = here("personal-data", "list", "--data-dir", data(served))
    assert listed.returncode == 0 and '"attributes":{"notes":"sensitive"}' in listed.stdout.replace(" ", "")


def test_an_import_while_serving_is_readable_at_once(served, admin, tmp_path, here):
    source = tmp_path / "aed.csv"
    source.write_bytes(aed_csv(3))
    done = here("import", str(source), "--dataset", "aed", "--data-dir", data(served))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["changes"]["created"] == 3
    found = httpx.get(served.url + "/ngsi-ld/v1/entities?type=AEDLocation&count=true", headers=bearer(admin))
    assert found.status_code == 200 and found.headers["NGSILD-Results-Count"] == "3"


def test_a_consent_granted_while_serving_is_held_at_once(served, admin, here):
    resident = "urn:ngsi-ld:Person:ops-hanako"
    done = here("consent", "grant", "--recipient", "acct_care", "--purpose", "watch-over", "--category", "sensitive",
                "--resident", resident, "--data-dir", data(served))
    assert done.returncode == 0, done.stderr
    records = httpx.get(f"{served.url}/consent/residents/{resident}/consents", headers=bearer(admin)).json()
    assert [(r["recipient"], r["purpose"], r["status"]) for r in records] == [("acct_care", "watch-over", "active")]


def test_a_token_made_while_serving_is_accepted(served, here):
    done = here("token", "create", "--sub", "dashboard", "--role", "*:admin", "--data-dir", data(served))
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert httpx.get(served.url + TYPES, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_restore_onto_the_served_town_says_to_stop_it_first(served, admin, tmp_path, here):
    assert here("backup", str(tmp_path / "b.gz"), "--data-dir", data(served)).returncode == 0
    message = one_line_error(here("restore", str(tmp_path / "b.gz"), "--force", "--data-dir", data(served)))
    assert "stop the server first" in message and "restore into another --data-dir" in message
    beside = here("restore", str(tmp_path / "b.gz"), "--data-dir", str(tmp_path / "next"))  # prepared beside it
    assert beside.returncode == 0, beside.stderr


def test_a_second_server_on_a_served_data_directory(served):
    message = one_line_error(toshi("serve", "--data-dir", data(served), "--port", str(free_port())))
    assert "another Toshi is using the data directory" in message and "stop it first" in message


def test_after_the_server_stops_commands_open_the_store_themselves(served, here):
    assert here("key", "create", "--name", "made-before-stop", "--role", "*:consumer",
                 "--data-dir", data(served)).returncode == 0
    served.stop()
    assert not (served.data_dir / "ops" / "admin.token").exists()
    listing = here("key", "list", "--data-dir", data(served))
    assert listing.returncode == 0 and "made-before-stop" in listing.stdout
    status = json.loads(here("status", "--json", "--data-dir", data(served)).stdout)
    assert status["server"] == "not running"
