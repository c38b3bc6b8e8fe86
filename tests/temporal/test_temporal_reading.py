"""Temporal reads as ETSI GS CIM 009 v1.8 defines them: one behaviour per test, from the clause cited.

Clause numbers: 4.5.7-4.5.9 (temporal representations), 4.5.19 (aggregation), 4.21 (pick/omit),
5.7.3/5.7.4 (retrieve/query temporal evolution), 6.3.10 (temporal pagination), 6.18/6.19/6.24 (the
resources and their parameters).
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from starlette.testclient import TestClient
from support import error_type

from toshi.app import create_app

BASE = "/ngsi-ld/v1/temporal/entities"
QUERY = "/ngsi-ld/v1/temporal/entityOperations/query"
CAR = "urn:ngsi-ld:Vehicle:1"


def vehicle(n: int = 1, *, speeds=(10, 20, 30), start_hour: int = 10, **extra) -> dict:
    entity = {"id": f"urn:ngsi-ld:Vehicle:{n}", "type": "Vehicle",
              "speed": [{"type": "Property", "value": v, "observedAt": f"2020-08-01T{start_hour + i:02d}:00:00Z"}
                        for i, v in enumerate(speeds)],
              "fuelLevel": [{"type": "Property", "value": 50 - i, "observedAt": f"2020-08-01T{start_hour + i:02d}:30:00Z"}
                            for i in range(len(speeds))]}
    entity.update(extra)
    return entity


@pytest.fixture
def car(client):
    response = client.post(BASE, json=vehicle())
    assert response.status_code == 201, response.text
    return client


def ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json() if status in (200, 206) else None


def bad(response, kind: str = "BadRequestData"):
    assert response.status_code == 400, response.text
    assert error_type(response) == kind
    return response.json()


# -- times as written (clause 4.8: observedAt is the client's DateTime) -----------------------------

def test_observed_at_with_an_offset_is_returned_as_written(client):
    assert client.post(BASE, json={"id": CAR, "type": "Vehicle", "speed": [
        {"value": 1, "observedAt": "2020-08-01T12:00:00+02:00"}]}).status_code == 201
    body = ok(client.get(f"{BASE}/{CAR}", params={"options": "temporalValues"}))
    assert body["speed"]["values"] == [[1, "2020-08-01T12:00:00+02:00"]]


def test_time_at_written_differently_selects_the_same_instant(car):
    """10:00Z is 12:00+02:00: `after` includes it, whichever way it is written."""
    body = ok(car.get(f"{BASE}/{CAR}", params={"timerel": "after", "timeAt": "2020-08-01T13:00:00.000+02:00",
                                              "attrs": "speed"}))
    assert [i["value"] for i in body["speed"]] == [20, 30]


def test_aggregation_period_bounds_are_written_as_time_at(car):
    body = ok(car.get(f"{BASE}/{CAR}", params={
        "options": "aggregatedValues", "aggrMethods": "sum", "aggrPeriodDuration": "PT2H", "attrs": "speed",
        "timerel": "between", "timeAt": "2020-08-01T10:00:00Z", "endTimeAt": "2020-08-01T14:00:00Z"}))
    assert body["speed"]["sum"] == [[30, "2020-08-01T10:00:00Z", "2020-08-01T12:00:00Z"],
                                    [30, "2020-08-01T12:00:00Z", "2020-08-01T14:00:00Z"]]


def test_aggregation_over_the_whole_history_is_bounded_by_the_instances_as_written(car):
    body = ok(car.get(f"{BASE}/{CAR}", params={"options": "aggregatedValues", "aggrMethods": "max",
                                              "attrs": "speed"}))
    assert body["speed"]["max"] == [[30, "2020-08-01T10:00:00Z", "2020-08-01T12:00:00Z"]]


def test_system_times_are_the_brokers_utc_milliseconds(car):
    [first, *_] = ok(car.get(f"{BASE}/{CAR}", params={"options": "sysAttrs", "attrs": "speed"}))["speed"]
    assert first["createdAt"].endswith("Z") and len(first["createdAt"]) == len("2020-08-01T10:00:00.000Z")


# -- pagination of instances (clause 6.3.10) --------------------------------------------------------

@pytest.fixture
def long_car(settings):
    """A broker whose temporal answers hold at most 3 instances, and a car with 8 speeds and 8 fuel levels."""
    with TestClient(create_app(dataclasses.replace(settings, temporal_instance_limit=3))) as client:
        ok(client.post(BASE, json=vehicle(speeds=range(8), start_hour=0)), 201)
        yield client


def test_forward_page_is_206_with_the_range_it_covers(long_car):
    response = long_car.get(f"{BASE}/{CAR}", params={"attrs": "speed"})
    assert [i["value"] for i in ok(response, 206)["speed"]] == [0, 1, 2]
    assert response.headers["content-range"] == "date-time 2020-08-01T00:00:00Z-2020-08-01T02:00:00Z/*"


def test_forward_page_starts_at_time_at(long_car):
    response = long_car.get(f"{BASE}/{CAR}", params={"attrs": "speed", "timerel": "after",
                                                     "timeAt": "2020-08-01T00:30:00Z"})
    ok(response, 206)
    assert response.headers["content-range"] == "date-time 2020-08-01T00:30:00Z-2020-08-01T03:00:00Z/*"


def test_backward_page_with_last_n_counts_down_from_the_most_recent(long_car):
    response = long_car.get(f"{BASE}/{CAR}", params={"attrs": "speed", "lastN": 5})
    assert [i["value"] for i in ok(response, 206)["speed"]] == [5, 6, 7]
    assert response.headers["content-range"] == "date-time 2020-08-01T07:00:00Z-2020-08-01T05:00:00Z/5"


def test_backward_page_between_starts_at_end_time_at(long_car):
    response = long_car.get(f"{BASE}/{CAR}", params={
        "attrs": "speed", "lastN": 5, "timerel": "between", "timeAt": "2020-08-01T00:00:00Z",
        "endTimeAt": "2020-08-01T12:00:00Z"})
    ok(response, 206)
    assert response.headers["content-range"] == "date-time 2020-08-01T12:00:00Z-2020-08-01T05:00:00Z/5"


def test_last_n_within_the_limit_is_the_whole_answer(long_car):
    response = long_car.get(f"{BASE}/{CAR}", params={"attrs": "speed", "lastN": 2})
    assert [i["value"] for i in ok(response)["speed"]] == [6, 7]
    assert "content-range" not in response.headers


def test_the_limit_counts_the_instances_of_every_attribute_together(long_car):
    response = long_car.get(f"{BASE}/{CAR}")
    body = ok(response, 206)
    assert [i["value"] for i in body["speed"]] == [0, 1] and [i["value"] for i in body["fuelLevel"]] == [50]
    assert response.headers["content-range"] == "date-time 2020-08-01T00:00:00Z-2020-08-01T01:00:00Z/*"


def test_last_n_within_the_limit_per_attribute_but_not_in_all_is_cut(long_car):
    response = long_car.get(f"{BASE}/{CAR}", params={"lastN": 2})
    body = ok(response, 206)
    assert [i["value"] for i in body["speed"]] == [7] and [i["value"] for i in body["fuelLevel"]] == [44, 43]
    assert response.headers["content-range"] == "date-time 2020-08-01T07:30:00Z-2020-08-01T06:30:00Z/2"


def test_instances_at_the_cut_instant_are_all_left_out(settings):
    with TestClient(create_app(dataclasses.replace(settings, temporal_instance_limit=3))) as client:
        ok(client.post(BASE, json={"id": CAR, "type": "Vehicle", **{
            name: [{"type": "Property", "value": n, "observedAt": f"2020-08-01T0{n}:00:00Z"} for n in range(3)]
            for name in ("speed", "fuelLevel")}}), 201)
        response = client.get(f"{BASE}/{CAR}")
        body = ok(response, 206)
    assert [i["value"] for i in body["speed"]] == [0] and [i["value"] for i in body["fuelLevel"]] == [0]
    assert response.headers["content-range"] == "date-time 2020-08-01T00:00:00Z-2020-08-01T00:00:00Z/*"


def test_a_query_cuts_every_entity_at_the_same_instant(long_car):
    ok(long_car.post(BASE, json=vehicle(2, speeds=[1], start_hour=5)), 201)
    response = long_car.get(BASE, params={"type": "Vehicle", "attrs": "speed"})
    body = ok(response, 206)
    assert [[i["value"] for i in e.get("speed", [])] for e in body] == [[0, 1, 2], []]
    assert response.headers["content-range"] == "date-time 2020-08-01T00:00:00Z-2020-08-01T02:00:00Z/*"


def test_an_answer_within_the_limit_is_whole(long_car):
    response = long_car.get(f"{BASE}/{CAR}", params={"attrs": "speed", "timerel": "after",
                                                     "timeAt": "2020-08-01T05:00:00Z"})
    assert [i["value"] for i in ok(response)["speed"]] == [5, 6, 7]
    assert "content-range" not in response.headers


def test_temporal_values_pages_too(long_car):
    response = long_car.get(f"{BASE}/{CAR}", params={"attrs": "speed", "options": "temporalValues"})
    assert ok(response, 206)["speed"]["values"][-1] == [2, "2020-08-01T02:00:00Z"]


def test_a_query_pages_its_instances(long_car):
    response = long_car.get(BASE, params={"type": "Vehicle", "attrs": "speed"})
    assert response.status_code == 206 and "content-range" in response.headers


# -- format and options (clause 6.18.3.1) -----------------------------------------------------------

def test_format_temporal_values(car):
    assert ok(car.get(f"{BASE}/{CAR}", params={"format": "temporalValues", "attrs": "speed"}))["speed"] == {
        "type": "Property", "values": [[10, "2020-08-01T10:00:00Z"], [20, "2020-08-01T11:00:00Z"],
                                       [30, "2020-08-01T12:00:00Z"]]}


def test_format_takes_precedence_over_options(car):
    body = ok(car.get(f"{BASE}/{CAR}", params={"format": "temporalValues", "options": "aggregatedValues",
                                              "aggrMethods": "sum", "attrs": "speed"}))
    assert "values" in body["speed"]


def test_unknown_format_is_rejected(car):
    bad(car.get(f"{BASE}/{CAR}", params={"format": "keyValues"}), "InvalidRequest")


def test_unknown_option_is_rejected(car):
    bad(car.get(f"{BASE}/{CAR}", params={"options": "sysAttrs,fancy"}), "InvalidRequest")


def test_options_count_on_a_query_counts_as_count_true(car):
    """Orion-LD's options=count, which ngsildclient sends with every temporal query (as in the entity API)."""
    response = car.get(BASE, params={"type": "Vehicle", "options": "count,temporalValues"})
    assert [e["id"] for e in ok(response)] == [CAR]
    assert response.headers["NGSILD-Results-Count"] == "1"


