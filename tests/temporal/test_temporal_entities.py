"""Temporal entity operations, deletions, filters and representations through the real app."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.testclient import TestClient
from support import error_type

from toshi.app import create_app
from toshi.audit.log import audit_log_of
from toshi.temporal.history import history_for

BASE = "/ngsi-ld/v1/temporal/entities"
SENSOR = "urn:ngsi-ld:Sensor:1"


def temporal_sensor(n: int = 1, **attrs) -> dict:
    entity = {
        "id": f"urn:ngsi-ld:Sensor:{n}", "type": "Sensor",
        "temperature": [
            {"type": "Property", "value": 20 + n, "observedAt": "2026-05-01T10:00:00Z"},
            {"type": "Property", "value": 21 + n, "observedAt": "2026-05-01T11:00:00Z"},
            {"type": "Property", "value": 19 + n, "observedAt": "2026-05-01T12:00:00Z"},
        ],
    }
    entity.update(attrs)
    return entity


def ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json() if status in (200, 206) else None


def values(body: dict, attr: str) -> list:
    return [inst["value"] for inst in body[attr]]


# -- temporal entity operations ------------------------------------------------------------------

def test_create_retrieve_and_update_temporal_entity(client):
    created = client.post(BASE, json=temporal_sensor())
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{BASE}/{SENSOR}"
    body = ok(client.get(f"{BASE}/{SENSOR}"))
    assert body["type"] == "Sensor"
    assert values(body, "temperature") == [21, 22, 20]
    # The temporal API manages the temporal evolution only: no live entity was created.
    assert client.get(f"/ngsi-ld/v1/entities/{SENSOR}").status_code == 404
    again = client.post(BASE, json={"id": SENSOR, "type": "Sensor", "temperature": [
        {"type": "Property", "value": 30, "observedAt": "2026-05-01T09:00:00Z"}]})
    assert again.status_code == 204, again.text
    assert values(ok(client.get(f"{BASE}/{SENSOR}")), "temperature") == [30, 21, 22, 20]


def test_create_needs_id_and_type(client):
    response = client.post(BASE, json={"id": SENSOR, "temperature": [{"type": "Property", "value": 1}]})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"
    response = client.post(BASE, json={"id": SENSOR, "type": "Sensor", "temperature": []})
    assert response.status_code == 400


def test_append_attributes(client):
    ok(client.post(BASE, json=temporal_sensor()), 201)
    appended = client.post(f"{BASE}/{SENSOR}/attrs", json={
        "humidity": [{"type": "Property", "value": 40, "observedAt": "2026-05-01T10:30:00Z"},
                     {"type": "Property", "value": 45, "observedAt": "2026-05-01T11:30:00Z"}],
        "temperature": {"type": "Property", "value": 25, "observedAt": "2026-05-01T13:00:00Z"}})
    assert appended.status_code == 204, appended.text
    body = ok(client.get(f"{BASE}/{SENSOR}"))
    assert values(body, "humidity") == [40, 45]
    assert values(body, "temperature") == [21, 22, 20, 25]
    missing = client.post(f"{BASE}/urn:ngsi-ld:Sensor:404/attrs", json={"humidity": {"value": 1}})
    assert missing.status_code == 404 and error_type(missing) == "ResourceNotFound"


def test_append_to_the_history_of_a_live_entity(client):
    ok(client.post("/ngsi-ld/v1/entities", json={"id": SENSOR, "type": "Sensor", "temperature": {
        "value": 18, "observedAt": "2026-05-01T08:00:00Z"}}), 201)
    ok(client.post(f"{BASE}/{SENSOR}/attrs", json={"temperature": [
        {"value": 17, "observedAt": "2026-05-01T07:00:00Z"}]}), 204)
    assert values(ok(client.get(f"{BASE}/{SENSOR}")), "temperature") == [17, 18]
    assert ok(client.get(f"/ngsi-ld/v1/entities/{SENSOR}"))["temperature"]["value"] == 18


def test_modify_and_delete_an_instance(client):
    ok(client.post(BASE, json=temporal_sensor()), 201)
    instances = ok(client.get(f"{BASE}/{SENSOR}"))["temperature"]
    second = instances[1]["instanceId"]
    patched = client.patch(f"{BASE}/{SENSOR}/attrs/temperature/{second}",
                           json={"temperature": {"type": "Property", "value": 99, "unitCode": "CEL"}})
    assert patched.status_code == 204, patched.text
    body = ok(client.get(f"{BASE}/{SENSOR}"))
    assert body["temperature"][1] == {"type": "Property", "value": 99, "unitCode": "CEL",
                                      "observedAt": "2026-05-01T11:00:00Z", "instanceId": second}
    # The bare instance is accepted too.
    ok(client.patch(f"{BASE}/{SENSOR}/attrs/temperature/{second}", json={"value": 98}), 204)
    assert values(ok(client.get(f"{BASE}/{SENSOR}")), "temperature") == [21, 98, 20]
    ok(client.delete(f"{BASE}/{SENSOR}/attrs/temperature/{second}"), 204)
    assert values(ok(client.get(f"{BASE}/{SENSOR}")), "temperature") == [21, 20]
    for path in (f"temperature/{second}", "temperature/urn:ngsi-ld:Instance:999999", "humidity/" + second,
                 "temperature/urn:ngsi-ld:Something:1"):
        response = client.patch(f"{BASE}/{SENSOR}/attrs/{path}", json={"value": 1})
        assert response.status_code == 404, path


def test_delete_attribute_history(client):
    ok(client.post(BASE, json=temporal_sensor(humidity=[
        {"type": "Property", "value": 40, "observedAt": "2026-05-01T10:00:00Z"},
        {"type": "Property", "value": 41, "datasetId": "urn:ngsi-ld:Dataset:b", "observedAt": "2026-05-01T10:00:00Z"},
        {"type": "Property", "value": 42, "datasetId": "urn:ngsi-ld:Dataset:c", "observedAt": "2026-05-01T10:00:00Z"},
    ])), 201)
    ok(client.delete(f"{BASE}/{SENSOR}/attrs/humidity", params={"datasetId": "urn:ngsi-ld:Dataset:b"}), 204)
    assert values(ok(client.get(f"{BASE}/{SENSOR}")), "humidity") == [40, 42]
    ok(client.delete(f"{BASE}/{SENSOR}/attrs/humidity"), 204)
    assert values(ok(client.get(f"{BASE}/{SENSOR}")), "humidity") == [42]
    assert client.delete(f"{BASE}/{SENSOR}/attrs/humidity").status_code == 404
    ok(client.delete(f"{BASE}/{SENSOR}/attrs/humidity", params={"deleteAll": "true"}), 204)
    assert "humidity" not in ok(client.get(f"{BASE}/{SENSOR}"))
    assert client.delete(f"{BASE}/{SENSOR}/attrs/pressure").status_code == 404


def test_delete_temporal_entity_keeps_the_live_entity(client):
    ok(client.post("/ngsi-ld/v1/entities", json={"id": SENSOR, "type": "Sensor", "temperature": {"value": 1}}), 201)
    ok(client.delete(f"{BASE}/{SENSOR}"), 204)
    assert client.get(f"{BASE}/{SENSOR}").status_code == 404
    assert client.delete(f"{BASE}/{SENSOR}").status_code == 404
    assert ok(client.get(f"/ngsi-ld/v1/entities/{SENSOR}"))["temperature"]["value"] == 1
    # The next write starts a new history.
    ok(client.patch(f"/ngsi-ld/v1/entities/{SENSOR}/attrs/temperature", json={"value": 2}), 204)
    assert values(ok(client.get(f"{BASE}/{SENSOR}", params={"timeproperty": "modifiedAt"})), "temperature") == [2]


def test_history_changes_are_audited_like_other_writes(client):
    """The temporal API writes through the one write path: each history change is an audit record."""
    ok(client.post(BASE, json=temporal_sensor()), 201)
    second = ok(client.get(f"{BASE}/{SENSOR}"))["temperature"][1]["instanceId"]
    ok(client.patch(f"{BASE}/{SENSOR}/attrs/temperature/{second}", json={"value": 98}), 204)
    ok(client.delete(f"{BASE}/{SENSOR}/attrs/temperature/{second}"), 204)
    assert client.delete(f"{BASE}/{SENSOR}/attrs/temperature/{second}").status_code == 404  # nothing changed
    ok(client.delete(f"{BASE}/{SENSOR}"), 204)
    writes = audit_log_of(client.app.state.toshi.store).records(operation="write")
    assert [(r["target"], r["outcome"], r["detail"]) for r in writes] == [
        (SENSOR, "ok", {"created": 0, "updated": 0, "deleted": 0, "history": 1})] * 4


# -- history of the live API ---------------------------------------------------------------------

def test_deletions_are_recorded(client):
    ok(client.post("/ngsi-ld/v1/entities", json={
        "id": SENSOR, "type": "Sensor",
        "temperature": {"value": 20, "observedAt": "2026-05-01T10:00:00Z"},
        "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:1"}}), 201)
    ok(client.delete(f"/ngsi-ld/v1/entities/{SENSOR}/attrs/owner"), 204)
    owner = ok(client.get(f"{BASE}/{SENSOR}", params={"timeproperty": "modifiedAt"}))["owner"]
    assert [inst["object"] for inst in owner] == ["urn:ngsi-ld:Person:1", "urn:ngsi-ld:null"]
    assert "deletedAt" in owner[1] and "deletedAt" not in owner[0]
    ok(client.delete(f"/ngsi-ld/v1/entities/{SENSOR}"), 204)
    # A deleted entity stays queryable by its history, with its last known state.
    body = ok(client.get(f"{BASE}/{SENSOR}", params={"options": "sysAttrs"}))
    assert "deletedAt" in body
    assert values(body, "temperature") == [20]
    deleted = ok(client.get(f"{BASE}/{SENSOR}", params={"timeproperty": "deletedAt"}))
    assert values(deleted, "temperature") == ["urn:ngsi-ld:null"]
    assert [inst["object"] for inst in deleted["owner"]] == ["urn:ngsi-ld:null"]
    found = ok(client.get(BASE, params={"type": "Sensor", "q": "temperature==20"}))
    assert [e["id"] for e in found] == [SENSOR]


def test_unchanged_attributes_are_not_recorded_again(client):
    ok(client.post("/ngsi-ld/v1/entities", json={"id": SENSOR, "type": "Sensor", "name": {"value": "a"},
                                                 "temperature": {"value": 1}}), 201)
    for value in (2, 3):
        ok(client.patch(f"/ngsi-ld/v1/entities/{SENSOR}/attrs/temperature", json={"value": value}), 204)
    body = ok(client.get(f"{BASE}/{SENSOR}", params={"timeproperty": "modifiedAt"}))
    assert values(body, "temperature") == [1, 2, 3]
    assert values(body, "name") == ["a"]


def test_instances_without_observed_at_need_another_timeproperty(client):
    ok(client.post("/ngsi-ld/v1/entities", json={"id": SENSOR, "type": "Sensor", "temperature": {"value": 1}}), 201)
    assert "temperature" not in ok(client.get(f"{BASE}/{SENSOR}"))
    created = ok(client.get(f"{BASE}/{SENSOR}", params={"timeproperty": "createdAt", "options": "temporalValues"}))
    assert created["temperature"]["values"][0][0] == 1


# -- representations -----------------------------------------------------------------------------

def test_multiple_datasets_and_relationships(client):
    ok(client.post(BASE, json={
        "id": SENSOR, "type": "Sensor",
        "temperature": [
            {"value": 1, "observedAt": "2026-05-01T10:00:00Z"},
            {"value": 2, "datasetId": "urn:ngsi-ld:Dataset:b", "observedAt": "2026-05-01T10:00:00Z"},
            {"value": 3, "observedAt": "2026-05-01T11:00:00Z"},
        ],
        "near": [{"type": "Relationship", "object": "urn:ngsi-ld:Place:1", "observedAt": "2026-05-01T10:00:00Z"},
                 {"type": "Relationship", "object": "urn:ngsi-ld:Place:2", "observedAt": "2026-05-01T11:00:00Z"}],
    }), 201)
    body = ok(client.get(f"{BASE}/{SENSOR}", params={"options": "temporalValues"}))
    assert body["temperature"] == [
        {"type": "Property", "values": [[1, "2026-05-01T10:00:00Z"], [3, "2026-05-01T11:00:00Z"]]},
        {"type": "Property", "values": [[2, "2026-05-01T10:00:00Z"]], "datasetId": "urn:ngsi-ld:Dataset:b"},
    ]
    assert body["near"] == {"type": "Relationship", "objects": [
        ["urn:ngsi-ld:Place:1", "2026-05-01T10:00:00Z"], ["urn:ngsi-ld:Place:2", "2026-05-01T11:00:00Z"]]}
    normalized = ok(client.get(f"{BASE}/{SENSOR}", params={"attrs": "temperature"}))
    assert [inst.get("datasetId") for inst in normalized["temperature"]] == [None, None, "urn:ngsi-ld:Dataset:b"]
    assert "near" not in normalized


def test_aggregating_strings_and_booleans(client):
    ok(client.post(BASE, json={"id": SENSOR, "type": "Sensor",
                               "status": [{"value": s, "observedAt": f"2026-05-01T1{n}:00:00Z"}
                                          for n, s in enumerate(["ok", "alert", "ok", "broken"])],
                               "open": [{"value": b, "observedAt": f"2026-05-01T1{n}:00:00Z"}
                                        for n, b in enumerate([True, False, True, True])]}), 201)
    body = ok(client.get(f"{BASE}/{SENSOR}", params={
        "options": "aggregatedValues", "aggrMethods": "totalCount,distinctCount,min,max,sum,avg"}))
    status = {k: v[0][0] for k, v in body["status"].items() if k != "type"}
    assert status == {"totalCount": 4, "distinctCount": 3, "min": "alert", "max": "ok", "sum": None, "avg": None}
    opened = {k: v[0][0] for k, v in body["open"].items() if k != "type"}
    assert opened == {"totalCount": 4, "distinctCount": 2, "min": 0, "max": 1, "sum": 3, "avg": 0.75}


def test_monthly_aggregation(client):
    ok(client.post(BASE, json={"id": SENSOR, "type": "Sensor", "rain": [
        {"value": v, "observedAt": t} for v, t in [(1, "2026-01-15T00:00:00Z"), (2, "2026-01-31T23:00:00Z"),
                                                   (4, "2026-02-01T00:00:00Z"), (8, "2026-03-31T00:00:00Z")]]}), 201)
    body = ok(client.get(f"{BASE}/{SENSOR}", params={
        "options": "aggregatedValues", "aggrMethods": "sum,stddev", "aggrPeriodDuration": "P1M",
        "timerel": "after", "timeAt": "2026-01-01T00:00:00Z"}))
    assert [value for value, _, _ in body["rain"]["stddev"]] == [pytest.approx(0.5 ** 0.5), None, None]
    assert body["rain"]["sum"] == [[3, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"],
                                   [4, "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"],
                                   [8, "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"]]


def test_ld_json_and_context(client):
    context = {"@context": ["https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
                            {"temp": "https://example.org/temperature"}]}
    ok(client.post(BASE, json={**temporal_sensor(), **context, "temp": [{"value": 5}]},
                   headers={"Content-Type": "application/ld+json"}), 201)
    plain = ok(client.get(f"{BASE}/{SENSOR}", params={"timeproperty": "createdAt"}))
    assert "https://example.org/temperature" in plain
    ld = client.get(f"{BASE}/{SENSOR}", headers={"Accept": "application/ld+json"})
    assert ld.headers["content-type"].startswith("application/ld+json")
    assert "@context" in ld.json()


# -- queries -------------------------------------------------------------------------------------

@pytest.fixture
def sensors(client):
    for n in range(1, 6):
        ok(client.post("/ngsi-ld/v1/entities", json={
            "id": f"urn:ngsi-ld:Sensor:{n}", "type": "Sensor" if n < 5 else "Camera",
            "temperature": {"value": 10 * n, "observedAt": "2026-05-01T10:00:00Z"},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [135.0 + n, 34.0]}}}), 201)
        ok(client.patch(f"/ngsi-ld/v1/entities/urn:ngsi-ld:Sensor:{n}/attrs/temperature",
                        json={"value": 10 * n + 1, "observedAt": "2026-05-01T11:00:00Z"}), 204)
    ok(client.post(BASE, json=temporal_sensor(9)), 201)
    return client


def ids(response) -> list[str]:
    return [e["id"] for e in ok(response)]


def test_query_filters(sensors):
    assert ids(sensors.get(BASE, params={"type": "Sensor"})) == [f"urn:ngsi-ld:Sensor:{n}" for n in (1, 2, 3, 4, 9)]
    assert ids(sensors.get(BASE, params={"type": "Camera"})) == ["urn:ngsi-ld:Sensor:5"]
    # q applies to the current state; Sensor:9 exists only in the temporal API: its latest observation (28).
    assert ids(sensors.get(BASE, params={"type": "Sensor", "q": "temperature>30"})) == [
        "urn:ngsi-ld:Sensor:3", "urn:ngsi-ld:Sensor:4"]
    assert ids(sensors.get(BASE, params={"type": "Sensor", "q": "temperature==28"})) == ["urn:ngsi-ld:Sensor:9"]
    assert ids(sensors.get(BASE, params={"idPattern": "Sensor:[23]", "type": "Sensor"})) == [
        "urn:ngsi-ld:Sensor:2", "urn:ngsi-ld:Sensor:3"]
    assert ids(sensors.get(BASE, params={"id": "urn:ngsi-ld:Sensor:3,urn:ngsi-ld:Sensor:1", "local": "true"})) == [
        "urn:ngsi-ld:Sensor:1", "urn:ngsi-ld:Sensor:3"]
    assert ids(sensors.get(BASE, params={"type": "Sensor,Camera", "georel": "near;maxDistance==50000",
                                         "geometry": "Point", "coordinates": "[137.0,34.0]"})) == [
        "urn:ngsi-ld:Sensor:2"]
    assert ids(sensors.get(BASE, params={"attrs": "location", "timeproperty": "modifiedAt"})) == [
        f"urn:ngsi-ld:Sensor:{n}" for n in range(1, 6)]


def test_query_paging_and_count(sensors):
    response = sensors.get(BASE, params={"type": "Sensor", "limit": 2, "offset": 1, "count": "true"})
    assert ids(response) == ["urn:ngsi-ld:Sensor:2", "urn:ngsi-ld:Sensor:3"]
    assert response.headers["ngsild-results-count"] == "5"
    assert sensors.get(BASE, params={"timerel": "after", "timeAt": "2026-01-01T00:00:00Z"}).status_code == 400


def test_query_time_range_and_last_n(sensors):
    body = ok(sensors.get(BASE, params={"type": "Sensor", "idPattern": "Sensor:[12]$", "timerel": "after",
                                        "timeAt": "2026-05-01T10:30:00Z", "options": "temporalValues"}))
    assert [e["temperature"]["values"] for e in body] == [[[11, "2026-05-01T11:00:00Z"]],
                                                         [[21, "2026-05-01T11:00:00Z"]]]
    body = ok(sensors.get(BASE, params={"id": "urn:ngsi-ld:Sensor:3", "lastN": 1, "attrs": "temperature"}))
    assert values(body[0], "temperature") == [31]


def test_post_query(sensors):
    response = sensors.post("/ngsi-ld/v1/temporal/entityOperations/query", params={"options": "aggregatedValues"},
                            json={"type": "Query", "entities": [{"type": "Sensor"}], "q": "temperature<30",
                                  "temporalQ": {"timerel": "before", "timeAt": "2026-06-01T00:00:00Z",
                                                "aggrMethods": ["avg", "max"]}})
    body = ok(response)
    assert [(e["id"], e["temperature"]["avg"][0][0], e["temperature"]["max"][0][0]) for e in body] == [
        ("urn:ngsi-ld:Sensor:1", 10.5, 11), ("urn:ngsi-ld:Sensor:2", 20.5, 21), ("urn:ngsi-ld:Sensor:9", 29.0, 30)]
    assert body[0]["temperature"]["avg"][0][1:] == ["2026-05-01T10:00:00Z", "2026-06-01T00:00:00Z"]
    bad = sensors.post("/ngsi-ld/v1/temporal/entityOperations/query",
                       json={"type": "Query", "entities": [{"type": "Sensor"}], "temporalQ": {"timerel": "between"}})
    assert bad.status_code == 400 and error_type(bad) == "BadRequestData"


def test_tenants(client):
    headers = {"NGSILD-Tenant": "osaka"}
    ok(client.post(BASE, json=temporal_sensor(), headers=headers), 201)
    assert len(ok(client.get(f"{BASE}/{SENSOR}", headers=headers))["temperature"]) == 3
    assert client.get(f"{BASE}/{SENSOR}").status_code == 404
    missing = client.get(f"{BASE}/{SENSOR}", headers={"NGSILD-Tenant": "kyoto"})
    assert missing.status_code == 404 and error_type(missing) == "NonexistentTenant"


def test_long_histories_come_in_pages(settings):
    with TestClient(create_app(dataclasses.replace(settings, temporal_instance_limit=4))) as client:
        _long_history_pages(client)


def _long_history_pages(client):
    ok(client.post(BASE, json={"id": SENSOR, "type": "Sensor",
                               "a": [{"value": n, "observedAt": f"2026-05-01T{n:02d}:00:00Z"} for n in range(10)],
                               "b": [{"value": n, "observedAt": f"2026-05-01T{n:02d}:30:00Z"} for n in range(3)]}), 201)
    response = client.get(f"{BASE}/{SENSOR}")
    body = ok(response, 206)
    assert response.headers["content-range"] == "date-time 2026-05-01T00:00:00Z-2026-05-01T01:30:00Z/*"
    assert values(body, "a") == [0, 1] and values(body, "b") == [0, 1]
    rest = client.get(f"{BASE}/{SENSOR}", params={"timerel": "after", "timeAt": "2026-05-01T01:30:01Z"})
    assert values(ok(rest, 206), "a") == [2, 3, 4] and values(ok(rest, 206), "b") == [2]
    last = client.get(f"{BASE}/{SENSOR}", params={"lastN": 6})
    assert values(ok(last, 206), "a") == [6, 7, 8, 9]
    assert last.headers["content-range"] == "date-time 2026-05-01T09:00:00Z-2026-05-01T06:00:00Z/6"


def test_prune(client):
    ok(client.post(BASE, json=temporal_sensor()), 201)
    ok(client.post(BASE, json=temporal_sensor(2)), 201)
    history = history_for(client.app.state.toshi.store)
    assert history.prune("2026-05-01T11:30:00Z") == 4
    assert values(ok(client.get(f"{BASE}/{SENSOR}")), "temperature") == [20]
    ok(client.post("/ngsi-ld/v1/entities", json={"id": "urn:ngsi-ld:Sensor:live", "type": "Sensor",
                                                 "temperature": {"value": 1}}), 201)
    assert history.prune("P1D") == 2  # older than a day ago: the two 2026-05-01T12:00 observations
    assert client.get(f"{BASE}/{SENSOR}").status_code == 404
    assert history.prune("2100-01-01T00:00:00Z") == 1
    # A live entity keeps its (now empty) temporal representation.
    assert ok(client.get(f"{BASE}/urn:ngsi-ld:Sensor:live")) == {"id": "urn:ngsi-ld:Sensor:live", "type": "Sensor"}


def test_batch_and_merge_patch_writes_are_recorded(client):
    batch = [{"id": f"urn:ngsi-ld:Sensor:{n}", "type": "Sensor",
              "temperature": {"value": n, "observedAt": "2026-05-01T10:00:00Z"},
              "mode": [{"value": "auto"}, {"value": "eco", "datasetId": "urn:ngsi-ld:Dataset:eco"}]} for n in (1, 2)]
    ok(client.post("/ngsi-ld/v1/entityOperations/upsert", json=batch), 201)
    batch[0]["temperature"] = {"value": 5, "observedAt": "2026-05-01T11:00:00Z"}
    ok(client.post("/ngsi-ld/v1/entityOperations/upsert", params={"options": "update"}, json=batch[:1]), 204)
    assert values(ok(client.get(f"{BASE}/{SENSOR}")), "temperature") == [1, 5]
    merged = client.patch(f"/ngsi-ld/v1/entities/{SENSOR}",
                          json={"mode": {"value": None, "datasetId": "urn:ngsi-ld:Dataset:eco"}})
    assert merged.status_code == 204, merged.text
    mode = ok(client.get(f"{BASE}/{SENSOR}", params={"timeproperty": "modifiedAt", "attrs": "mode"}))["mode"]
    eco = [inst for inst in mode if inst.get("datasetId") == "urn:ngsi-ld:Dataset:eco"]
    # The update re-sent mode: that is an update of each instance too (a new modifiedAt).
    assert [inst["value"] for inst in eco] == ["eco", "eco", "urn:ngsi-ld:null"]
    assert [inst["value"] for inst in mode if "datasetId" not in inst] == ["auto", "auto"]
