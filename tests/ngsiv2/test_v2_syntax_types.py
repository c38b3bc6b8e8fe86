"""Field syntax, URL characters, special types and builtin names as the manual's "General syntax
restrictions", "Identifiers syntax restrictions", "Special Attribute Types", "Special Metadata Types",
"Datetime support", "Geospatial properties of entities" and "User attributes or metadata matching
builtin name" describe them (texts from Orion where the manual gives none)."""

from __future__ import annotations

POINT = {"type": "Point", "coordinates": [135.49, 34.87]}


def create(client, entity: dict) -> None:
    assert client.post("/v2/entities", json=entity).status_code == 201


def error(response) -> tuple[int, dict]:
    return response.status_code, response.json()


def bad(description: str) -> tuple[int, dict]:
    return 400, {"error": "BadRequest", "description": description}


def key_values(client, entity_id: str, **params) -> dict:
    return client.get(f"/v2/entities/{entity_id}", params={"options": "keyValues", **params}).json()


# -- characters in the URL -------------------------------------------------------------------------

def test_a_forbidden_character_in_the_url_path_is_an_invalid_character_in_uri(client):
    assert error(client.get("/v2/entities/E%3C1%3E")) == bad("invalid character in URI")


def test_whitespace_in_an_entity_id_of_the_url_is_an_invalid_character_in_uri(client):
    assert error(client.delete("/v2/entities/E%201")) == bad("invalid character in URI")


def test_a_forbidden_character_in_an_attribute_name_of_the_url_is_refused(client):
    create(client, {"id": "E", "type": "T", "A": {"value": 1}})
    assert error(client.get("/v2/entities/E/attrs/A%23B")) == bad("invalid character in URI")


def test_a_forbidden_character_in_a_uri_parameter_is_refused(client):
    assert error(client.get("/v2/entities", params={"type": "T(1)"})) == bad("invalid character in URI parameter")


def test_q_may_hold_the_characters_its_language_needs(client):
    create(client, {"id": "E", "type": "T", "code": {"value": "20"}})
    response = client.get("/v2/entities", params={"q": "code=='20'"})
    assert [e["id"] for e in response.json()] == ["E"]


def test_georel_and_coords_may_hold_semicolons(client):
    create(client, {"id": "E", "type": "T", "location": {"type": "geo:json", "value": POINT}})
    response = client.get("/v2/entities", params={"georel": "near;maxDistance:1000", "geometry": "point",
                                                  "coords": "34.87,135.49"})
    assert [e["id"] for e in response.json()] == ["E"]


# -- payload syntax --------------------------------------------------------------------------------

def test_entity_id_in_an_attributes_payload_is_refused(client):
    create(client, {"id": "E", "type": "T"})
    response = client.post("/v2/entities/E/attrs", json={"id": "F", "A": {"value": 1}})
    assert error(response) == bad("entity id specified in payload")


def test_entity_type_in_an_attributes_payload_is_refused(client):
    create(client, {"id": "E", "type": "T"})
    assert error(client.patch("/v2/entities/E/attrs", json={"type": "U"})) == bad("entity type specified in payload")


def test_an_attribute_type_that_is_not_a_string_is_refused(client):
    response = client.post("/v2/entities", json={"id": "E", "A": {"type": 3, "value": 1}})
    assert error(response) == bad("invalid JSON type for attribute type")


def test_an_empty_attribute_type_is_below_the_minimum_length(client):
    response = client.post("/v2/entities", json={"id": "E", "A": {"type": "", "value": 1}})
    assert error(response) == bad("attribute type length: 0, min length supported: 1")


def test_an_attribute_name_longer_than_256_characters_is_refused(client):
    response = client.post("/v2/entities", json={"id": "E", "a" * 257: {"value": 1}})
    assert error(response) == bad("attribute name length: 257, max length supported: 256")


def test_an_unknown_key_in_an_attribute_is_refused(client):
    response = client.post("/v2/entities", json={"id": "E", "A": {"value": 1, "unit": "C"}})
    assert error(response) == bad("unrecognized property for context attribute")


def test_text_unrestricted_metadata_lifts_the_value_restrictions(client):
    value = "Value with <forbidden> characters (like = or ;)"
    create(client, {"id": "E", "type": "T", "A": {"type": "FunnyType", "value": value, "metadata": {
        "TextUnrestricted": {"type": "Boolean", "value": True}}}})
    assert key_values(client, "E")["A"] == value