def test_two_representations_in_options_are_rejected(car):
    bad(car.get(f"{BASE}/{CAR}", params={"options": "temporalValues,concise"}))


def test_concise_instances_leave_out_the_type(car):
    [first, *_] = ok(car.get(f"{BASE}/{CAR}", params={"format": "concise", "attrs": "speed"}))["speed"]
    assert "type" not in first
    assert first["value"] == 10 and first["observedAt"] == "2020-08-01T10:00:00Z" and "instanceId" in first


def test_concise_keeps_the_type_of_a_relationship_implicit(client):
    ok(client.post(BASE, json={"id": CAR, "type": "Vehicle", "owner": [
        {"type": "Relationship", "object": "urn:ngsi-ld:Person:1", "observedAt": "2020-08-01T10:00:00Z"}]}), 201)
    [owner] = ok(client.get(f"{BASE}/{CAR}", params={"options": "concise"}))["owner"]
    assert owner["object"] == "urn:ngsi-ld:Person:1" and "type" not in owner


# -- pick and omit (clause 4.21) ---------------------------------------------------------------------

def test_pick_keeps_only_the_members_named(car):
    body = ok(car.get(f"{BASE}/{CAR}", params={"pick": "id,speed"}))
    assert set(body) == {"id", "speed"}


def test_omit_drops_the_members_named(car):
    body = ok(car.get(f"{BASE}/{CAR}", params={"omit": "type,fuelLevel"}))
    assert set(body) == {"id", "speed"}


