"""`aggrMethods` given more than once in the URL of a temporal retrieve or query (ETSI GS CIM 009 v1.8
clause 4.5.19: the aggregation methods are a list; clause 6.18.3.1 / 6.19.3.1 name the parameter). The
spec names no error for a repeated URL parameter, so the lists are merged, as the entity API merges a
repeated `options`: every method asked for is answered, none silently dropped."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, error_type, module_settings

from toshi.app import create_app

BASE = "/ngsi-ld/v1/temporal/entities"
CAR = "urn:ngsi-ld:Vehicle:aggr1"
SPEEDS = (10, 20, 30)


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "aggr-repeated")
    with TestClient(create_app(settings)) as test_client:
        car = {"id": CAR, "type": "Vehicle",
               "speed": [{"type": "Property", "value": v, "observedAt": f"2020-08-01T{10 + i:02d}:00:00Z"}
                         for i, v in enumerate(SPEEDS)]}
        assert test_client.post(BASE, json=car).status_code == 201
        yield test_client


def aggregated(client, *methods: str, path: str = f"{BASE}/{CAR}", **params):
    """The aggregated representation with each of `methods` as its own aggrMethods parameter."""
    query = [("options", "aggregatedValues"), ("attrs", "speed"),
             *(("aggrMethods", m) for m in methods), *params.items()]
    return client.get(path, params=query)


def test_retrieve_answers_every_method_of_a_repeated_aggr_methods(client):
    response = aggregated(client, "min", "max")
    assert response.status_code == 200, response.text
    speed = response.json()["speed"]
    assert speed["min"][0][0] == 10
    assert speed["max"][0][0] == 30


def test_repeated_aggr_methods_lists_are_joined(client):
    response = aggregated(client, "min,max", "sum")
    assert response.status_code == 200, response.text
    speed = response.json()["speed"]
    assert {"min", "max", "sum"} <= speed.keys()
    assert speed["sum"][0][0] == sum(SPEEDS)


def test_a_method_named_twice_is_answered_once(client):
    once = aggregated(client, "sum").json()
    twice = aggregated(client, "sum", "sum").json()
    assert twice == once


def test_an_unknown_method_in_a_repeated_aggr_methods_is_bad_request(client):
    response = aggregated(client, "sum", "median")
    assert response.status_code == 400, response.text
    assert error_type(response) == "BadRequestData"


def test_query_answers_every_method_of_a_repeated_aggr_methods(client):
    response = aggregated(client, "min", "max", path=BASE, type="Vehicle", id=CAR)
    assert response.status_code == 200, response.text
    [car] = response.json()
    assert car["speed"]["min"][0][0] == 10
    assert car["speed"]["max"][0][0] == 30
