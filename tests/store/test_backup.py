"""`toshi backup` and `toshi restore`: a whole town through the real app, backed up, restored into a new
data directory and compared table by table and query by query; a backup taken while a real server
writes; truncated files, non-empty targets and a running server refused."""

from __future__ import annotations

import dataclasses
import gzip
import sqlite3
import threading
from pathlib import Path

import httpx
import orjson
import pytest
from starlette.testclient import TestClient
from support import Receiver, wait_until

from toshi.app import create_app
from toshi.auth.apikeys import api_keys_of
from toshi.core.signing import key_file
from toshi.features import FEATURES
from toshi.operations.backup import primary_tables
from toshi.store.layout import STORE_TABLES
from toshi.store.sqlite import DERIVED_TABLES

LD = "/ngsi-ld/v1"
IOT = {"Fiware-Service": "smart", "Fiware-ServicePath": "/gardens"}
PARK_CONTEXT = {"@context": {"Park": "https://toshi.example/ns/Park", "area": "https://toshi.example/ns/area"}}
TABLES = [*STORE_TABLES, *(table for feature in FEATURES for table in feature.tables)]  # what `toshi backup` gets


@pytest.fixture
def backend() -> str:
    """These tests read the SQLite file itself; PostgreSQL's are in test_backup_postgres.py."""
    return "sqlite"


# -- helpers ---------------------------------------------------------------------------------------

def shelter(n: int, capacity: int, lon: float) -> dict:
    return {"id": f"urn:ngsi-ld:Shelter:{n}", "type": "Shelter", "capacity": {"type": "Property", "value": capacity},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, 34.82]}}}


def link(url: str) -> dict:
    return {"Link": f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}


def ok(response, status: int = 201):
    assert response.status_code == status, response.text
    return response


def dump(data_dir: Path) -> dict[str, list]:
    """Every table's rows in creation order (derived tables sorted), and the sequences: what must be
    equal between a town and its restored copy."""
    db = sqlite3.connect(f"file:{data_dir / 'toshi.db'}?mode=ro", uri=True)
    try:
        tables = {name: db.execute(f"SELECT * FROM {name} ORDER BY rowid").fetchall()
                  for name, sql in primary_tables(db, TABLES).items() if "WITHOUT ROWID" not in sql.upper()}
        tables |= {name: sorted(db.execute(f"SELECT * FROM {name}").fetchall(), key=repr)
                   for name in [*DERIVED_TABLES, *(n for n in primary_tables(db, TABLES) if n not in tables)]}
        tables["sqlite_sequence"] = sorted(db.execute("SELECT * FROM sqlite_sequence").fetchall())
        return tables
    finally:
        db.close()


def outbox(data_dir: str) -> list[tuple]:
    db = sqlite3.connect(f"file:{Path(data_dir) / 'toshi.db'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT attempts FROM outbox").fetchall()
    finally:
        db.close()


def backup_lines(path: Path) -> list[dict | list]:
    with gzip.open(path, "rb") as lines:
        return [orjson.loads(line) for line in lines]


def rewrite(path: Path, target: Path, change) -> Path:
    """A copy of the backup in `path` whose decompressed lines went through `change`."""
    with gzip.open(path, "rb") as src:
        lines = src.read().splitlines(keepends=True)
    with gzip.open(target, "wb") as out:
        out.writelines(change(lines))
    return target


# -- a whole town ------------------------------------------------------------------------------------

class Town:
    """The admin's requests to a running app with authentication on."""

    def __init__(self, client: TestClient, secret: str):
        self.client = client
        self.admin = {"Authorization": f"Bearer {secret}"}

    def post(self, path: str, body, headers: dict | None = None, status: int = 201):
        return ok(self.client.post(path, json=body, headers={**self.admin, **(headers or {})}), status)

    def patch(self, path: str, body, headers: dict | None = None):
        return ok(self.client.patch(path, json=body, headers={**self.admin, **(headers or {})}), 204)

    def get(self, path: str, headers: dict | None = None):
        return ok(self.client.get(path, headers={**self.admin, **(headers or {})}), 200)


def admin_key(client: TestClient) -> str:
    keys = api_keys_of(client.app.state.toshi.store)
    account = keys.create_account("root", ["*:admin"])
    return keys.create_key(account["id"])[1]