def test_pick_with_attrs_is_rejected(car):
    bad(car.get(f"{BASE}/{CAR}", params={"pick": "speed", "attrs": "fuelLevel"}))


def test_omit_with_attrs_is_rejected(car):
    bad(car.get(f"{BASE}/{CAR}", params={"omit": "speed", "attrs": "fuelLevel"}))


def test_a_member_both_picked_and_omitted_is_rejected(car):
    bad(car.get(f"{BASE}/{CAR}", params={"pick": "speed", "omit": "speed"}))


def test_an_empty_name_in_pick_is_rejected(car):
    bad(car.get(f"{BASE}/{CAR}", params={"pick": "speed,"}))


@pytest.mark.parametrize("pick", ["sp(eed", "!speed", "speed{fuelLevel", "speed}"])
def test_a_pick_that_is_not_a_list_of_names_is_rejected(car, pick):
    """A forbidden character, a leading special character or unbalanced braces (as in the entity API)."""
    bad(car.get(f"{BASE}/{CAR}", params={"pick": pick}))


def test_a_pick_into_linked_entities_is_rejected(car):
    """rel{...} needs a join, which the temporal API does not do."""
    bad(car.get(f"{BASE}/{CAR}", params={"pick": "id,owner{name}"}))


def test_pick_in_a_query(car):
    [body] = ok(car.get(BASE, params={"type": "Vehicle", "pick": "id,fuelLevel"}))
    assert set(body) == {"id", "fuelLevel"}


