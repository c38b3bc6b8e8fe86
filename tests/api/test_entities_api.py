"""NGSI-LD entity endpoints through the real app."""

from __future__ import annotations

import orjson
from support import CORE_CONTEXT, LD, error_type


def shelter(n: int = 1, **attrs) -> dict:
    entity = {
        "id": f"urn:ngsi-ld:Shelter:{n:03d}",
        "type": "Shelter",
        "name": {"type": "Property", "value": f"Shelter {n}"},
        "capacity": {"type": "Property", "value": 200, "unitCode": "C62"},
        "occupancy": {"type": "Property", "value": 20 * n, "observedAt": "2026-11-24T09:00:00Z"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [135.47 + n / 1000, 34.82]}},
    }
    entity.update(attrs)
    return entity


def create(client, entity: dict, headers=None):
    response = client.post("/ngsi-ld/v1/entities", json=entity, headers=headers)
    assert response.status_code == 201, response.text
    return response


def test_create_and_retrieve_normalized(client):
    response = create(client, shelter(1))
    assert response.headers["location"] == "/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001"
    got = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/json")
    assert CORE_CONTEXT in got.headers["link"] or "ngsi-ld-core-context" in got.headers["link"]
    body = got.json()
    assert body["id"] == "urn:ngsi-ld:Shelter:001"
    assert body["type"] == "Shelter"
    assert body["capacity"] == {"type": "Property", "value": 200, "unitCode": "C62"}
    assert body["occupancy"]["observedAt"].startswith("2026-11-24T09:00:00")
    assert body["location"]["value"]["type"] == "Point"
    assert "createdAt" not in body


def test_create_twice_is_already_exists(client):
    create(client, shelter(1))
    again = client.post("/ngsi-ld/v1/entities", json=shelter(1))
    assert again.status_code == 409
    assert error_type(again) == "AlreadyExists"


def test_retrieve_missing_is_404(client):
    response = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:999")
    assert response.status_code == 404
    assert error_type(response) == "ResourceNotFound"
    assert response.json()["status"] == 404


def test_ld_json_body_and_accept(client):
    entity = {**shelter(2), "@context": CORE_CONTEXT}
    create(client, entity, headers=LD)
    got = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:002", headers={"Accept": "application/ld+json"})
    assert got.headers["content-type"].startswith("application/ld+json")
    assert "@context" in got.json()
    assert "link" not in got.headers


def test_ld_json_without_context_is_bad_request(client):
    response = client.post("/ngsi-ld/v1/entities", json=shelter(3), headers=LD)
    assert response.status_code == 400
    assert error_type(response) == "BadRequestData"


def test_context_in_json_body_is_bad_request(client):
    response = client.post("/ngsi-ld/v1/entities", json={**shelter(3), "@context": CORE_CONTEXT})
    assert response.status_code == 400


def test_unsupported_media_type_and_not_acceptable(client):
    response = client.post("/ngsi-ld/v1/entities", content=b"<x/>", headers={"Content-Type": "application/xml"})
    assert response.status_code == 415
    create(client, shelter(1))
    response = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001", headers={"Accept": "text/html"})
    assert response.status_code == 406