def build_town(town: Town, receiver: Receiver, failing: Receiver) -> str:
    """Entities of both APIs with history, subscriptions, a registration, a stored @context, IoT
    provisioning, a policy; returns the stored context's URL."""
    context_url = town.post(f"{LD}/jsonldContexts", PARK_CONTEXT).headers["location"]
    town.post(f"{LD}/entityOperations/create", [shelter(n, 40 + 30 * n, 135.47 + n / 100) for n in range(1, 4)])
    town.post(f"{LD}/entities", {"id": "urn:ngsi-ld:Park:1", "type": "Park", "area": {"type": "Property", "value": 7}},
              link(context_url))
    town.post(f"{LD}/entities", shelter(9, 10, 135.0), {"NGSILD-Tenant": "osaka"})
    town.post("/v2/entities", {"id": "Room1", "type": "Room", "temperature": {"type": "Number", "value": 21},
                               "location": {"type": "geo:point", "value": "34.82, 135.47"}})
    town.post(f"{LD}/subscriptions", {"type": "Subscription", "entities": [{"type": "Shelter"}],
                                      "watchedAttributes": ["capacity"],
                                      "notification": {"endpoint": {"uri": receiver.url}}})
    town.post("/v2/subscriptions", {"subject": {"entities": [{"idPattern": ".*", "type": "Room"}]},
                                    "notification": {"http": {"url": receiver.url}}})
    town.post(f"{LD}/subscriptions", {"type": "Subscription", "entities": [{"type": "Park"}],
                                      "notification": {"endpoint": {"uri": failing.url}}}, link(context_url))
    town.post("/v2/registrations", {"dataProvided": {"entities": [{"id": "Garden1", "type": "Garden"}],
                                                     "attrs": ["humidity"]},
                                    "provider": {"http": {"url": "http://127.0.0.1:9/v2"}}})
    town.post("/iot/services", {"services": [{"apikey": "k1", "resource": "/iot/d", "entity_type": "Sensor"}]}, IOT)
    town.post("/iot/devices", {"devices": [{"device_id": "s1", "entity_type": "Sensor"}]}, IOT)
    town.post("/admin/auth/policies", {"effect": "deny", "principals": ["role:consumer"], "actions": ["update"],
                                       "tenant": "osaka", "types": ["Shelter"]})
    for capacity in (45, 50, 55):
        town.patch(f"{LD}/entities/urn:ngsi-ld:Shelter:1/attrs/capacity", {"value": capacity})
    for temperature in (22, 23):
        town.patch("/v2/entities/Room1/attrs", {"temperature": {"type": "Number", "value": temperature}})
    town.patch(f"{LD}/entities/urn:ngsi-ld:Park:1/attrs/area", {"value": 8}, link(context_url))
    return context_url


def observe(town: Town, context_url: str) -> dict:
    """What the town answers: queries (q, geo) of both APIs, history, subscriptions, provisioning."""
    near = "georel=near;maxDistance==3000&geometry=Point&coordinates=[135.47,34.82]"
    paths = [f"{LD}/entities?type=Shelter&q=capacity>50", f"{LD}/entities?type=Shelter&{near}",
             f"{LD}/temporal/entities/urn:ngsi-ld:Shelter:1",
             f"{LD}/subscriptions", "/v2/entities?type=Room&q=temperature>20",
             "/v2/entities?georel=near;maxDistance:3000&geometry=point&coords=34.82,135.47",
             "/v2/subscriptions", "/v2/registrations", "/admin/auth/policies",
             context_url.removeprefix("http://testserver")]
    seen = {path: town.get(path).json() for path in paths}
    seen["park"] = town.get(f"{LD}/entities?type=Park&q=area==8", link(context_url)).json()
    seen["osaka"] = town.get(f"{LD}/entities?type=Shelter", {"NGSILD-Tenant": "osaka"}).json()
    seen["iot"] = [town.get(path, IOT).json() for path in ("/iot/services", "/iot/devices")]
    return seen


