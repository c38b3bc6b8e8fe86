"""Distributed discovery (CIM 009 v1.8 5.7.5-5.7.10 with context sources, 6.3.18): /types and
/attributes, plain and with details, and their Info forms, merge what registered sources answer; town B
is a Toshi in this process (federation_towns.py)."""

from __future__ import annotations

import pytest
from federation_towns import town

LD = "/ngsi-ld/v1"
REGS = LD + "/csourceRegistrations"


@pytest.fixture(scope="module")
def town_b(tmp_path_factory, joined):
    app, url = town(joined, tmp_path_factory.mktemp("town-b-types"), "town-b.test")
    with app:
        for body in ({"id": "urn:ngsi-ld:Shelter:b1", "type": "Shelter", "occupancy": {"value": 4},
                      "status": {"value": "open"}},
                     {"id": "urn:ngsi-ld:Road:b1", "type": "Road", "status": {"type": "Relationship",
                                                                             "object": "urn:ngsi-ld:X:1"}}):
            app.post(LD + "/entities", json=body).raise_for_status()
        yield url


@pytest.fixture
def broker(client, town_b):
    client.post(LD + "/entities", json={"id": "urn:ngsi-ld:Shelter:a1", "type": "Shelter",
                                        "capacity": {"value": 100}, "status": {"value": "closed"}})
    return client


def register(client, endpoint: str, **extra) -> str:
    body = {"type": "ContextSourceRegistration", "endpoint": endpoint,
            "information": [{"entities": [{"type": "Shelter"}, {"type": "Road"}]}], **extra}
    created = client.post(REGS, json=body)
    assert created.status_code == 201, created.text
    return created.headers["Location"].rsplit("/", 1)[1]


def test_types_lists_the_sources_types_too(broker, town_b):
    register(broker, town_b)
    assert broker.get(LD + "/types").json()["typeList"] == ["Road", "Shelter"]


def test_type_details_merge_the_attribute_names(broker, town_b):
    register(broker, town_b)
    got = {t["typeName"]: t["attributeNames"] for t in broker.get(LD + "/types?details=true").json()}
    assert got == {"Road": ["status"], "Shelter": ["capacity", "occupancy", "status"]}


def test_type_info_adds_the_counts_and_attribute_types(broker, town_b):
    register(broker, town_b)
    got = broker.get(LD + "/types/Shelter").json()
    assert got["entityCount"] == 2
    assert {a["attributeName"]: a["attributeTypes"] for a in got["attributeDetails"]} == {
        "capacity": ["Property"], "occupancy": ["Property"], "status": ["Property"]}


def test_type_info_counts_an_entity_both_here_and_at_a_source_once(broker, town_b):
    broker.post(LD + "/entities", json={"id": "urn:ngsi-ld:Shelter:b1", "type": "Shelter", "capacity": {"value": 50}})
    register(broker, town_b)  # inclusive: b1 is one entity, merged from here and there
    assert broker.get(LD + "/types/Shelter").json()["entityCount"] == 2


def test_type_info_counts_what_a_source_cannot_list_as_it_said(broker, town_b):
    broker.post(LD + "/entities", json={"id": "urn:ngsi-ld:Shelter:b1", "type": "Shelter", "capacity": {"value": 50}})
    register(broker, town_b, operations=["retrieveEntityTypeInfo"])  # no queryEntity: its ids are not asked
    assert broker.get(LD + "/types/Shelter").json()["entityCount"] == 3


def test_type_info_of_a_type_only_a_source_has(broker, town_b):
    register(broker, town_b)
    assert broker.get(LD + "/types/Road").json()["entityCount"] == 1


def test_attributes_lists_the_sources_attributes_too(broker, town_b):
    register(broker, town_b)
    assert broker.get(LD + "/attributes").json()["attributeList"] == ["capacity", "occupancy", "status"]


def test_attribute_info_merges_types_and_attribute_types(broker, town_b):
    register(broker, town_b)
    got = broker.get(LD + "/attributes/status").json()
    assert (got["attributeCount"], got["attributeTypes"], got["typeNames"]) == (
        3, ["Property", "Relationship"], ["Road", "Shelter"])


def test_attribute_details_name_the_sources_types(broker, town_b):
    register(broker, town_b)
    got = {a["attributeName"]: a["typeNames"] for a in broker.get(LD + "/attributes?details=true").json()}
    assert got["occupancy"] == ["Shelter"] and got["status"] == ["Road", "Shelter"]


def test_a_registration_without_the_operation_is_not_asked(broker, town_b):
    register(broker, town_b, operations=["retrieveOps"])
    assert broker.get(LD + "/types").json()["typeList"] == ["Shelter"]


def test_local_true_asks_no_source(broker, town_b):
    register(broker, town_b)
    assert broker.get(LD + "/attributes?local=true").json()["attributeList"] == ["capacity", "status"]


def test_a_failing_source_leaves_the_local_answer_with_a_warning(broker):
    from support import free_port

    reg_id = register(broker, f"http://127.0.0.1:{free_port()}")
    got = broker.get(LD + "/types")
    assert got.json()["typeList"] == ["Shelter"]
    assert got.headers["NGSILD-Warning"].startswith(f'199 {reg_id} "cannot be reached')


def test_type_info_only_a_failing_source_could_give_is_a_bad_gateway(broker):
    from support import free_port

    register(broker, f"http://127.0.0.1:{free_port()}")
    got = broker.get(LD + "/types/Road")
    assert got.status_code == 502
    assert got.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadGateway"