def test_text_unrestricted_metadata_set_to_false_lifts_nothing(client):
    response = client.post("/v2/entities", json={"id": "E", "A": {"value": "a=b", "metadata": {
        "TextUnrestricted": {"type": "Boolean", "value": False}}}})
    assert error(response) == bad("Invalid characters in attribute value")


def test_a_forbidden_character_in_a_metadata_value_is_refused_and_nothing_written(client):
    response = client.post("/v2/entities", json={"id": "E", "A": {"value": 1, "metadata": {
        "room": {"type": "Text", "value": "house(flat)"}}}})
    assert error(response) == bad("Invalid characters in metadata value")
    assert client.get("/v2/entities/E").status_code == 404


def test_a_forbidden_character_in_a_metadata_value_of_an_update_is_refused(client):
    create(client, {"id": "E", "type": "T", "A": {"value": 1}})
    response = client.patch("/v2/entities/E/attrs", json={"A": {"value": 2, "metadata": {
        "room": {"value": "house;flat"}}}})
    assert error(response) == bad("Invalid characters in metadata value")
    assert key_values(client, "E")["A"] == 1


def test_text_unrestricted_lifts_the_restrictions_of_the_attribute_value_only(client):
    response = client.post("/v2/entities", json={"id": "E", "A": {"type": "TextUnrestricted", "value": "a=b",
                                                                  "metadata": {"note": {"value": "c=d"}}}})
    assert error(response) == bad("Invalid characters in metadata value")


def test_compound_metadata_round_trips(client):
    source = {"type": "StructuredValue", "value": {"vendor": "acme", "calibrated": [2026, {"by": "lab"}]}}
    create(client, {"id": "E", "type": "T", "A": {"value": 1, "metadata": {"source": source}}})
    assert client.get("/v2/entities/E/attrs/A").json()["metadata"] == {"source": source}


# -- DateTime --------------------------------------------------------------------------------------

def test_datetimes_are_rendered_in_orions_form(client):
    create(client, {"id": "E", "type": "T", "t": {"type": "DateTime", "value": "2017-06-17T09:21+02:00"}})
    assert key_values(client, "E")["t"] == "2017-06-17T07:21:00.000Z"


def test_a_date_alone_is_midnight_utc(client):
    create(client, {"id": "E", "type": "T", "t": {"type": "DateTime", "value": "2017-06-17"}})
    assert key_values(client, "E")["t"] == "2017-06-17T00:00:00.000Z"


def test_iso8601_as_type_is_a_datetime(client):
    create(client, {"id": "E", "type": "T", "t": {"type": "ISO8601", "value": "2017-06-17T072124"}})
    assert client.get("/v2/entities/E/attrs/t").json() == {"type": "ISO8601", "value": "2017-06-17T07:21:24.000Z",
                                                           "metadata": {}}


def test_a_datetime_that_is_no_date_is_refused_and_nothing_written(client):
    response = client.post("/v2/entities", json={"id": "E", "t": {"type": "DateTime", "value": "2017-06-17Z"}})
    assert error(response) == bad("date has invalid format")
    assert client.get("/v2/entities/E").status_code == 404


def test_a_datetime_metadata_is_rendered_in_orions_form(client):
    create(client, {"id": "E", "type": "T", "A": {"value": 1, "metadata": {
        "checked": {"type": "DateTime", "value": "2019-09-23T03:12:47.2+00:00"}}}})
    assert client.get("/v2/entities/E/attrs/A").json()["metadata"]["checked"] == {
        "type": "DateTime", "value": "2019-09-23T03:12:47.200Z"}


def test_a_null_datetime_is_accepted(client):
    create(client, {"id": "E", "type": "T", "t": {"type": "DateTime", "value": None}})
    assert client.get("/v2/entities/E/attrs/t").json() == {"type": "DateTime", "value": None, "metadata": {}}


def test_a_null_datetime_is_not_taken_into_account_in_filters(client):
    create(client, {"id": "E", "type": "T", "t": {"type": "DateTime", "value": None}})
    create(client, {"id": "F", "type": "T", "t": {"type": "DateTime", "value": "2022-01-01T00:00:00Z"}})
    assert [e["id"] for e in client.get("/v2/entities", params={"q": "t>2021-04-21"}).json()] == ["F"]