def test_round_trip_restores_everything(settings, tmp_path, cli):
    secure = dataclasses.replace(settings, auth=True, outbound_allow="127.0.0.1", notify_backoff=0.05,
                                 notify_max_attempts=1)
    receiver, failing = Receiver(), Receiver(fail_first=10_000)
    try:
        with TestClient(create_app(secure)) as client:
            secret = admin_key(client)
            town = Town(client, secret)
            context_url = build_town(town, receiver, failing)
            assert wait_until(lambda: town.get("/admin/notifications/dead-letters").json())
            assert len(receiver.wait_for(5)) >= 5  # delivered, so the notifier's cursor moved past them
        patient = dataclasses.replace(secure, notify_max_attempts=3, notify_backoff=3600)
        with TestClient(create_app(patient)) as client:  # a second run leaves a notification to retry
            town = Town(client, secret)
            town.patch(f"{LD}/entities/urn:ngsi-ld:Park:1/attrs/area", {"value": 8.5}, link(context_url))
            assert wait_until(lambda: outbox(settings.data_dir) == [(1,)])
            town.patch(f"{LD}/entities/urn:ngsi-ld:Park:1/attrs/area", {"value": 8}, link(context_url))
            # both tried once and due again in an hour: nothing is left for a later run to try at start,
            # which would change the failing subscription's statistics between `before` and the restore
            assert wait_until(lambda: outbox(settings.data_dir) == [(1,), (1,)])
        with TestClient(create_app(patient)) as client:  # statistics are stored, so see them as stored
            before = observe(Town(client, secret), context_url)

        original, copy, backup_file = Path(settings.data_dir), tmp_path / "copy", tmp_path / "town.toshi.gz"
        code, _, err = cli("backup", str(backup_file), "--data-dir", str(original))
        assert code == 0, err
        assert "entities" in err and "rows" in err
        assert backup_file.stat().st_mode & 0o777 == 0o600  # it holds the signing key
        code, out, err = cli("restore", str(backup_file), "--data-dir", str(copy))
        assert code == 0, err
        restored = dump(copy)
        assert f"entities: {len(restored['entities'])} " in out and "DIFFERS" not in out
        for table, rows in dump(original).items():
            assert restored[table] == rows, table
        assert {"auth_accounts", "auth_keys", "auth_policies", "auth_subscription_owners", "audit_log",
                "audit_checkpoints", "iot_groups", "iot_devices", "v2_registrations", "contexts", "cursors",
                "outbox", "dead_letters", "attr_history"} <= {t for t, rows in restored.items() if rows}
        assert key_file(copy).read_bytes() == key_file(original).read_bytes()
        assert key_file(copy).stat().st_mode & 0o777 == 0o600

        receiver.requests.clear()
        with TestClient(create_app(dataclasses.replace(secure, data_dir=str(copy)))) as client:
            town = Town(client, secret)  # the API key still authenticates
            assert observe(town, context_url) == before
            town.patch(f"{LD}/entities/urn:ngsi-ld:Shelter:1/attrs/capacity", {"value": 999})
            town.patch("/v2/entities/Room1/attrs", {"temperature": {"type": "Number", "value": 30}})
            assert wait_until(lambda: len(receiver.requests) >= 2)
        bodies = [orjson.dumps(r["body"]).decode() for r in receiver.requests]
        assert len(bodies) == 2 and all("999" in b or '"value":30' in b for b in bodies), bodies  # none re-sent
        code, out, err = cli("audit", "verify", "--data-dir", str(copy))
        assert code == 0 and out.startswith("ok"), out + err
    finally:
        receiver.close()
        failing.close()


def test_backup_format(settings, tmp_path, cli):
    with TestClient(create_app(settings)) as client:
        ok(client.post(f"{LD}/entities", json=shelter(1, 10, 135.0)))
    assert cli("backup", str(tmp_path / "b.gz"), "--data-dir", settings.data_dir)[0] == 0
    lines = backup_lines(tmp_path / "b.gz")
    header, end = lines[0], lines[-1]
    assert header["format"] == "toshi-backup" and header["version"] == 1 and header["schemaVersion"] == "1"
    assert {"entities", "changes", "cursors", "subscriptions", "meta"} <= set(header["tables"])
    assert not {"entity_types", "attr_values", "geo_index", "geo_index_node", "sqlite_sequence"} & set(header["tables"])
    assert header["sequences"]["changes"] == 1 and header["files"] == ["keys/toshi-signing.pem"]
    sections = [line for line in lines if isinstance(line, dict) and "table" in line]
    assert [s["table"] for s in sections] == header["tables"]
    assert end == {"end": True, "rows": sum(s["rows"] for s in sections)}
    assert len(lines) == 1 + len(sections) + end["rows"] + 1 + 1  # header, sections, rows, key file, end