# -- aggregation parameters (clause 4.5.19, 6.18.3.1) ------------------------------------------------

def test_aggr_methods_as_a_comma_list(car):
    body = ok(car.get(f"{BASE}/{CAR}", params={"options": "aggregatedValues", "aggrMethods": "min,max",
                                              "attrs": "speed"}))
    assert (body["speed"]["min"][0][0], body["speed"]["max"][0][0]) == (10, 30)


def test_aggr_methods_as_an_array_in_a_post_query(car):
    body = ok(car.post(QUERY, params={"options": "aggregatedValues"}, json={
        "type": "Query", "entities": [{"type": "Vehicle"}], "attrs": ["speed"],
        "temporalQ": {"aggrMethods": ["min", "max"]}}))
    assert (body[0]["speed"]["min"][0][0], body[0]["speed"]["max"][0][0]) == (10, 30)


def test_an_unknown_aggregation_method_is_rejected(car):
    bad(car.get(f"{BASE}/{CAR}", params={"options": "aggregatedValues", "aggrMethods": "median"}))


def test_an_invalid_aggr_period_duration_is_rejected(car):
    bad(car.get(f"{BASE}/{CAR}", params={"options": "aggregatedValues", "aggrMethods": "sum",
                                         "aggrPeriodDuration": "1 hour"}))


def test_aggregated_values_without_methods_is_rejected(car):
    bad(car.get(f"{BASE}/{CAR}", params={"options": "aggregatedValues"}))


# -- POST query (clause 6.24, 5.7.4) -----------------------------------------------------------------

def test_post_query_honours_last_n_of_its_temporal_q(car):
    body = ok(car.post(QUERY, json={"type": "Query", "entities": [{"type": "Vehicle"}], "attrs": ["speed"],
                                    "temporalQ": {"lastN": 1}}))
    assert [i["value"] for i in body[0]["speed"]] == [30]


def test_post_query_honours_its_time_window(car):
    body = ok(car.post(QUERY, json={"type": "Query", "entities": [{"type": "Vehicle"}], "attrs": ["speed"],
                                    "temporalQ": {"timerel": "before", "timeAt": "2020-08-01T11:00:00Z"}}))
    assert [i["value"] for i in body[0]["speed"]] == [10]


def test_post_query_that_is_not_a_query_is_rejected(car):
    bad(car.post(QUERY, json={"type": "Subscription", "entities": [{"type": "Vehicle"}]}))


def test_post_query_with_pick(car):
    body = ok(car.post(QUERY, json={"type": "Query", "entities": [{"type": "Vehicle"}], "pick": ["id", "speed"],
                                    "temporalQ": {"lastN": 1}}))
    assert set(body[0]) == {"id", "speed"}


