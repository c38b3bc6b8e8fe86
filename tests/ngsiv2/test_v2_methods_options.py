"""405 with Allow, q / orderBy over builtin attributes, options overrideMetadata, skipForwarding and
flowControl (Orion manual; 405: src/lib/serviceRoutinesV2/badVerb*.cpp)."""

from __future__ import annotations

import dataclasses
import time

import httpx
import pytest
from starlette.testclient import TestClient

from toshi.app import create_app

NOT_ALLOWED = {"error": "MethodNotAllowed", "description": "method not allowed"}
ROOM = {"id": "Room1", "type": "Room",
        "temperature": {"value": 20, "type": "Number",
                        "metadata": {"unit": {"value": "celsius", "type": "Text"},
                                     "avg": {"value": 25.4, "type": "Number"}}}}
UPDATE = {"value": 26, "type": "Number",
          "metadata": {"avg": {"value": 25.6, "type": "Number"}, "accuracy": {"value": 98.7, "type": "Number"}}}


# -- 405 Method Not Allowed -----------------------------------------------------------------------

@pytest.mark.parametrize(("method", "url", "allow"), [
    ("POST", "/v2", "GET"),
    ("DELETE", "/v2/entities", "POST, GET"),
    ("PATCH", "/v2/entities/E1", "GET, DELETE"),
    ("DELETE", "/v2/entities/E1/attrs", "GET, PATCH, POST, PUT"),
    ("POST", "/v2/entities/E1/attrs/A", "GET, PUT, DELETE"),
    ("DELETE", "/v2/entities/E1/attrs/A/value", "GET, PUT"),
    ("POST", "/v2/types", "GET"),
    ("DELETE", "/v2/types/Room", "GET"),
    ("GET", "/v2/op/update", "POST"),
    ("PUT", "/v2/op/query", "POST"),
    ("GET", "/v2/op/notify", "POST"),
    ("PUT", "/v2/subscriptions", "POST, GET"),
    ("PUT", "/v2/subscriptions/5f0c1a2b3c4d5e6f7a8b9c0d", "GET, DELETE, PATCH"),
    ("DELETE", "/v2/registrations", "POST, GET"),
    ("PUT", "/v2/registrations/5f0c1a2b3c4d5e6f7a8b9c0d", "GET, DELETE"),
    ("PATCH", "/v2/registrations/5f0c1a2b3c4d5e6f7a8b9c0d", "GET, DELETE"),  # Orion has no update of a registration
    ("OPTIONS", "/v2/entities", "POST, GET"),
])
def test_method_not_allowed_has_allow_header(client, method, url, allow):
    response = client.request(method, url)
    assert response.status_code == 405
    assert response.json() == NOT_ALLOWED
    assert response.headers["allow"] == allow
    assert response.headers["content-type"] == "application/json"
    assert len(response.headers["fiware-correlator"]) == 36


def test_method_not_allowed_keeps_the_given_correlator_and_the_trailing_slash_rule(client):
    response = client.request("PATCH", "/v2/entities/", headers={"Fiware-Correlator": "abc"})
    assert (response.status_code, response.headers["allow"]) == (405, "POST, GET")
    assert response.headers["fiware-correlator"] == "abc"


def test_allow_lists_options_when_cors_is_on(settings):
    cors = dataclasses.replace(settings, cors_origin="*")
    with TestClient(create_app(cors)) as client:
        response = client.delete("/v2/entities")
        assert response.status_code == 405 and response.headers["allow"] == "POST, GET, OPTIONS"


# -- q and orderBy over builtin attributes --------------------------------------------------------

def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [entity["id"] for entity in response.json()]


def _created(client, entity: dict) -> str:
    assert client.post("/v2/entities", json=entity).status_code == 201
    time.sleep(0.005)
    return client.get(f"/v2/entities/{entity['id']}?attrs=dateCreated").json()["dateCreated"]["value"]


