"""Opening a dataset lets anonymous callers read exactly its attributes, through the NGSI-LD API and
its distributions; closing it takes that away; personal data can never be opened."""

from __future__ import annotations

from catalogue_samples import read_csv

ADMIN = "/catalogue/admin/datasets"
SITE = "urn:ngsi-ld:EvacuationSite:273619:000"


def publish(town, shelters_csv, attrs: list[str]) -> None:
    town.imported("shelters", shelters_csv(1))
    r = town.client.patch(f"{ADMIN}/shelters", json={"attrs": attrs}, headers=town.admin)
    assert r.status_code == 200, r.text
    town.opened("shelters")


def test_anonymous_reads_exactly_the_open_attributes(town, shelters_csv):
    publish(town, shelters_csv, ["name", "location", "maxCapacity"])
    r = town.client.get(f"/ngsi-ld/v1/entities/{SITE}", params={"options": "keyValues"})
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"id", "type", "name", "location", "maxCapacity"}


def test_a_closed_dataset_is_not_readable_anonymously(town, shelters_csv):
    publish(town, shelters_csv, ["name"])
    assert town.client.post(f"{ADMIN}/shelters/close", headers=town.admin).status_code == 200
    assert town.client.get(f"/ngsi-ld/v1/entities/{SITE}").status_code == 401
    assert town.client.get("/catalogue/datasets/shelters.csv").status_code == 404


def test_other_entity_types_stay_closed(town, shelters_csv):
    publish(town, shelters_csv, ["name"])
    entity = {"id": "urn:ngsi-ld:Resident:1", "type": "Resident", "name": {"type": "Property", "value": "山田"}}
    assert town.client.post("/ngsi-ld/v1/entities", json=entity, headers=town.admin).status_code == 201
    r = town.client.get("/ngsi-ld/v1/entities", params={"type": "Resident"})
    assert r.status_code == 200 and r.json() == []


def test_the_csv_carries_only_the_open_attributes(town, shelters_csv):
    publish(town, shelters_csv, ["name", "location"])
    table = read_csv(town.client.get("/catalogue/datasets/shelters.csv").content)
    row = dict(zip(table[0], table[1]))
    assert (row["名称"], row["緯度"], row["経度"]) == ("名称0", "34.82", "135.47")
    assert {h for h, v in row.items() if v} == {"名称", "緯度", "経度"}


def test_the_geojson_carries_only_the_open_attributes(town, shelters_csv):
    publish(town, shelters_csv, ["name", "location"])
    [feature] = town.client.get("/catalogue/datasets/shelters.geojson").json()["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [135.47, 34.82]}
    assert feature["properties"] == {"type": "EvacuationSite", "name": "名称0"}


def test_an_admin_api_call_needs_the_admin_role(town):
    assert town.client.get(ADMIN).status_code == 401


def test_personal_data_can_never_be_opened(town, shelters_csv):
    town.imported("shelters", shelters_csv(1))
    declaration = {"type": "EvacuationSite", "subject": "@id", "attributes": {"telephone": "personal"}}
    assert town.client.post("/consent/declarations", json=declaration, headers=town.admin).status_code == 201
    r = town.client.patch(f"{ADMIN}/shelters", json={"attrs": ["name", "telephone"]}, headers=town.admin)
    assert r.status_code == 200
    r = town.client.post(f"{ADMIN}/shelters/open", headers=town.admin)
    assert r.status_code == 400 and "telephone" in r.json()["detail"]
    assert town.client.get(f"/ngsi-ld/v1/entities/{SITE}").status_code == 401


def test_opening_needs_the_attributes_named(town):
    assert town.client.post(ADMIN, json={"name": "empty", "type": "Thing"}, headers=town.admin).status_code == 201
    r = town.client.post(f"{ADMIN}/empty/open", headers=town.admin)
    assert r.status_code == 400 and "attrs" in r.json()["detail"]
