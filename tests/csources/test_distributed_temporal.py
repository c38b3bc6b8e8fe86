"""Distributed temporal retrieve and query (CIM 009 v1.8 5.7.3, 5.7.4 with context sources): the
temporal API also asks registrations supporting retrieveTemporal / queryTemporal and merges their
instances with its own; what it shows passes the local read path. Town B is a Toshi in this process
(federation_towns.py)."""

from __future__ import annotations

import pytest
from federation_towns import town

from toshi.core.access import CONSENT

LD = "/ngsi-ld/v1"
REGS = LD + "/csourceRegistrations"
ID = "urn:ngsi-ld:Shelter:t1"
DEFAULT = "https://uri.etsi.org/ngsi-ld/default-context/"
TEMPORAL = ["retrieveTemporal", "queryTemporal"]


def at(value, time: str) -> dict:
    return {"type": "Property", "value": value, "observedAt": time}


@pytest.fixture(scope="module")
def town_b(tmp_path_factory, joined):
    app, url = town(joined, tmp_path_factory.mktemp("town-b-temporal"), "town-b.test")
    with app:
        app.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": at(5, "2026-12-01T10:00:00Z"),
                                         "contact": at("06-1111", "2026-12-01T10:00:00Z")}).raise_for_status()
        app.post(LD + "/entities", json={"id": "urn:ngsi-ld:Shelter:t2", "type": "Shelter",
                                         "occupancy": at(9, "2026-12-01T11:00:00Z")}).raise_for_status()
        yield url


def register(client, endpoint: str, operations=TEMPORAL) -> str:
    body = {"type": "ContextSourceRegistration", "endpoint": endpoint, "operations": operations,
            "information": [{"entities": [{"type": "Shelter"}]}]}
    created = client.post(REGS, json=body)
    assert created.status_code == 201, created.text
    return created.headers["Location"].rsplit("/", 1)[1]


def values(body: dict, attr: str) -> list:
    instances = body[attr] if isinstance(body[attr], list) else [body[attr]]
    return sorted(i["value"] for i in instances)


def test_retrieve_joins_the_instances_of_both_sides(client, town_b):
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": at(3, "2026-12-01T09:00:00Z")})
    register(client, town_b)
    got = client.get(f"{LD}/temporal/entities/{ID}")
    assert got.status_code == 200
    assert values(got.json(), "occupancy") == [3, 5]


def test_retrieve_of_an_entity_only_the_source_has(client, town_b):
    register(client, town_b)
    got = client.get(f"{LD}/temporal/entities/{ID}")
    assert got.status_code == 200 and values(got.json(), "occupancy") == [5]


def test_query_adds_the_sources_entities(client, town_b):
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": at(3, "2026-12-01T09:00:00Z")})
    register(client, town_b)
    got = client.get(f"{LD}/temporal/entities?type=Shelter&count=true")
    assert [(e["id"], values(e, "occupancy")) for e in got.json()] == [
        (ID, [3, 5]), ("urn:ngsi-ld:Shelter:t2", [9])]
    assert got.headers["NGSILD-Results-Count"] == "2"


def test_a_registration_without_the_temporal_operations_is_not_asked(client, town_b):
    register(client, town_b, operations=["federationOps"])
    assert client.get(f"{LD}/temporal/entities/{ID}").status_code == 404


def test_local_true_asks_no_source(client, town_b):
    register(client, town_b)
    assert client.get(f"{LD}/temporal/entities/{ID}?local=true").status_code == 404


def test_the_only_source_failing_is_a_bad_gateway(client):
    from support import free_port

    register(client, f"http://127.0.0.1:{free_port()}")
    got = client.get(f"{LD}/temporal/entities/{ID}")
    assert got.status_code == 502


class HideContact:
    """A read-path layer hiding the attribute `contact` from every reader (stands in for consent)."""

    order = CONSENT
    always = True
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


def test_remote_temporal_entities_pass_the_local_read_path(fresh_client, town_b):
    register(fresh_client, town_b)
    fresh_client.app.state.toshi.read_path.use([HideContact()])
    one = fresh_client.get(f"{LD}/temporal/entities/{ID}").json()
    many = fresh_client.get(f"{LD}/temporal/entities?type=Shelter").json()
    assert "contact" not in one and "occupancy" in one
    assert all("contact" not in e for e in many)


def posted_query(client, query: dict, **params):
    return client.post(f"{LD}/temporal/entityOperations/query", json={"type": "Query", **query}, params=params)


def test_post_query_adds_the_sources_entities(client, town_b):
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": at(3, "2026-12-01T09:00:00Z")})
    register(client, town_b)
    got = posted_query(client, {"entities": [{"type": "Shelter"}]}, count="true")
    assert got.status_code == 200, got.text
    assert [(e["id"], values(e, "occupancy")) for e in got.json()] == [
        (ID, [3, 5]), ("urn:ngsi-ld:Shelter:t2", [9])]
    assert got.headers["NGSILD-Results-Count"] == "2"


def test_post_query_sends_its_temporal_query_on(client, town_b):
    register(client, town_b)
    got = posted_query(client, {"entities": [{"type": "Shelter"}],
                                "temporalQ": {"timerel": "after", "timeAt": "2026-12-01T10:30:00Z"}})
    assert {e["id"]: values(e, "occupancy") if "occupancy" in e else [] for e in got.json()} == {
        ID: [], "urn:ngsi-ld:Shelter:t2": [9]}


def test_post_query_sends_its_filters_on(client, town_b):
    register(client, town_b)
    got = posted_query(client, {"entities": [{"type": "Shelter"}], "q": "occupancy>6"})
    assert [e["id"] for e in got.json()] == ["urn:ngsi-ld:Shelter:t2"]


def test_post_query_of_a_registration_without_query_temporal_is_local(client, town_b):
    register(client, town_b, operations=["retrieveTemporal", "queryBatch"])
    assert posted_query(client, {"entities": [{"type": "Shelter"}]}).json() == []


def test_post_query_with_local_true_asks_no_source(client, town_b):
    register(client, town_b)
    assert posted_query(client, {"entities": [{"type": "Shelter"}]}, local="true").json() == []


def test_post_query_whose_only_source_fails_is_a_bad_gateway(client):
    from support import free_port

    register(client, f"http://127.0.0.1:{free_port()}")
    assert posted_query(client, {"entities": [{"type": "Shelter"}]}).status_code == 502


def test_a_repeated_aggr_methods_is_forwarded_merged(client, town_b):
    """The source is asked for every method of a repeated aggrMethods, as the local answer gives them."""
    register(client, town_b)
    got = client.get(f"{LD}/temporal/entities/{ID}", params=[
        ("options", "aggregatedValues"), ("attrs", "occupancy"), ("aggrMethods", "min"), ("aggrMethods", "max")])
    assert got.status_code == 200, got.text
    assert {"min", "max"} <= got.json()["occupancy"].keys()