def test_q_over_date_created_and_date_modified(client):
    first = _created(client, {"id": "A", "type": "T", "n": {"value": 1}})
    second = _created(client, {"id": "B", "type": "T", "n": {"value": 2}})
    assert client.patch("/v2/entities/A/attrs", json={"n": {"value": 3}}).status_code == 204
    modified_a = client.get("/v2/entities/A?attrs=dateModified").json()["dateModified"]["value"]

    def q(expression: str) -> list[str]:
        return _ids(client.get("/v2/entities", params={"q": expression, "orderBy": "id"}))

    assert q(f"dateCreated>{first}") == ["B"]
    assert q(f"dateCreated<={first}") == ["A"]
    assert q(f"dateModified>{second}") == ["A"]                      # A was modified after B was created
    assert q(f"dateModified=={modified_a}") == ["A"]
    assert q("dateModified>2000-01-01T00:00:00Z") == ["A", "B"]
    assert q("dateModified<2000-01-01") == []
    assert q("dateCreated==2000-01-01..2999-12-31") == ["A", "B"]
    assert q(f"dateCreated!={first}") == ["B"]
    assert q(f"n>1;dateCreated<{second}") == ["A"]                  # with an ordinary statement
    assert q("dateModified") == ["A", "B"] and q("!dateModified") == []
    assert q("dateModified==foo") == []                              # not a date-time: no match
    # op/query and subscriptions share the parser
    body = {"entities": [{"idPattern": ".*"}], "expression": {"q": f"dateCreated>{first}"}}
    assert _ids(client.post("/v2/op/query", json=body)) == ["B"]


def test_q_over_date_expires_and_order_by_builtins(client):
    _created(client, {"id": "A", "type": "T", "dateExpires": {"value": "2090-01-01T00:00:00Z", "type": "DateTime"}})
    _created(client, {"id": "B", "type": "T", "dateExpires": {"value": "2080-01-01T00:00:00Z", "type": "DateTime"}})
    _created(client, {"id": "C", "type": "T"})
    assert _ids(client.get("/v2/entities?q=dateExpires<2085-01-01T00:00:00Z")) == ["B"]
    assert _ids(client.get("/v2/entities?q=dateExpires")) == ["A", "B"]
    assert _ids(client.get("/v2/entities?orderBy=dateExpires")) == ["C", "B", "A"]
    assert _ids(client.get("/v2/entities?orderBy=!dateCreated")) == ["C", "B", "A"]
    client.patch("/v2/entities/A/attrs", json={"dateExpires": {"value": "2095-01-01T00:00:00Z", "type": "DateTime"}})
    assert _ids(client.get("/v2/entities?orderBy=!dateModified")) == ["A", "C", "B"]


# -- overrideMetadata -----------------------------------------------------------------------------

def _metadata(client, attr: str = "temperature") -> dict:
    return client.get(f"/v2/entities/Room1/attrs/{attr}").json()["metadata"]


def test_metadata_are_merged_by_default(client):
    client.post("/v2/entities", json=ROOM)
    assert client.put("/v2/entities/Room1/attrs/temperature", json=UPDATE).status_code == 204
    assert _metadata(client) == {"unit": {"value": "celsius", "type": "Text"},
                                 "avg": {"value": 25.6, "type": "Number"},
                                 "accuracy": {"value": 98.7, "type": "Number"}}


@pytest.mark.parametrize("write", [
    lambda c: c.put("/v2/entities/Room1/attrs/temperature?options=overrideMetadata", json=UPDATE),
    lambda c: c.patch("/v2/entities/Room1/attrs?options=overrideMetadata", json={"temperature": UPDATE}),
    lambda c: c.post("/v2/entities/Room1/attrs?options=overrideMetadata", json={"temperature": UPDATE}),
    lambda c: c.post("/v2/op/update?options=overrideMetadata",
                     json={"actionType": "update", "entities": [{"id": "Room1", "temperature": UPDATE}]}),
    lambda c: c.post("/v2/op/update?options=overrideMetadata",
                     json={"actionType": "append", "entities": [{"id": "Room1", "type": "Room", "temperature": UPDATE}]}),
])
def test_override_metadata_replaces_them(client, write):
    client.post("/v2/entities", json=ROOM)
    assert write(client).status_code == 204
    assert client.get("/v2/entities/Room1/attrs/temperature").json() == {
        "type": "Number", "value": 26,
        "metadata": {"avg": {"value": 25.6, "type": "Number"}, "accuracy": {"value": 98.7, "type": "Number"}}}


