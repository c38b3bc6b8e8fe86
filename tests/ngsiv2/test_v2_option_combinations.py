"""`options` combinations as Orion's uriParamOptionsParse reads them, on every /v2 request: keyValues,
values and unique exclude each other (400), normalized goes with any of them (that one wins)."""

from __future__ import annotations

import pytest

REFUSED = (400, {"error": "BadRequest", "description": "Invalid value for URI param /options/"})
ROOM = {"id": "R1", "type": "Room", "t": {"value": 21}}


def answer(response):
    return response.status_code, response.json()


@pytest.mark.parametrize("options", ["keyValues,values", "values,unique", "keyValues,unique",
                                     "normalized,values,keyValues"])
def test_two_forms_are_refused(client, options):
    assert answer(client.get(f"/v2/entities?options={options}")) == REFUSED


def test_repeated_options_parameters_add_up(client):
    assert answer(client.get("/v2/entities?options=keyValues&options=values")) == REFUSED


@pytest.mark.parametrize(("options", "rendered"), [("normalized,keyValues", {"id": "R1", "type": "Room", "t": 21}),
                                                   ("values,normalized", [21])])
def test_normalized_goes_with_another_form_which_wins(client, options, rendered):
    client.post("/v2/entities", json=ROOM)
    assert client.get(f"/v2/entities/R1?options={options}").json() == rendered


def test_options_are_checked_where_the_operation_has_none(client):
    client.post("/v2/entities", json=ROOM)
    assert answer(client.delete("/v2/entities/R1?options=keyValues,unique")) == REFUSED
    assert client.get("/v2/entities/R1").status_code == 200  # nothing deleted


def test_options_are_checked_before_the_operation_reads_its_parameters(client):
    # Orion flags options while it parses the URI, before getEntities meets id with idPattern
    assert answer(client.get("/v2/entities?id=R1&idPattern=R.*&options=bogus")) == REFUSED
