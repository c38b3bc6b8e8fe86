"""GET /v2/entities details as Orion's manual states them: several orderBy keys ("Ordering
Results"), the Simple Query Language's operators, lists and ranges, `attrs` / `metadata` with `*`,
and the Accept rules of GET .../value ("Get Attribute Value")."""

from __future__ import annotations

import pytest

ENTITIES = [
    {"id": "E1", "type": "T", "temperature": {"value": 10}, "humidity": {"value": 50},
     "color": {"value": "black"}, "title": {"value": "20"}, "brand": {"value": {"name": "acme"}},
     "tags": {"value": ["x", "y"]},
     "pressure": {"value": 5, "metadata": {"accuracy": {"value": 0.5}}}},
    {"id": "E2", "type": "T", "temperature": {"value": 10}, "humidity": {"value": 70},
     "color": {"value": "light,green"}, "title": {"value": 20}, "tags": {"value": ["z"]}},
    {"id": "E3", "type": "U", "temperature": {"value": 25}, "humidity": {"value": 60},
     "color": {"value": "brown"}},
]


@pytest.fixture
def town(client):
    for entity in ENTITIES:
        assert client.post("/v2/entities", json=entity).status_code == 201
    return client


def ids(client, **params) -> list[str]:
    response = client.get("/v2/entities", params=params)
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def refused(client, **params) -> dict:
    response = client.get("/v2/entities", params=params)
    assert response.status_code == 400
    return response.json()


# -- orderBy --------------------------------------------------------------------------------------

def test_order_by_second_key_breaks_ties(town):
    assert ids(town, orderBy="temperature,!humidity") == ["E2", "E1", "E3"]


def test_order_by_type_then_id_descending(town):
    assert ids(town, orderBy="type,!id") == ["E2", "E1", "E3"]


def test_order_by_date_created_descending(town):
    assert ids(town, orderBy="!dateCreated") == ["E3", "E2", "E1"]


def test_order_by_a_repeated_token_is_refused(town):
    assert refused(town, orderBy="temperature,name,!temperature")["error"] == "BadRequest"


def test_order_by_mixed_types_follows_mongodb_order(client):
    values = [True, [1], {"a": 1}, "s", 3, None]
    for n, value in enumerate(values):
        assert client.post("/v2/entities", json={"id": f"M{n}", "v": {"value": value}}).status_code == 201
    # null < number < string < object < array < boolean
    assert ids(client, orderBy="v") == ["M5", "M4", "M3", "M2", "M1", "M0"]


# -- q --------------------------------------------------------------------------------------------

def test_colon_is_equal(town):
    assert ids(town, q="temperature:25") == ["E3"]


def test_list_is_an_or(town):
    assert ids(town, q="humidity==50,60") == ["E1", "E3"]


def test_unequal_list_is_an_and(town):
    assert ids(town, q="humidity!=50,60") == ["E2"]


def test_range_includes_its_limits(town):
    assert ids(town, q="humidity==50..60") == ["E1", "E3"]


def test_unequal_range(town):
    assert ids(town, q="humidity!=50..60") == ["E2"]


def test_quotes_protect_a_comma(town):
    assert ids(town, q="color=='light,green','deep,blue'") == ["E2"]


def test_quotes_force_a_string(town):
    assert ids(town, q="title=='20'") == ["E1"]


def test_unquoted_number_matches_numbers(town):
    assert ids(town, q="title==20") == ["E2"]


def test_pattern_match(town):
    assert ids(town, q="color~=ow") == ["E3"]


def test_array_value_includes_the_item(town):
    assert ids(town, q="tags==y") == ["E1"]


def test_path_into_a_compound_value(town):
    assert ids(town, q="brand.name==acme") == ["E1"]


def test_conjunction(town):
    assert ids(town, q="temperature==10;humidity>60") == ["E2"]


def test_negated_unary_statement(town):
    assert ids(town, q="!tags") == ["E3"]


def test_range_with_an_order_operator_is_refused(town):
    assert refused(town, q="humidity>50..60") == {"error": "BadRequest",
                                                    "description": "ranges only valid for equal and not equal ops"}


def test_list_with_an_order_operator_is_refused(town):
    assert refused(town, q="humidity<50,60") == {"error": "BadRequest",
                                                   "description": "lists only valid for equal and not equal ops"}