def test_override_metadata_without_metadata_clears_them_and_keeps_the_creation_date(client):
    client.post("/v2/entities", json={**ROOM, "temperature": {**ROOM["temperature"],
                                                              "metadata": {"unitCode": {"value": "CEL"}}}})
    created = _metadata_of(client, "dateCreated")
    response = client.put("/v2/entities/Room1/attrs/temperature?options=overrideMetadata", json={"value": 27})
    assert response.status_code == 204
    assert _metadata(client) == {}
    assert _metadata_of(client, "dateCreated") == created


def _metadata_of(client, name: str):
    return client.get(f"/v2/entities/Room1/attrs/temperature?metadata={name}").json()["metadata"][name]["value"]


def test_override_metadata_is_ignored_by_the_value_update(client):
    client.post("/v2/entities", json=ROOM)
    response = client.put("/v2/entities/Room1/attrs/temperature/value?options=overrideMetadata", content=b"30",
                          headers={"Content-Type": "text/plain"})
    assert response.status_code == 204
    assert client.get("/v2/entities/Room1/attrs/temperature").json() == {**ROOM["temperature"], "value": 30}


def test_unknown_option_is_still_refused(client):
    client.post("/v2/entities", json=ROOM)
    response = client.patch("/v2/entities/Room1/attrs?options=overrideEverything", json={"temperature": UPDATE})
    assert response.status_code == 400
    assert response.json() == {"error": "BadRequest", "description": "Invalid value for URI param /options/"}


# -- flowControl ----------------------------------------------------------------------------------

@pytest.mark.parametrize("write", [
    lambda c: c.post("/v2/entities/Room1/attrs?options=flowControl", json={"pressure": {"value": 1}}),
    lambda c: c.patch("/v2/entities/Room1/attrs?options=flowControl,forcedUpdate", json={"temperature": UPDATE}),
    lambda c: c.put("/v2/entities/Room1/attrs?options=flowControl", json={"temperature": UPDATE}),
    lambda c: c.put("/v2/entities/Room1/attrs/temperature?options=flowControl", json=UPDATE),
    lambda c: c.put("/v2/entities/Room1/attrs/temperature/value?options=flowControl", content=b"1",
                      headers={"Content-Type": "text/plain"}),
    lambda c: c.post("/v2/op/update?options=flowControl",
                     json={"actionType": "update", "entities": [{"id": "Room1", "temperature": UPDATE}]}),
])
def test_flow_control_is_accepted(client, write):
    client.post("/v2/entities", json=ROOM)
    response = write(client)
    assert response.status_code == 204, response.text


# -- skipForwarding -------------------------------------------------------------------------------

def test_skip_forwarding_answers_from_local_data(client, server):
    assert httpx.post(server.url + "/v2/entities", json={"id": "Room1", "type": "Room", "humidity": {"value": 40}}
                      ).status_code == 201
    client.post("/v2/entities", json={"id": "Room1", "type": "Room", "temperature": {"value": 21}})
    registration = {"dataProvided": {"entities": [{"id": "Room1", "type": "Room"}], "attrs": ["humidity"]},
                    "provider": {"http": {"url": server.url + "/v2"}}}
    assert client.post("/v2/registrations", json=registration).status_code == 201
    local = {"id": "Room1", "type": "Room", "temperature": 21}
    assert client.get("/v2/entities/Room1?options=keyValues").json() == {**local, "humidity": 40}
    assert client.get("/v2/entities/Room1?options=keyValues,skipForwarding").json() == local
    assert client.get("/v2/entities/Room1/attrs?options=skipForwarding,keyValues").json() == {"temperature": 21}
    assert client.get("/v2/entities?options=skipForwarding,keyValues").json() == [local]
    assert client.post("/v2/op/query?options=keyValues,skipForwarding",
                       json={"entities": [{"id": "Room1"}]}).json() == [local]
    assert client.get("/v2/entities?options=keyValues").json() == [{**local, "humidity": 40}]