# -- which entities and instances a query selects ----------------------------------------------------

def test_q_sees_the_instances_inside_the_time_window(car):
    """speed was 30 at 12:00; a window before 12:00 never saw it."""
    found = ok(car.get(BASE, params={"type": "Vehicle", "q": "speed==30"}))
    assert [e["id"] for e in found] == [CAR]
    before = ok(car.get(BASE, params={"type": "Vehicle", "q": "speed==30", "timerel": "before",
                                      "timeAt": "2020-08-01T12:00:00Z"}))
    assert before == []


def test_q_matches_a_past_value_inside_the_window(car):
    found = ok(car.get(BASE, params={"type": "Vehicle", "q": "speed==10", "timerel": "before",
                                     "timeAt": "2020-08-01T11:00:00Z"}))
    assert [e["id"] for e in found] == [CAR]


def test_scope_q_selects_by_scope(client):
    ok(client.post(BASE, json=vehicle(1, scope="/Osaka/Toyono")), 201)
    ok(client.post(BASE, json=vehicle(2, scope="/Kyoto")), 201)
    found = ok(client.get(BASE, params={"type": "Vehicle", "scopeQ": "/Osaka/#"}))
    assert [e["id"] for e in found] == [CAR]


def test_dataset_id_keeps_only_those_instances(client):
    ok(client.post(BASE, json={"id": CAR, "type": "Vehicle", "speed": [
        {"value": 1, "observedAt": "2020-08-01T10:00:00Z"},
        {"value": 2, "datasetId": "urn:ngsi-ld:Dataset:gps", "observedAt": "2020-08-01T10:00:00Z"}]}), 201)
    body = ok(client.get(f"{BASE}/{CAR}", params={"datasetId": "urn:ngsi-ld:Dataset:gps"}))
    assert [i["value"] for i in body["speed"]] == [2]


def test_dataset_id_none_keeps_the_default_instance(client):
    ok(client.post(BASE, json={"id": CAR, "type": "Vehicle", "speed": [
        {"value": 1, "observedAt": "2020-08-01T10:00:00Z"},
        {"value": 2, "datasetId": "urn:ngsi-ld:Dataset:gps", "observedAt": "2020-08-01T10:00:00Z"}]}), 201)
    body = ok(client.get(f"{BASE}/{CAR}", params={"datasetId": "@none"}))
    assert [i["value"] for i in body["speed"]] == [1]


def test_dataset_id_that_is_not_a_uri_is_rejected(car):
    bad(car.get(f"{BASE}/{CAR}", params={"datasetId": "not a uri"}))


def test_local_true_is_a_query_of_everything_here(car):
    assert [e["id"] for e in ok(car.get(BASE, params={"local": "true"}))] == [CAR]


def test_a_query_without_any_filter_is_rejected(car):
    bad(car.get(BASE))


def test_retrieve_answers_one_entity_and_a_query_an_array(car):
    assert isinstance(ok(car.get(f"{BASE}/{CAR}")), dict)
    assert isinstance(ok(car.get(BASE, params={"id": CAR, "local": "true"})), list)


def test_a_retrieve_of_an_unknown_entity_is_not_found(car):
    response = car.get(f"{BASE}/urn:ngsi-ld:Vehicle:unknown")
    assert response.status_code == 404 and error_type(response) == "ResourceNotFound"


def test_a_retrieve_with_an_invalid_id_is_bad_request(car):
    response = car.get(f"{BASE}/not-a-uri")
    assert response.status_code == 400


# -- transient entities: the history follows the entity's gate --------------------------------------

def expired_car(client):
    created = client.post("/ngsi-ld/v1/entities", json={
        "id": CAR, "type": "Vehicle", "dateExpires": {"type": "Property", "value": "2000-01-01T00:00:00Z"},
        "speed": {"value": 1, "observedAt": "2020-08-01T10:00:00Z"}})
    assert created.status_code == 201, created.text
    assert client.get(f"/ngsi-ld/v1/entities/{CAR}").status_code == 404
    return client


def test_the_history_of_an_expired_entity_is_not_found(client):
    response = expired_car(client).get(f"{BASE}/{CAR}")
    assert response.status_code == 404 and error_type(response) == "ResourceNotFound"