def test_metadata_query(town):
    assert ids(town, mq="pressure.accuracy<1") == ["E1"]


# -- attrs and metadata ---------------------------------------------------------------------------

def test_attrs_star_with_a_builtin(town):
    entity = town.get("/v2/entities/E3", params={"attrs": "*,dateCreated"}).json()
    assert list(entity) == ["id", "type", "temperature", "humidity", "color", "dateCreated"]


def test_attrs_list_order_is_kept(town):
    entity = town.get("/v2/entities/E3", params={"attrs": "color,temperature"}).json()
    assert list(entity) == ["id", "type", "color", "temperature"]


def test_metadata_star_with_a_builtin(town):
    attribute = town.get("/v2/entities/E1/attrs/pressure", params={"metadata": "*,dateCreated"}).json()
    assert list(attribute["metadata"]) == ["accuracy", "dateCreated"]


# -- GET .../value and Accept ---------------------------------------------------------------------

def test_number_value_refuses_json_only(town):
    response = town.get("/v2/entities/E1/attrs/temperature/value", headers={"Accept": "application/json"})
    assert response.status_code == 406
    assert response.json() == {"error": "NotAcceptable", "description": "accepted MIME types: text/plain"}


def test_accept_without_a_known_media_type_is_not_acceptable(town):
    response = town.get("/v2/entities/E1/attrs/temperature/value", headers={"Accept": "application/xml"})
    assert response.status_code == 406
    assert response.json() == {"error": "NotAcceptable", "description": "no acceptable mime-type in accept header"}


def test_accept_ranges_are_ordered_by_q(town):
    response = town.get("/v2/entities/E1/attrs/brand/value",
                        headers={"Accept": "text/plain;q=0.5, application/json"})
    assert response.headers["content-type"] == "application/json"


def test_application_wildcard_does_not_take_text(town):
    response = town.get("/v2/entities/E1/attrs/temperature/value", headers={"Accept": "application/*"})
    assert response.status_code == 406
    assert response.json() == {"error": "NotAcceptable", "description": "accepted MIME types: text/plain"}


def test_accept_parameter_other_than_q_is_a_bad_request(town):
    response = town.get("/v2/entities", headers={"Accept": "application/json; charset=utf-8"})
    assert response.status_code == 400
    assert response.json() == {"error": "BadRequest", "description": "q missing in accept header"}


def test_accept_qvalue_must_be_a_number(town):
    response = town.get("/v2/entities", headers={"Accept": "application/json;q=high"})
    assert response.json() == {"error": "BadRequest", "description": "qvalue in accept header is not a number"}


def test_unknown_media_types_in_accept_are_skipped(town):
    response = town.get("/v2/entities", headers={"Accept": "text/html, application/xhtml+xml, */*;q=0.8"})
    assert response.status_code == 200


def test_accept_is_checked_before_the_entity_is_looked_up(town):
    response = town.get("/v2/entities/Nope/attrs/temperature/value", headers={"Accept": "application/xml"})
    assert response.status_code == 406


def test_string_value_as_text_is_quoted(town):
    response = town.get("/v2/entities/E1/attrs/color/value", headers={"Accept": "text/plain"})
    assert (response.status_code, response.headers["content-type"], response.text) == (200, "text/plain", '"black"')


def test_object_value_as_text(town):
    response = town.get("/v2/entities/E1/attrs/brand/value", headers={"Accept": "text/plain"})
    assert (response.headers["content-type"], response.json()) == ("text/plain", {"name": "acme"})


def test_object_value_with_any_accept_is_json(town):
    response = town.get("/v2/entities/E1/attrs/brand/value", headers={"Accept": "*/*"})
    assert response.headers["content-type"] == "application/json"


def test_values_mode_refuses_text(town):
    response = town.get("/v2/entities", params={"options": "values"}, headers={"Accept": "text/plain"})
    assert response.status_code == 406
    assert response.json() == {"error": "NotAcceptable", "description": "acceptable MIME types: application/json"}


def test_unique_mode_drops_repeated_values(town):
    response = town.get("/v2/entities/E2", params={"options": "unique", "attrs": "temperature,humidity,temperature"})
    assert response.json() == [10, 70]
