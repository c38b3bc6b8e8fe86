"""Distributed retrieve and query (CIM 009 v1.8 4.3.6, 5.7 over context sources, 6.3.17, 6.3.18): a
second Toshi, in this process (conftest.py), is the context source; a small recording server stands in
for sources that fail, are slow, or whose requests are inspected."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from federation_towns import town

from toshi.core.access import CONSENT

LD = "/ngsi-ld/v1"
REGS = LD + "/csourceRegistrations"
DEFAULT = "https://uri.etsi.org/ngsi-ld/default-context/"


class Source:
    """A fake context source on 127.0.0.1: records each request, answers `status` with `body` after
    `delay` seconds."""

    def __init__(self, status: int = 404, body: object = None, delay: float = 0.0):
        self.requests: list[dict] = []
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                sent = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                source.requests.append({"method": self.command, "path": self.path, "body": json.loads(sent or "null"),
                                        "headers": {k.lower(): v for k, v in self.headers.items()}})
                if delay:
                    time.sleep(delay)
                raw = json.dumps(body).encode() if body is not None else b""
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()  # quick to shut down

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Town:
    """Town B, with a tenant of its own for each test (the registration names it)."""

    def __init__(self, app, url: str, tenant: str):
        self.app, self.url, self.tenant = app, url, tenant

    def post(self, entity: dict) -> None:
        self.app.post(LD + "/entities", json=entity, headers={"NGSILD-Tenant": self.tenant}).raise_for_status()


@pytest.fixture(scope="module")
def town_app(tmp_path_factory, joined):
    app, url = town(joined, tmp_path_factory.mktemp("town-b"), "town-b.test")
    with app:
        yield app, url


@pytest.fixture
def town_b(town_app, request):
    return Town(*town_app, "t" + str(abs(hash(request.node.name)) % 10**8))


@pytest.fixture
def source():
    made: list[Source] = []

    def make(**kwargs) -> Source:
        made.append(Source(**kwargs))
        return made[-1]
    yield make
    for s in made:
        s.close()


def shelter(n: int, **attrs) -> dict:
    return {"id": f"urn:ngsi-ld:Shelter:{n}", "type": "Shelter", **attrs}


def prop(value, observed: str | None = None) -> dict:
    out = {"type": "Property", "value": value}
    if observed:
        out["observedAt"] = observed
    return out


def register(client, endpoint, *, mode: str = "inclusive", info: list | None = None, **extra) -> str:
    if isinstance(endpoint, Town):
        extra.setdefault("tenant", endpoint.tenant)
        endpoint = endpoint.url
    body = {"type": "ContextSourceRegistration", "endpoint": endpoint, "mode": mode,
            "information": info or [{"entities": [{"type": "Shelter"}]}], **extra}
    created = client.post(REGS, json=body)
    assert created.status_code == 201, created.text
    return created.headers["Location"].rsplit("/", 1)[1]


def kv(response) -> object:
    return response.json()


def test_retrieve_finds_an_entity_only_the_source_has(client, town_b):
    town_b.post(shelter(1, occupancy=prop(40)))
    register(client, town_b)
    got = client.get(LD + "/entities/urn:ngsi-ld:Shelter:1?options=keyValues")
    assert got.status_code == 200
    assert got.json() == {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "occupancy": 40}


def test_inclusive_merges_local_and_remote_attributes(client, town_b):
    town_b.post(shelter(1, occupancy=prop(40)))
    client.post(LD + "/entities", json=shelter(1, capacity=prop(100)))
    register(client, town_b)
    assert client.get(LD + "/entities/urn:ngsi-ld:Shelter:1?options=keyValues").json() == \
        {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "capacity": 100, "occupancy": 40}


def test_inclusive_keeps_the_most_recent_observation(client, town_b):
    town_b.post(shelter(1, occupancy=prop(45, "2026-12-01T10:00:00Z")))
    client.post(LD + "/entities", json=shelter(1, occupancy=prop(30, "2026-12-01T09:00:00Z")))
    register(client, town_b)
    assert client.get(LD + "/entities/urn:ngsi-ld:Shelter:1?options=keyValues").json()["occupancy"] == 45


def test_inclusive_keeps_a_newer_local_observation(client, town_b):
    town_b.post(shelter(1, occupancy=prop(45, "2026-12-01T08:00:00Z")))
    client.post(LD + "/entities", json=shelter(1, occupancy=prop(30, "2026-12-01T09:00:00Z")))
    register(client, town_b)
    assert client.get(LD + "/entities/urn:ngsi-ld:Shelter:1?options=keyValues").json()["occupancy"] == 30


def test_instances_of_other_datasets_are_kept_side_by_side(client, town_b):
    remote = {"type": "Property", "value": 45, "datasetId": "urn:ngsi-ld:Dataset:b"}
    town_b.post(shelter(1, occupancy=remote))
    client.post(LD + "/entities", json=shelter(1, occupancy=prop(30)))
    register(client, town_b)
    got = client.get(LD + "/entities/urn:ngsi-ld:Shelter:1").json()["occupancy"]
    assert sorted((i["value"], i.get("datasetId")) for i in got) == [(30, None), (45, "urn:ngsi-ld:Dataset:b")]


def test_exclusive_attributes_come_only_from_the_source(client, town_b):
    town_b.post(shelter(1, occupancy=prop(45, "2026-01-01T00:00:00Z"))
               )
    client.post(LD + "/entities", json=shelter(1, occupancy=prop(30, "2026-12-01T00:00:00Z"), capacity=prop(100)))
    register(client, town_b, mode="exclusive", info=[
        {"entities": [{"type": "Shelter", "id": "urn:ngsi-ld:Shelter:1"}], "propertyNames": ["occupancy"]}])
    assert client.get(LD + "/entities/urn:ngsi-ld:Shelter:1?options=keyValues").json() == \
        {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "capacity": 100, "occupancy": 45}


def test_exclusive_source_is_asked_only_for_its_attributes(client, source):
    fake = source(status=404)
    client.post(LD + "/entities", json=shelter(1, capacity=prop(100)))
    register(client, fake.url, mode="exclusive", info=[
        {"entities": [{"type": "Shelter", "id": "urn:ngsi-ld:Shelter:1"}], "propertyNames": ["occupancy"]}])
    client.get(LD + "/entities/urn:ngsi-ld:Shelter:1")
    [asked] = fake.requests
    assert asked["path"] == "/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:1?attrs=occupancy"


def test_redirect_without_attributes_takes_the_whole_entity(client, town_b):
    town_b.post(shelter(1, occupancy=prop(45)))
    client.post(LD + "/entities", json=shelter(1, capacity=prop(100)))
    register(client, town_b, mode="redirect")
    assert client.get(LD + "/entities/urn:ngsi-ld:Shelter:1?options=keyValues").json() == \
        {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "occupancy": 45}


def test_auxiliary_fills_only_missing_attributes(client, town_b):
    town_b.post(shelter(
        1, occupancy=prop(45, "2026-12-02T00:00:00Z"), capacity=prop(100)))
    client.post(LD + "/entities", json=shelter(1, occupancy=prop(30, "2026-01-01T00:00:00Z")))
    register(client, town_b, mode="auxiliary", operations=["retrieveOps"])
    assert client.get(LD + "/entities/urn:ngsi-ld:Shelter:1?options=keyValues").json() == \
        {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "occupancy": 30, "capacity": 100}


def test_local_true_asks_no_source(client, source):
    fake = source(status=404)
    client.post(LD + "/entities", json=shelter(1, capacity=prop(100)))
    register(client, fake.url)
    assert client.get(LD + "/entities/urn:ngsi-ld:Shelter:1?local=true").status_code == 200
    assert fake.requests == []


def test_registration_without_the_operation_is_not_asked(client, source):
    fake = source(status=404)
    client.post(LD + "/entities", json=shelter(1, capacity=prop(100)))
    register(client, fake.url, operations=["createEntity"])
    client.get(LD + "/entities/urn:ngsi-ld:Shelter:1")
    assert fake.requests == []


def test_registration_of_another_type_is_not_asked(client, source):
    fake = source(status=404)
    client.post(LD + "/entities", json=shelter(1, capacity=prop(100)))
    register(client, fake.url, info=[{"entities": [{"type": "Road"}]}])
    client.get(LD + "/entities/urn:ngsi-ld:Shelter:1")
    client.get(LD + "/entities?type=Shelter")
    assert fake.requests == []


def test_forwarded_request_carries_via_tenant_and_context_source_info(client, source):
    fake = source(status=404)
    client.post(LD + "/entities", json=shelter(1, capacity=prop(100)))
    register(client, fake.url, tenant="townb", contextSourceInfo=[{"key": "Authorization", "value": "Bearer b"}])
    client.get(LD + "/entities/urn:ngsi-ld:Shelter:1", headers={"Authorization": "Bearer of-the-client",
                                                               "Via": "1.1 upstream"})
    [asked] = fake.requests
    assert asked["headers"]["ngsild-tenant"] == "townb"
    assert asked["headers"]["authorization"] == "Bearer b"  # the registration's, never the client's
    assert asked["headers"]["via"] == "1.1 upstream, 1.1 toshi-127.0.0.1:1026"


def test_local_only_management_forwards_local_true(client, source):
    fake = source(status=404)
    client.post(LD + "/entities", json=shelter(1, capacity=prop(100)))
    register(client, fake.url, management={"localOnly": True})
    client.get(LD + "/entities/urn:ngsi-ld:Shelter:1")
    assert fake.requests[0]["path"].endswith("?local=true")


def test_a_request_that_passed_this_broker_is_not_forwarded_again(client, source):
    fake = source(status=404)
    client.post(LD + "/entities", json=shelter(1, capacity=prop(100)))
    register(client, fake.url)
    got = client.get(LD + "/entities/urn:ngsi-ld:Shelter:1", headers={"Via": "1.1 a, 1.1 toshi-127.0.0.1:1026"})
    assert got.status_code == 200 and fake.requests == []


def test_two_brokers_registering_each_other_answer_without_looping(tmp_path, town_b, joined):
    a, a_url = town(joined, tmp_path / "a", "broker-a.test")
    town_b.app.app.state.csources.transport = joined
    with a:
        a.app.state.csources.transport = joined
        tenant = {"NGSILD-Tenant": town_b.tenant}
        for here, there in ((a, town_b.url), (town_b.app, a_url)):
            reg = {"type": "ContextSourceRegistration", "endpoint": there, "tenant": town_b.tenant,
                   "information": [{"entities": [{"type": "Shelter"}]}]}
            here.post(REGS, json=reg, headers=tenant).raise_for_status()
        town_b.post(shelter(2, occupancy=prop(7)))
        got = a.get(LD + "/entities?type=Shelter&options=keyValues", headers=tenant)
        assert got.status_code == 200
        assert got.json() == [{"id": "urn:ngsi-ld:Shelter:2", "type": "Shelter", "occupancy": 7}]


def test_timeout_of_the_only_source_is_504_gateway_timeout(client, source):
    slow = source(status=404, delay=3)
    register(client, slow.url, management={"timeout": 200})
    got = client.get(LD + "/entities/urn:ngsi-ld:Shelter:1")
    assert got.status_code == 504
    assert got.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/GatewayTimeout"


def test_error_of_the_only_source_is_502_bad_gateway(client, source):
    broken = source(status=500, body={"type": "x"})
    reg_id = register(client, broken.url)
    got = client.get(LD + "/entities/urn:ngsi-ld:Shelter:1")
    assert got.status_code == 502
    assert got.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadGateway"
    assert reg_id in got.json()["detail"]


def test_failing_source_leaves_the_local_answer_with_a_warning(client, source):
    broken = source(status=500, body={"type": "x"})
    client.post(LD + "/entities", json=shelter(1, capacity=prop(100)))
    reg_id = register(client, broken.url)
    got = client.get(LD + "/entities/urn:ngsi-ld:Shelter:1?options=keyValues")
    assert got.status_code == 200 and got.json()["capacity"] == 100
    assert got.headers["NGSILD-Warning"] == f'199 {reg_id} "answered 500"'


def test_failures_are_counted_in_the_registration(client, source):
    broken = source(status=500, body={"type": "x"})
    client.post(LD + "/entities", json=shelter(1, capacity=prop(100)))
    reg_id = register(client, broken.url)
    client.get(LD + "/entities/urn:ngsi-ld:Shelter:1")
    got = client.get(f"{REGS}/{reg_id}").json()
    assert (got["status"], got["timesSent"], got["timesFailed"]) == ("failed", 1, 1) and "lastFailure" in got


def test_cooldown_after_a_failure_spares_the_source(client, source):
    broken = source(status=500, body={"type": "x"})
    client.post(LD + "/entities", json=shelter(1, capacity=prop(100)))
    register(client, broken.url, management={"cooldown": 60000})
    client.get(LD + "/entities/urn:ngsi-ld:Shelter:1")
    client.get(LD + "/entities/urn:ngsi-ld:Shelter:1")
    assert len(broken.requests) == 1


def test_garbage_from_a_source_is_a_bad_gateway(client, source):
    odd = source(status=200, body=[1, 2, 3])
    register(client, odd.url)
    assert client.get(LD + "/entities/urn:ngsi-ld:Shelter:1").status_code == 502


def test_query_merges_local_and_remote_entities(client, town_b):
    town_b.post(shelter(2, occupancy=prop(7)))
    town_b.post(shelter(1, occupancy=prop(40)))
    client.post(LD + "/entities", json=shelter(1, capacity=prop(100)))
    register(client, town_b)
    got = client.get(LD + "/entities?type=Shelter&options=keyValues&count=true")
    assert got.json() == [{"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "capacity": 100, "occupancy": 40},
                          {"id": "urn:ngsi-ld:Shelter:2", "type": "Shelter", "occupancy": 7}]
    assert got.headers["NGSILD-Results-Count"] == "2"


def test_query_pages_the_merged_result(client, town_b):
    for n in (2, 3):
        town_b.post(shelter(n, occupancy=prop(n)))
    client.post(LD + "/entities", json=shelter(1, capacity=prop(100)))
    register(client, town_b)
    got = client.get(LD + "/entities?type=Shelter&limit=1&offset=1")
    assert [e["id"] for e in got.json()] == ["urn:ngsi-ld:Shelter:2"]
    assert 'rel="next"' in got.headers["Link"] and 'rel="prev"' in got.headers["Link"]


def test_query_forwards_the_filters(client, town_b):
    town_b.post(shelter(2, occupancy=prop(7)))
    town_b.post(shelter(3, occupancy=prop(70)))
    register(client, town_b)
    got = client.get(LD + "/entities?type=Shelter&q=occupancy>10")
    assert [e["id"] for e in got.json()] == ["urn:ngsi-ld:Shelter:3"]


def test_geo_query_over_two_towns(client, town_b):
    near = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [135.48, 34.82]}}
    far = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [139.7, 35.7]}}
    town_b.post(shelter(2, location=near))
    town_b.post(shelter(3, location=far))
    client.post(LD + "/entities", json=shelter(1, location=near))
    register(client, town_b)
    got = client.get(LD + "/entities", params={"type": "Shelter", "georel": "near;maxDistance==5000",
                                               "geometry": "Point", "coordinates": "[135.47,34.82]"})
    assert [e["id"] for e in got.json()] == ["urn:ngsi-ld:Shelter:1", "urn:ngsi-ld:Shelter:2"]


def test_query_with_a_slow_source_answers_locally_with_a_warning(client, source):
    slow = source(status=200, body=[], delay=3)
    client.post(LD + "/entities", json=shelter(1, capacity=prop(100)))
    reg_id = register(client, slow.url, management={"timeout": 200})
    got = client.get(LD + "/entities?type=Shelter")
    assert got.status_code == 200 and [e["id"] for e in got.json()] == ["urn:ngsi-ld:Shelter:1"]
    assert got.headers["NGSILD-Warning"] == f'199 {reg_id} "no answer within 0.2 s"'


def test_query_exclusive_attributes_replace_local_ones(client, town_b):
    town_b.post(shelter(1, occupancy=prop(45)))
    client.post(LD + "/entities", json=shelter(1, occupancy=prop(30), capacity=prop(100)))
    register(client, town_b, mode="exclusive", info=[
        {"entities": [{"type": "Shelter", "id": "urn:ngsi-ld:Shelter:1"}], "propertyNames": ["occupancy"]}])
    got = client.get(LD + "/entities?type=Shelter&options=keyValues")
    assert got.json() == [{"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "capacity": 100, "occupancy": 45}]


class HideContact:
    """A read-path layer hiding the attribute `contact` from every reader (stands in for consent)."""

    order = CONSENT
    always = True  # applies with authentication off too, as the consent layer does
    reads_everything = False
    iri = DEFAULT + "contact"

    def guard_for(self, reader):
        return self

    def readable(self, entity):
        return {**entity, "attrs": {k: v for k, v in entity["attrs"].items() if k != self.iri}}

    def check_write(self, before, after):
        pass

    def permitted_attrs(self, action, entity):
        return None

    def type_visible(self, type_iri):
        return True

    def attribute_visible(self, attr_iri):
        return attr_iri != self.iri


def test_remote_entities_pass_the_local_read_path(fresh_client, town_b):
    client = fresh_client
    person = {"id": "urn:ngsi-ld:Resident:1", "type": "Resident", "contact": prop("090-0000-0000"),
              "ward": prop("Toyono")}
    town_b.post(person)
    register(client, town_b, info=[{"entities": [{"type": "Resident"}]}])
    client.app.state.toshi.read_path.use([HideContact()])
    one = client.get(LD + "/entities/urn:ngsi-ld:Resident:1?options=keyValues").json()
    many = client.get(LD + "/entities?type=Resident&options=keyValues").json()
    assert one == {"id": "urn:ngsi-ld:Resident:1", "type": "Resident", "ward": "Toyono"}
    assert many == [one]


class HideShelters:
    """A read-path layer hiding the Shelters 1 to 4 from every reader."""

    order = CONSENT
    always = True
    reads_everything = False

    def guard_for(self, reader):
        return self

    def readable(self, entity):
        return None if entity["id"].rsplit(":", 1)[1] in "1234" else entity

    def check_write(self, before, after):
        pass

    def permitted_attrs(self, action, entity):
        return None

    def type_visible(self, type_iri):
        return True

    def attribute_visible(self, attr_iri):
        return True


def test_a_source_is_asked_only_for_what_the_page_needs(client, source):
    fake = source(status=200, body=[])
    register(client, fake.url)
    client.get(LD + "/entities?type=Shelter&limit=2&offset=3")
    client.post(LD + "/entityOperations/query?limit=2", json={"type": "Query", "entities": [{"type": "Shelter"}]})
    client.get(LD + "/entities?type=Shelter&limit=2&count=true")  # the total: every match counts
    client.get(LD + "/entities?type=Shelter&limit=2&orderBy=name")  # ordered here: every match counts
    client.post(LD + "/entityOperations/query?limit=2", json={"type": "Query", "entities": [{"type": "Shelter"}],
                                                             "ordering": {"orderBy": ["name"]}})
    limits = [dict(p.split("=") for p in r["path"].split("?")[1].split("&"))["limit"] for r in fake.requests]
    assert limits == ["6", "3", "1000", "1000", "1000"]


def test_an_entity_of_the_page_beyond_a_cut_answer_is_asked_for_alone(client, town_b):
    for n in (1, 2, 3, 4):
        town_b.post(shelter(n, occupancy=prop(n)))
    client.post(LD + "/entities", json=shelter(4, capacity=prop(100)))
    register(client, town_b)
    got = client.get(LD + "/entities?type=Shelter&limit=1&options=keyValues")
    assert got.json() == [{"id": "urn:ngsi-ld:Shelter:4", "type": "Shelter", "capacity": 100, "occupancy": 4}]
    assert 'rel="next"' in got.headers["Link"]
    got = client.post(LD + "/entityOperations/query?limit=1&options=keyValues",
                      json={"type": "Query", "entities": [{"type": "Shelter"}]})
    assert got.json() == [{"id": "urn:ngsi-ld:Shelter:4", "type": "Shelter", "capacity": 100, "occupancy": 4}]


def test_a_cut_answer_the_read_path_thins_is_asked_again_for_more(fresh_client, town_b):
    for n in range(1, 7):
        town_b.post(shelter(n, occupancy=prop(n)))
    register(fresh_client, town_b)
    fresh_client.app.state.toshi.read_path.use([HideShelters()])
    got = fresh_client.get(LD + "/entities?type=Shelter&limit=1&options=keyValues")
    assert got.json() == [{"id": "urn:ngsi-ld:Shelter:5", "type": "Shelter", "occupancy": 5}]
    assert 'rel="next"' in got.headers["Link"]
    got = fresh_client.get(LD + "/entities?type=Shelter&limit=1&offset=1&options=keyValues")
    assert [e["id"] for e in got.json()] == ["urn:ngsi-ld:Shelter:6"]
    assert 'rel="next"' not in got.headers["Link"]


def test_federation_name_must_be_one_token_for_via():
    from toshi.config import Settings, validate

    with pytest.raises(ValueError, match="federation_name must be one token"):
        validate(Settings(federation_name="town a, town b"))


def test_federation_name_names_this_broker_in_via(tmp_path, source):
    from starlette.testclient import TestClient

    from toshi.app import create_app
    from toshi.config import Settings

    fake = source(status=404)
    with TestClient(create_app(Settings(data_dir=str(tmp_path), federation_name="toyono.example"))) as named:
        register(named, fake.url)
        named.get(LD + "/entities/urn:ngsi-ld:Shelter:1")
        assert named.get(LD + "/entities/urn:ngsi-ld:Shelter:1", headers={"Via": "1.1 toyono.example"}).status_code == 404
    assert [r["headers"]["via"] for r in fake.requests] == ["1.1 toyono.example"]


def test_post_query_is_distributed_as_a_query(client, town_b):
    town_b.post(shelter(2, occupancy=prop(7)))
    town_b.post(shelter(3, occupancy=prop(70)))
    client.post(LD + "/entities", json=shelter(1, occupancy=prop(90)))
    register(client, town_b)
    got = client.post(LD + "/entityOperations/query?options=keyValues", json={
        "type": "Query", "entities": [{"type": "Shelter"}], "q": "occupancy>10"})
    assert got.status_code == 200
    assert got.json() == [{"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "occupancy": 90},
                          {"id": "urn:ngsi-ld:Shelter:3", "type": "Shelter", "occupancy": 70}]


def test_post_query_asks_only_registrations_for_query_batch(client, source):
    fake = source(status=200, body=[])
    register(client, fake.url, operations=["retrieveOps"])  # retrieveEntity and queryEntity, not queryBatch
    client.post(LD + "/entityOperations/query", json={"type": "Query", "entities": [{"type": "Shelter"}]})
    assert fake.requests == []


def test_post_query_asks_an_exclusive_source_only_for_its_attributes(client, source):
    fake = source(status=200, body=[])
    register(client, fake.url, mode="exclusive", info=[
        {"entities": [{"type": "Shelter", "id": "urn:ngsi-ld:Shelter:1"}], "propertyNames": ["occupancy"]}])
    client.post(LD + "/entityOperations/query", json={"type": "Query", "entities": [{"type": "Shelter"}],
                                                       "q": "capacity>1"})
    [asked] = fake.requests
    assert (asked["method"], asked["path"].split("?")[0]) == ("POST", "/ngsi-ld/v1/entityOperations/query")
    assert asked["body"] == {"type": "Query", "entities": [{"type": "Shelter"}], "q": "capacity>1",
                             "attrs": ["occupancy"]}


# -- management.cacheDuration: the minimal time between two consumption requests for the same data

def test_cache_duration_spares_the_source_a_second_request(client, source):
    fake = source(status=200, body={"id": "urn:ngsi-ld:Shelter:9", "type": "Shelter", "occupancy": prop(3)})
    register(client, fake.url, management={"cacheDuration": "PT1M"})
    answers = [client.get(LD + "/entities/urn:ngsi-ld:Shelter:9?options=keyValues").json() for _ in range(2)]
    assert answers == [{"id": "urn:ngsi-ld:Shelter:9", "type": "Shelter", "occupancy": 3}] * 2
    assert len(fake.requests) == 1


def test_without_cache_duration_every_request_asks_the_source(client, source):
    fake = source(status=404)
    register(client, fake.url)
    for _ in range(2):
        client.get(LD + "/entities/urn:ngsi-ld:Shelter:9")
    assert len(fake.requests) == 2


def test_cache_duration_is_per_request(client, source):
    fake = source(status=404)
    register(client, fake.url, management={"cacheDuration": "PT1M"})
    client.get(LD + "/entities/urn:ngsi-ld:Shelter:9")
    client.get(LD + "/entities/urn:ngsi-ld:Shelter:8")
    assert len(fake.requests) == 2


def test_a_changed_registration_is_asked_again(client, source):
    fake = source(status=404)
    reg_id = register(client, fake.url, management={"cacheDuration": "PT1M"})
    client.get(LD + "/entities/urn:ngsi-ld:Shelter:9")
    assert client.patch(f"{REGS}/{reg_id}", json={"registrationName": "renamed"}).status_code == 204
    client.get(LD + "/entities/urn:ngsi-ld:Shelter:9")
    assert len(fake.requests) == 2


# -- pitfalls others hit (city-domain.md): JSON-LD answers, doubled slashes, datasetId not forwarded

def test_a_json_ld_answer_with_its_context_is_read(client, source):
    answer = [{"@context": ["https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"],
               "id": "urn:ngsi-ld:Shelter:7", "type": "Shelter", "occupancy": prop(7)}]
    fake = source(status=200, body=answer)
    register(client, fake.url)
    got = client.get(LD + "/entities?type=Shelter&options=keyValues")
    assert got.status_code == 200
    assert got.json() == [{"id": "urn:ngsi-ld:Shelter:7", "type": "Shelter", "occupancy": 7}]


def test_an_endpoint_ending_in_a_slash_is_asked_without_a_double_slash(client, source):
    fake = source(status=404)
    register(client, fake.url + "/ngsi-ld/v1/")
    client.get(LD + "/entities/urn:ngsi-ld:Shelter:1")
    assert [r["path"] for r in fake.requests] == ["/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:1"]


def test_dataset_id_is_forwarded_with_the_query(client, source):
    fake = source(status=200, body=[])
    register(client, fake.url)
    client.get(LD + "/entities?type=Shelter&datasetId=urn:ngsi-ld:Dataset:b")
    [asked] = fake.requests
    assert "datasetId=urn%3Angsi-ld%3ADataset%3Ab" in asked["path"]