def test_a_query_leaves_out_an_expired_entity(client):
    assert ok(expired_car(client).get(BASE, params={"type": "Vehicle"})) == []


def test_a_temporal_only_entity_whose_expires_at_has_come_is_not_found(client):
    """expiresAt given to POST /temporal/entities gates the temporal-only entity as it gates a live one."""
    ok(client.post(BASE, json=vehicle(expiresAt="2000-01-01T00:00:00Z")), 201)
    response = client.get(f"{BASE}/{CAR}")
    assert response.status_code == 404 and error_type(response) == "ResourceNotFound"


def test_a_temporal_only_entity_before_its_expires_at_is_shown(client):
    ok(client.post(BASE, json=vehicle(expiresAt="2999-01-01T00:00:00Z")), 201)
    assert [e["id"] for e in ok(client.get(BASE, params={"type": "Vehicle"}))] == [CAR]


def test_an_answer_of_exactly_the_limit_is_whole(settings):
    with TestClient(create_app(dataclasses.replace(settings, temporal_instance_limit=20))) as client:
        for n in (1, 2):
            ok(client.post(BASE, json=vehicle(n, speeds=range(5), start_hour=0)), 201)
        response = client.get(BASE, params={"type": "Vehicle"})
        body = ok(response)
    assert sum(len(e["speed"]) + len(e["fuelLevel"]) for e in body) == 20
    assert "content-range" not in response.headers


def test_an_attribute_cut_away_entirely_is_an_empty_list(settings):
    with TestClient(create_app(dataclasses.replace(settings, temporal_instance_limit=3))) as client:
        ok(client.post(BASE, json={"id": CAR, "type": "Vehicle", "speed": [
            {"type": "Property", "value": n, "observedAt": f"2020-08-01T0{n}:00:00Z"} for n in range(5)],
            "fuelLevel": [{"type": "Property", "value": 9, "observedAt": "2020-08-02T00:00:00Z"}]}), 201)
        body = ok(client.get(f"{BASE}/{CAR}"), 206)
        values = ok(client.get(f"{BASE}/{CAR}", params={"options": "temporalValues"}), 206)
    assert [i["value"] for i in body["speed"]] == [0, 1, 2] and body["fuelLevel"] == []
    assert values["fuelLevel"] == {"type": "Property", "values": []}


# -- lang (clause 4.15, Tables 6.18.3.2-1 and 6.19.3.1-1) ---------------------------------------------

@pytest.fixture
def labelled(client):
    label = [{"type": "LanguageProperty", "languageMap": {"en": "hello", "fr": "bonjour"},
              "observedAt": "2020-08-01T12:00:00Z"},
             {"type": "LanguageProperty", "languageMap": {"en": "bye", "fr": "salut"},
              "observedAt": "2020-08-01T13:00:00Z"}]
    ok(client.post(BASE, json={"id": CAR, "type": "Vehicle", "label": label,
                               "speed": [{"type": "Property", "value": 30, "observedAt": "2020-08-01T12:00:00Z"}]}), 201)
    return client


def test_lang_turns_each_language_property_instance_into_a_property(labelled):
    body = ok(labelled.get(f"{BASE}/{CAR}", params={"lang": "fr"}))
    assert [(i["type"], i["value"], i["lang"]) for i in body["label"]] == [
        ("Property", "bonjour", "fr"), ("Property", "salut", "fr")]
    assert "languageMap" not in body["label"][0] and body["speed"][0]["value"] == 30


def test_lang_on_a_query(labelled):
    body = ok(labelled.get(BASE, params={"type": "Vehicle", "lang": "en"}))
    assert [i["value"] for i in body[0]["label"]] == ["hello", "bye"]


def test_lang_with_temporal_values_gives_values_pairs(labelled):
    body = ok(labelled.get(f"{BASE}/{CAR}", params={"lang": "fr", "format": "temporalValues"}))
    assert body["label"] == {"type": "Property", "values": [["bonjour", "2020-08-01T12:00:00Z"],
                                                            ["salut", "2020-08-01T13:00:00Z"]]}