def test_bytes_and_feature_tables_the_store_does_not_know(settings, tmp_path, cli):
    with TestClient(create_app(settings)):
        pass
    db = sqlite3.connect(Path(settings.data_dir) / "toshi.db")
    db.execute("CREATE TABLE gadget_blobs (name TEXT PRIMARY KEY, data BLOB) WITHOUT ROWID")
    db.execute("CREATE INDEX gadget_blobs_by_data ON gadget_blobs (data)")
    db.execute("INSERT INTO gadget_blobs VALUES ('raw', ?)", (bytes(range(256)),))
    db.commit()
    db.close()
    cli("backup", str(tmp_path / "b.gz"), "--data-dir", settings.data_dir)
    assert cli("restore", str(tmp_path / "b.gz"), "--data-dir", str(tmp_path / "copy"))[0] == 0
    copy = sqlite3.connect(tmp_path / "copy" / "toshi.db")
    assert copy.execute("SELECT data FROM gadget_blobs").fetchone()[0] == bytes(range(256))
    assert copy.execute("SELECT 1 FROM sqlite_master WHERE name='gadget_blobs_by_data'").fetchone()
    copy.close()


# -- while serving ---------------------------------------------------------------------------------

COUNTERS = 10


def counter(n: int, value: int) -> dict:
    return {"id": f"urn:ngsi-ld:Counter:{n}", "type": "Counter", "count": {"type": "Property", "value": value}}


def test_backup_while_a_server_writes_is_consistent(server, tmp_path, cli):
    backups = backups_while_counters_are_written(server, tmp_path, cli, bulk=4000, backups=3)
    totals = [check_counters(cli, path, tmp_path / path.stem) for path in backups]
    assert 0 < totals[0] < totals[1] < totals[2]


def backups_while_counters_are_written(server, tmp_path: Path, cli, *, bulk: int, backups: int,
                                       options: tuple[str, ...] = ()) -> list[Path]:
    """`backups` backups of a server's town (`bulk` Shelters, so reading the tables takes a while)
    taken while two clients keep updating COUNTERS counters; `options` go to `toshi backup`."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for start in range(0, bulk, 1000):
            ok(http.post(f"{LD}/entityOperations/create", json=[shelter(n, n, 135.0) for n in range(start, start + 1000)]))
        ok(http.post(f"{LD}/entityOperations/create", json=[counter(n, 0) for n in range(COUNTERS)]))
    rounds = [0, 0]
    stop = threading.Event()

    def write(half: int) -> None:
        with httpx.Client(base_url=server.url) as http:
            while not stop.is_set():
                rounds[half] += 1
                for n in range(half, COUNTERS, 2):
                    ok(http.patch(f"{LD}/entities/urn:ngsi-ld:Counter:{n}/attrs/count",
                                  json={"value": rounds[half]}), 204)

    writers = [threading.Thread(target=write, args=(half,)) for half in (0, 1)]
    for writer in writers:
        writer.start()
    files = []
    try:
        for number in range(backups):
            done = rounds[0]
            assert wait_until(lambda done=done: rounds[0] >= done + 3)
            files.append(tmp_path / f"backup-{number}.gz")
            code, _, err = cli("backup", str(files[-1]), "--data-dir", str(server.data_dir), *options)
            assert code == 0, err
    finally:
        stop.set()
        for writer in writers:
            writer.join(30)
    return files


def check_counters(cli, backup_file: Path, data_dir: Path) -> int:
    """Every counter's value equals the history rows and change records written for it."""
    assert cli("restore", str(backup_file), "--data-dir", str(data_dir))[0] == 0
    db = sqlite3.connect(data_dir / "toshi.db")
    counters = "urn:ngsi-ld:Counter:%"
    values = {entity_id: orjson.loads(doc)["attrs"]["https://uri.etsi.org/ngsi-ld/default-context/count"][0]["value"]
              for entity_id, doc in db.execute("SELECT id, doc FROM entities WHERE id LIKE ?", (counters,))}
    history = dict(db.execute("SELECT s.entity_id, count(*) FROM attr_history h JOIN temporal_series s "
                              "ON s.id = h.series WHERE s.entity_id LIKE ? GROUP BY 1", (counters,)))
    changes = dict(db.execute("SELECT entity_id, count(*) FROM changes WHERE entity_id LIKE ? GROUP BY 1",
                              (counters,)))
    db.close()
    assert len(values) == COUNTERS
    assert history == changes == {entity_id: value + 1 for entity_id, value in values.items()}
    return sum(values.values())


