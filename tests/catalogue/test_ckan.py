"""The CKAN Action API: answers and errors as CKAN gives them, and the ckanapi client reading a
running Toshi unmodified."""

from __future__ import annotations

import pytest
from support import ServerProcess

ADMIN = "/catalogue/admin/datasets"
API = "/api/3/action"


@pytest.fixture
def catalogue(client, shelters_csv):
    assert client.post(f"{ADMIN}/shelters/import?confirm=true", content=shelters_csv(2)).status_code == 200
    described = {"keywords": ["避難", "防災"], "publisher": "豊能町", "title": {"ja": "指定緊急避難場所", "en": "Evacuation sites"}}
    assert client.patch(f"{ADMIN}/shelters", json=described).status_code == 200
    assert client.post(f"{ADMIN}/shelters/open").status_code == 200
    closed = {"name": "drafts", "type": "Draft", "attrs": ["name"]}
    assert client.post(ADMIN, json=closed).status_code == 201
    return client


def test_package_list_lists_the_open_datasets(catalogue):
    body = catalogue.get(f"{API}/package_list").json()
    assert body["success"] is True and body["result"] == ["shelters"]
    assert body["help"].endswith("/api/3/action/help_show?name=package_list")


def test_package_show_of_a_missing_dataset_is_a_not_found_error(catalogue):
    r = catalogue.get(f"{API}/package_show", params={"id": "drafts"})
    assert r.status_code == 404
    assert r.json()["success"] is False and r.json()["error"] == {"__type": "Not Found Error", "message": "Not found"}


def test_package_show_without_an_id_is_a_validation_error(catalogue):
    r = catalogue.get(f"{API}/package_show")
    assert r.status_code == 409
    assert r.json()["error"] == {"__type": "Validation Error", "name_or_id": ["Missing value"]}


def test_an_unknown_action_is_a_bad_request(catalogue):
    r = catalogue.get(f"{API}/package_create")
    assert r.status_code == 400 and r.json() == "Bad request - Action name not known: package_create"


def test_a_search_query_error(catalogue):
    r = catalogue.get(f"{API}/package_search", params={"q": "nosuchfield:x"})
    assert r.status_code == 400 and r.json()["error"]["__type"] == "Search Query Error"


def test_rows_must_be_an_integer(catalogue):
    r = catalogue.get(f"{API}/package_search", params={"rows": "ten"})
    assert r.status_code == 409 and r.json()["error"]["rows"] == ["Invalid integer"]


def test_post_with_a_json_body_works_as_ckan_clients_send_it(catalogue):
    r = catalogue.post(f"{API}/package_search", json={"fq": "tags:防災", "rows": 1})
    assert r.json()["result"]["count"] == 1


def test_the_old_unversioned_path_answers_too(catalogue):
    assert catalogue.get("/api/action/package_list").json()["result"] == ["shelters"]


def test_a_harvesters_modified_range_filter(catalogue):
    found = catalogue.get(f"{API}/package_search",
                          params={"fq": "metadata_modified:[2000-01-01T00:00:00Z TO *]", "rows": 100}).json()
    assert found["result"]["count"] == 1


def test_ckanapi_reads_toshi_unmodified(tmp_path, toshi):
    import ckanapi
    from catalogue_samples import csv_bytes, full_row

    from toshi.catalogue import standards as std

    rows = [full_row(std.EVACUATION_SITES, n) for n in range(3)]
    source = tmp_path / "shelters.csv"
    source.write_bytes(csv_bytes(std.EVACUATION_SITES.headers, rows, "cp932"))
    assert toshi("import", str(source), "--dataset", "shelters")[0] == 0
    assert toshi("dataset", "update", "shelters", "--keywords", "避難,防災", "--publisher", "豊能町",
                 "--spatial", "135.40,34.85,135.55,34.95")[0] == 0
    assert toshi("dataset", "open", "shelters")[0] == 0
    server = ServerProcess(tmp_path / "data").start()
    try:
        ckan = ckanapi.RemoteCKAN(server.url, user_agent="toshi-test")
        assert ckan.action.package_list() == ["shelters"]
        package = ckan.action.package_show(id="shelters")
        assert package["organization"]["title"] == "豊能町" and package["license_id"] == "CC-BY-4.0"
        assert {r["format"] for r in package["resources"]} == {"CSV", "GeoJSON", "JSON-LD", "NGSI-LD"}
        found = ckan.action.package_search(q="避難", fq="tags:防災", rows=5, start=0)
        assert found["count"] == 1 and found["results"][0]["name"] == "shelters"
        assert ckan.action.package_search(q="tags:存在しない")["count"] == 0
        assert ckan.action.organization_list() == ["default"]
        assert ckan.action.tag_list() == ["避難", "防災"]
        csv_resource = next(r for r in package["resources"] if r["format"] == "CSV")
        assert ckan.action.resource_show(id=csv_resource["id"])["url"].endswith("/catalogue/datasets/shelters.csv")
        assert ckan.action.status_show()["ckan_version"].startswith("2.")
        with pytest.raises(ckanapi.NotFound):
            ckan.action.package_show(id="nothing-here")
    finally:
        server.stop()