def test_lang_without_a_match_chooses_one_language(labelled):
    body = ok(labelled.get(f"{BASE}/{CAR}", params={"lang": "de"}))
    assert all(i["type"] == "Property" and i["lang"] in ("en", "fr") for i in body["label"])


def test_without_lang_the_language_map_is_kept(labelled):
    body = ok(labelled.get(f"{BASE}/{CAR}"))
    assert [i["languageMap"]["fr"] for i in body["label"]] == ["bonjour", "salut"]


def test_lang_in_a_post_query(labelled):
    response = labelled.post(QUERY, json={"type": "Query", "entities": [{"type": "Vehicle"}], "lang": "fr",
                                          "temporalQ": {"timerel": "after", "timeAt": "2020-01-01T00:00:00Z"}})
    assert [i["value"] for i in ok(response)[0]["label"]] == ["bonjour", "salut"]



def test_a_deleted_language_property_is_shown_as_its_deletion_under_lang(client):
    entity = {"id": CAR, "type": "Vehicle", "label": {"type": "LanguageProperty", "languageMap": {"fr": "salut"}}}
    assert client.post("/ngsi-ld/v1/entities", json=entity).status_code == 201
    assert client.delete(f"/ngsi-ld/v1/entities/{CAR}/attrs/label").status_code == 204
    body = ok(client.get(f"{BASE}/{CAR}", params={"lang": "fr", "timeproperty": "modifiedAt"}))
    assert body["label"][0]["value"] == "salut" and "deletedAt" in body["label"][-1]


# -- orderBy (v1.9 clause 5.7.4.4: a temporal query orders by id only) -----------------------------

@pytest.fixture
def fleet(client):
    for n in (2, 1, 3):
        ok(client.post(BASE, json=vehicle(n)), 201)
    return client


@pytest.mark.parametrize("order,expected", [("id", [1, 2, 3]), ("id;asc", [1, 2, 3]), ("id;desc", [3, 2, 1])])
def test_a_temporal_query_orders_by_id(fleet, order, expected):
    body = ok(fleet.get(BASE, params={"type": "Vehicle", "orderBy": order, "attrs": "speed"}))
    assert [e["id"] for e in body] == [f"urn:ngsi-ld:Vehicle:{n}" for n in expected]


def test_descending_order_pages_from_the_last(fleet):
    body = ok(fleet.get(BASE, params={"type": "Vehicle", "orderBy": "id;desc", "limit": 1, "offset": 1}))
    assert [e["id"] for e in body] == ["urn:ngsi-ld:Vehicle:2"]


def page_links(response) -> list[str]:
    return re.findall(r'<[^>]*>;rel="(?:prev|next)";type="[^"]*"', ", ".join(response.headers.get_list("link")))


def test_a_page_of_entities_links_to_the_previous_and_next_pages(fleet):
    """Clause 6.3.10 pagination: the request's parameters, then limit and offset of the other pages."""
    response = fleet.get(BASE, params={"type": "Vehicle", "limit": 1, "offset": 1})
    assert [e["id"] for e in ok(response)] == ["urn:ngsi-ld:Vehicle:2"]
    assert page_links(response) == [
        '</ngsi-ld/v1/temporal/entities?type=Vehicle&limit=1&offset=0>;rel="prev";type="application/json"',
        '</ngsi-ld/v1/temporal/entities?type=Vehicle&limit=1&offset=2>;rel="next";type="application/json"']


def test_the_last_page_has_no_next_link(fleet):
    response = fleet.get(BASE, params={"type": "Vehicle", "limit": 3})
    assert len(ok(response)) == 3
    assert page_links(response) == []


@pytest.mark.parametrize("order", ["speed", "createdAt", "speed.observedAt", "id,speed", "id;sideways"])
def test_ordering_by_anything_but_id_is_bad_request_data(fleet, order):
    bad(fleet.get(BASE, params={"type": "Vehicle", "orderBy": order}))


def test_a_post_query_orders_by_id_too(fleet):
    response = fleet.post(QUERY, params={"orderBy": "id;desc"}, json={"type": "Query", "entities": [{"type": "Vehicle"}]})
    assert [e["id"] for e in ok(response)] == [f"urn:ngsi-ld:Vehicle:{n}" for n in (3, 2, 1)]
