"""Retrieve Context Source Identity Information (v1.9 clauses 5.15.1, 5.2.40, 6.33): one behaviour per test."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.ngsild.identity import iso_duration

PATH = "/ngsi-ld/v1/info/sourceIdentity"
DURATION = re.compile(r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?!$)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")
UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


def identity(client, tenant: str | None = None) -> dict:
    response = client.get(PATH, headers={"NGSILD-Tenant": tenant} if tenant else {})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_identity_is_a_context_source_identity_with_a_uri_id(client):
    body = identity(client)
    assert body["type"] == "ContextSourceIdentity" and body["id"].startswith("urn:ngsi-ld:")


def test_it_carries_every_mandatory_member(client):
    body = identity(client)
    assert set(body) == {"id", "type", "contextSourceExtras", "contextSourceUptime", "contextSourceTimeAt",
                         "contextSourceAlias"}
    assert body["contextSourceAlias"]


def test_uptime_is_an_iso_8601_duration_and_time_at_a_utc_date_time(client):
    body = identity(client)
    assert DURATION.fullmatch(body["contextSourceUptime"]) and UTC.fullmatch(body["contextSourceTimeAt"])


def test_each_tenant_has_an_alias_of_its_own_even_before_it_exists(client):
    default, a, b = identity(client)["contextSourceAlias"], identity(client, "osaka"), identity(client, "kyoto")
    assert len({default, a["contextSourceAlias"], b["contextSourceAlias"]}) == 3
    again = identity(client, "osaka")
    assert (again["id"], again["contextSourceAlias"]) == (a["id"], a["contextSourceAlias"])
    assert client.get("/ngsi-ld/v1/entities", params={"type": "T"}, headers={"NGSILD-Tenant": "osaka"}).status_code == 404


def test_the_alias_survives_a_restart(settings):
    with TestClient(create_app(settings)) as first:
        before = identity(first, "osaka")["contextSourceAlias"]
    with TestClient(create_app(settings)) as second:
        assert identity(second, "osaka")["contextSourceAlias"] == before


def test_json_ld_carries_the_core_context(client):
    response = client.get(PATH, headers={"Accept": "application/ld+json"})
    assert response.status_code == 200 and "@context" in response.json()


def test_durations_are_written_in_whole_seconds():
    assert [iso_duration(s) for s in (0, 42.7, 3723, 3 * 86400 + 4 * 3600 + 5)] == [
        "PT0S", "PT42S", "PT1H2M3S", "P3DT4H0M5S"]