def test_restore_refuses_a_running_server(server, tmp_path, cli):
    with httpx.Client(base_url=server.url) as http:
        ok(http.post(f"{LD}/entities", json=counter(1, 0)))
    assert cli("backup", str(tmp_path / "b.gz"), "--data-dir", str(server.data_dir))[0] == 0
    code, _, err = cli("restore", str(tmp_path / "b.gz"), "--data-dir", str(server.data_dir), "--force")
    assert code == 2 and "locked" in err
    assert httpx.get(f"{server.url}{LD}/entities/urn:ngsi-ld:Counter:1").status_code == 200


# -- refusals ----------------------------------------------------------------------------------------

@pytest.fixture
def two_towns(settings, tmp_path, cli):
    """A backup of a town with Shelter 1, and another data directory holding a town with Shelter 2."""
    for data_dir, n in ((settings.data_dir, 1), (str(tmp_path / "other"), 2)):
        with TestClient(create_app(dataclasses.replace(settings, data_dir=data_dir))) as client:
            ok(client.post(f"{LD}/entities", json=shelter(n, 10 * n, 135.0 + n)))
    assert cli("backup", str(tmp_path / "b.gz"), "--data-dir", settings.data_dir)[0] == 0
    return tmp_path / "b.gz", tmp_path / "other"


def test_non_empty_target_needs_force(two_towns, settings, cli):
    backup_file, other = two_towns
    untouched = dump(other)
    code, _, err = cli("restore", str(backup_file), "--data-dir", str(other))
    assert code == 2 and "--force" in err and "entities" in err
    assert dump(other) == untouched
    code, out, err = cli("restore", str(backup_file), "--data-dir", str(other), "--force")
    assert code == 0, err
    assert dump(other) == dump(Path(settings.data_dir))
    assert key_file(other).read_bytes() == key_file(settings.data_dir).read_bytes()


CORRUPTIONS = {
    "cut in the middle": None,
    "no end marker": lambda lines: lines[:-1],
    "a row missing": lambda lines: [line for line in lines if b"urn:ngsi-ld:Shelter:1" not in line
                                    or not line.startswith(b"[")],
    "rows count wrong": lambda lines: [line.replace(b'"rows":1,', b'"rows":2,', 1) for line in lines],
    "not gzip": "garbage",
    "another format": lambda lines: [b'{"format": "tar"}\n', *lines[1:]],
}


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_damaged_backup_changes_nothing(two_towns, tmp_path, cli, corruption):
    backup_file, other = two_towns
    damaged = tmp_path / "damaged.gz"
    change = CORRUPTIONS[corruption]
    if change is None:
        damaged.write_bytes(backup_file.read_bytes()[: backup_file.stat().st_size // 2])
    elif change == "garbage":
        damaged.write_bytes(b"not a backup at all\n")
    else:
        rewrite(backup_file, damaged, change)
    untouched, key = dump(other), key_file(other).read_bytes()
    for target, extra in ((other, ["--force"]), (tmp_path / "fresh", [])):
        code, _, err = cli("restore", str(damaged), "--data-dir", str(target), *extra)
        assert code == 2 and err.startswith("toshi: "), err
        assert not list(target.glob("*.restoring"))
    assert dump(other) == untouched and key_file(other).read_bytes() == key
    assert not (tmp_path / "fresh" / "toshi.db").exists()


# -- size ------------------------------------------------------------------------------------------------

def test_ten_thousand_entities_round_trip(settings, tmp_path, cli):
    with TestClient(create_app(settings)) as client:
        for start in range(0, 10_000, 1000):
            batch = [shelter(n, n % 100, 135.0 + (n % 1000) / 1000) for n in range(start, start + 1000)]
            ok(client.post(f"{LD}/entityOperations/create", json=batch))
        query = f"{LD}/entities?type=Shelter&q=capacity>90&georel=near;maxDistance==20000" \
                "&geometry=Point&coordinates=[135.5,34.82]&limit=1000&count=true"
        before = ok(client.get(query), 200)
    assert cli("backup", str(tmp_path / "b.gz"), "--data-dir", settings.data_dir)[0] == 0
    code, out, _ = cli("restore", str(tmp_path / "b.gz"), "--data-dir", str(tmp_path / "copy"))
    assert code == 0 and "entities: 10000 " in out
    with TestClient(create_app(dataclasses.replace(settings, data_dir=str(tmp_path / "copy")))) as client:
        after = ok(client.get(query), 200)
    assert after.json() == before.json() and after.headers["NGSILD-Results-Count"] == before.headers[
        "NGSILD-Results-Count"] != "0"