def test_a_date_range_in_q_compares_instants(client):
    create(client, {"id": "E", "type": "T", "t": {"type": "DateTime", "value": "2021-06-01T10:00:00+09:00"}})
    create(client, {"id": "F", "type": "T", "t": {"type": "DateTime", "value": "2021-07-01T00:00:00Z"}})
    got = client.get("/v2/entities", params={"q": "t==2021-06-01T00:00:00Z..2021-06-30T00:00:00Z"}).json()
    assert [e["id"] for e in got] == ["E"]


# -- null and informative locations ------------------------------------------------------------------

def test_a_null_geo_json_is_accepted(client):
    create(client, {"id": "E", "type": "T", "location": {"type": "geo:json", "value": None}})
    assert client.get("/v2/entities/E/attrs/location").json() == {"type": "geo:json", "value": None, "metadata": {}}


def test_a_null_location_is_not_in_geo_queries(client):
    create(client, {"id": "E", "type": "T", "location": {"type": "geo:point", "value": None}})
    create(client, {"id": "F", "type": "T", "location": {"type": "geo:json", "value": POINT}})
    got = client.get("/v2/entities", params={"georel": "near;maxDistance:100000", "geometry": "point",
                                             "coords": "34.87,135.49"}).json()
    assert [e["id"] for e in got] == ["F"]


def test_a_location_with_ignore_type_is_not_the_entity_location(client):
    area = {"type": "Point", "coordinates": [0, 0]}
    create(client, {"id": "H", "type": "Hospital", "location": {"type": "geo:json", "value": POINT},
                    "serviceArea": {"type": "geo:json", "value": area, "metadata": {
                        "ignoreType": {"type": "Boolean", "value": True}}}})
    near_area = client.get("/v2/entities", params={"georel": "near;maxDistance:1000", "geometry": "point",
                                                   "coords": "0,0"}).json()
    assert near_area == []
    assert client.get("/v2/entities/H/attrs/serviceArea").json()["type"] == "geo:json"


# -- builtin names ---------------------------------------------------------------------------------

def test_a_user_attribute_with_a_builtin_name_is_shown_without_asking(client):
    create(client, {"id": "E", "type": "T", "dateModified": {"type": "Text", "value": "2050-01-01"}})
    assert key_values(client, "E") == {"id": "E", "type": "T", "dateModified": "2050-01-01"}


def test_a_user_attribute_wins_over_the_builtin_when_asked_for(client):
    create(client, {"id": "E", "type": "T", "dateModified": {"type": "Text", "value": "2050-01-01"}})
    assert key_values(client, "E", attrs="dateModified") == {"id": "E", "type": "T", "dateModified": "2050-01-01"}


def test_filters_use_the_builtin_not_the_user_attribute(client):
    create(client, {"id": "E", "type": "T", "dateModified": {"type": "DateTime", "value": "2050-01-01"}})
    assert client.get("/v2/entities", params={"q": "dateModified>2049-12-31"}).json() == []


def test_text_plain_values_have_no_charset(client):
    create(client, {"id": "E", "type": "T", "A": {"value": "hello"}})
    response = client.get("/v2/entities/E/attrs/A/value", headers={"Accept": "text/plain"})
    assert (response.headers["content-type"], response.text) == ("text/plain", '"hello"')


def test_date_expires_is_rendered_in_orions_form(client):
    create(client, {"id": "E", "type": "T", "dateExpires": {"type": "DateTime", "value": "2099-01-01T09:00+09:00"}})
    assert key_values(client, "E", attrs="dateExpires")["dateExpires"] == "2099-01-01T00:00:00.000Z"


def test_the_service_path_builtin_is_rendered_when_asked_for(client):
    assert client.post("/v2/entities", json={"id": "E", "type": "T"},
                       headers={"Fiware-ServicePath": "/town/east"}).status_code == 201
    got = client.get("/v2/entities/E", params={"attrs": "servicePath"}, headers={"Fiware-ServicePath": "/town/#"})
    assert got.json() == {"id": "E", "type": "T", "servicePath": {"type": "Text", "value": "/town/east",
                                                                  "metadata": {}}}


def test_the_service_path_builtin_of_the_root_is_a_slash(client):
    create(client, {"id": "E", "type": "T"})
    assert key_values(client, "E", attrs="servicePath")["servicePath"] == "/"


def test_the_service_path_builtin_is_not_rendered_by_default(client):
    create(client, {"id": "E", "type": "T"})
    assert key_values(client, "E") == {"id": "E", "type": "T"}