def test_malformed_json_writes_nothing(client):
    response = client.post("/ngsi-ld/v1/entities", content=b'{"id": "urn:x:1", "type": ',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert error_type(response) == "InvalidRequest"
    assert client.get("/ngsi-ld/v1/entities/urn:x:1").status_code == 404


def test_invalid_id_rejected(client):
    response = client.post("/ngsi-ld/v1/entities", json={"id": "not a uri", "type": "T"})
    assert response.status_code == 400
    assert error_type(response) == "BadRequestData"


def test_oversized_payload_rejected(client):
    big = shelter(1, blob={"type": "Property", "value": "x" * 1_100_000})
    response = client.post("/ngsi-ld/v1/entities", json=big)
    assert response.status_code == 413
    assert client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001").status_code == 404


def test_deep_nesting_rejected(client):
    value: dict = {"leaf": 1}
    for _ in range(200):
        value = {"n": value}
    response = client.post("/ngsi-ld/v1/entities", json=shelter(1, deep={"type": "Property", "value": value}))
    assert response.status_code == 400
    assert client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001").status_code == 404


def test_key_values_concise_sysattrs(client):
    create(client, shelter(1))
    url = "/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001"
    kv = client.get(url, params={"options": "keyValues"}).json()
    assert kv["capacity"] == 200 and kv["name"] == "Shelter 1"
    assert client.get(url, params={"format": "simplified"}).json() == kv
    concise = client.get(url, params={"options": "concise"}).json()
    assert concise["capacity"] == {"value": 200, "unitCode": "C62"}
    sys = client.get(url, params={"options": "sysAttrs"}).json()
    assert "createdAt" in sys and "modifiedAt" in sys and "createdAt" in sys["capacity"]


def test_unknown_option_rejected(client):
    create(client, shelter(1))
    response = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001", params={"options": "bogus"})
    assert response.status_code == 400


def test_attrs_pick_omit(client):
    create(client, shelter(1))
    url = "/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001"
    only = client.get(url, params={"attrs": "capacity"}).json()
    assert set(only) == {"id", "type", "capacity"}
    picked = client.get(url, params={"pick": "id,name"}).json()
    assert set(picked) == {"id", "name"}
    omitted = client.get(url, params={"omit": "location,type"}).json()
    assert "location" not in omitted and "type" not in omitted and "capacity" in omitted


def test_replace_entity(client):
    create(client, shelter(1))
    url = "/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001"
    before = client.get(url, params={"options": "sysAttrs"}).json()
    response = client.put(url, json={"type": "Shelter", "open": {"type": "Property", "value": True}})
    assert response.status_code == 204, response.text
    after = client.get(url, params={"options": "sysAttrs"}).json()
    assert "capacity" not in after and after["open"]["value"] is True
    assert after["createdAt"] == before["createdAt"]
    assert client.put("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:404", json={"type": "Shelter"}).status_code == 404


def test_merge_patch_entity(client):
    create(client, shelter(1))
    url = "/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001"
    patch = {"occupancy": {"type": "Property", "value": 150}, "name": "urn:ngsi-ld:null",
             "open": {"type": "Property", "value": True}}
    response = client.patch(url, content=orjson.dumps(patch), headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 204, response.text
    body = client.get(url).json()
    assert body["occupancy"]["value"] == 150
    assert body["occupancy"]["observedAt"].startswith("2026-11-24T09:00:00")  # kept: merge, not replace
    assert "name" not in body
    assert body["open"]["value"] is True


def test_delete_entity(client):
    create(client, shelter(1))
    url = "/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001"
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404


def test_append_attrs_and_no_overwrite(client):
    create(client, shelter(1))
    url = "/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001/attrs"
    response = client.post(url, json={"capacity": {"type": "Property", "value": 300},
                                      "phone": {"type": "Property", "value": "072-000-0000"}})
    assert response.status_code == 204
    response = client.post(url, params={"options": "noOverwrite"},
                           json={"capacity": {"type": "Property", "value": 999},
                                 "email": {"type": "Property", "value": "a@b.jp"}})
    assert response.status_code == 207
    assert response.json()["notUpdated"][0]["attributeName"] == "capacity"
    assert response.json()["updated"] == ["email"]
    body = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001").json()
    assert body["capacity"]["value"] == 300 and body["phone"]["value"] == "072-000-0000" and "email" in body


def test_update_attrs_only_existing(client):
    create(client, shelter(1))
    url = "/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001/attrs"
    response = client.patch(url, json={"capacity": {"type": "Property", "value": 250},
                                       "unknown": {"type": "Property", "value": 1}})
    assert response.status_code == 207
    assert response.json()["updated"] == ["capacity"]
    assert response.json()["notUpdated"][0]["attributeName"] == "unknown"
    body = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001").json()
    assert body["capacity"]["value"] == 250 and "unknown" not in body
    assert client.patch(url, json={"capacity": {"type": "Property", "value": 1}}).status_code == 204


def test_partial_attribute_update_replace_delete(client):
    create(client, shelter(1))
    base = "/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001"
    assert client.patch(base + "/attrs/occupancy", json={"value": 55}).status_code == 204
    body = client.get(base).json()
    assert body["occupancy"]["value"] == 55 and "observedAt" in body["occupancy"]
    assert client.put(base + "/attrs/occupancy", json={"type": "Property", "value": 60}).status_code == 204
    body = client.get(base).json()
    assert body["occupancy"] == {"type": "Property", "value": 60}
    assert client.patch(base + "/attrs/missing", json={"value": 1}).status_code == 404
    assert client.delete(base + "/attrs/occupancy").status_code == 204
    assert "occupancy" not in client.get(base).json()
    assert client.delete(base + "/attrs/occupancy").status_code == 404


def test_multi_instance_dataset_ids(client):
    entity = shelter(1, temperature=[
        {"type": "Property", "value": 20},
        {"type": "Property", "value": 21, "datasetId": "urn:ngsi-ld:Dataset:sensorA"},
    ])
    create(client, entity)
    base = "/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001"
    body = client.get(base).json()
    assert isinstance(body["temperature"], list) and len(body["temperature"]) == 2
    response = client.delete(base + "/attrs/temperature", params={"datasetId": "urn:ngsi-ld:Dataset:sensorA"})
    assert response.status_code == 204
    assert client.get(base).json()["temperature"] == {"type": "Property", "value": 20}
    create_again = client.post(base + "/attrs", json={"temperature": {
        "type": "Property", "value": 22, "datasetId": "urn:ngsi-ld:Dataset:sensorB"}})
    assert create_again.status_code == 204
    assert client.delete(base + "/attrs/temperature", params={"deleteAll": "true"}).status_code == 204
    assert "temperature" not in client.get(base).json()


def test_all_attribute_kinds_round_trip(client):
    entity = {
        "id": "urn:ngsi-ld:Thing:1", "type": "Thing",
        "prop": {"type": "Property", "value": {"nested": [1, 2]}},
        "rel": {"type": "Relationship", "object": "urn:ngsi-ld:Shelter:001"},
        "geo": {"type": "GeoProperty", "value": {"type": "Polygon", "coordinates": [
            [[135.0, 34.0], [135.1, 34.0], [135.1, 34.1], [135.0, 34.0]]]}},
        "label": {"type": "LanguageProperty", "languageMap": {"ja": "避難所", "en": "shelter"}},
        "raw": {"type": "JsonProperty", "json": {"any": ["thing", 1]}},
        "category": {"type": "VocabProperty", "vocab": "shelter"},
        "readings": {"type": "ListProperty", "valueList": [1, 2, 3]},
        "members": {"type": "ListRelationship", "objectList": [{"object": "urn:a:1"}, {"object": "urn:a:2"}]},
        "withSub": {"type": "Property", "value": 5,
                    "accuracy": {"type": "Property", "value": 0.5,
                                 "source": {"type": "Relationship", "object": "urn:ngsi-ld:Device:1"}}},
    }
    create(client, entity)
    body = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Thing:1").json()
    for name in ("prop", "rel", "geo", "label", "raw", "category", "readings", "members", "withSub"):
        assert body[name] == entity[name], name


def test_lang_option(client):
    create(client, {"id": "urn:ngsi-ld:Thing:2", "type": "Thing",
                    "label": {"type": "LanguageProperty", "languageMap": {"ja": "避難所", "en": "shelter"}}})
    body = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Thing:2", params={"lang": "ja"}).json()
    assert body["label"]["value"] == "避難所"
    kv = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Thing:2", params={"lang": "en", "options": "keyValues"}).json()
    assert kv["label"] == "shelter"


def test_user_context_via_link_header(client):
    context_url = "http://127.0.0.1:1/never-fetched.jsonld"
    link = f'<{context_url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    response = client.post("/ngsi-ld/v1/entities", json=shelter(1), headers={"Link": link})
    assert response.status_code == 503
    assert error_type(response) == "LdContextNotAvailable"


def test_inline_context_expands_terms(client):
    context = [{"Shelter": "https://smartdatamodels.org/dataModel.Toshi/Shelter",
                "capacity": "https://smartdatamodels.org/capacity"}, CORE_CONTEXT]
    create(client, {**shelter(1), "@context": context}, headers=LD)
    # Read with the core context only: terms the core context doesn't know come back as full IRIs.
    body = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001").json()
    assert body["type"] == "https://smartdatamodels.org/dataModel.Toshi/Shelter"
    assert body["https://smartdatamodels.org/capacity"]["value"] == 200
    assert body["occupancy"]["value"] == 20


def test_tenants_are_isolated(client):
    create(client, shelter(1), headers={"NGSILD-Tenant": "toyono"})
    assert client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001").status_code == 404
    got = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001", headers={"NGSILD-Tenant": "toyono"})
    assert got.status_code == 200
    unknown = client.get("/ngsi-ld/v1/entities", params={"type": "Shelter"}, headers={"NGSILD-Tenant": "nowhere"})
    assert unknown.status_code == 404
    assert error_type(unknown) == "NonexistentTenant"


def test_geojson_output(client):
    create(client, shelter(1))
    got = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001", headers={"Accept": "application/geo+json"})
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/geo+json")
    feature = got.json()
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
    assert feature["id"] == "urn:ngsi-ld:Shelter:001"
