"""The admin console's CSV import page as served (the form flow itself runs in the browser:
tests/web/test_console.py): in Japanese first and in English, only for an administrator."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.auth.apikeys import api_keys_of
from toshi.config import Settings

PAGE = "/admin/console/import"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    settings = Settings(data_dir=str(tmp_path_factory.mktemp("data")), auth=True)
    with TestClient(create_app(settings)) as client:
        keys = api_keys_of(client.app.state.toshi.store)

        def bearer(name: str, role: str) -> dict:
            _, secret = keys.create_key(keys.create_account(name, [role])["id"])
            return {"Authorization": f"Bearer {secret}"}
        yield client, bearer("clerk", "*:admin"), bearer("official", "default:operator")


def test_the_page_is_in_japanese_first(served):
    client, admin, _ = served
    r = client.get(PAGE, headers=admin)
    assert r.status_code == 200
    assert "<h1>CSVの取り込み</h1>" in r.text
    for part in ('id="import-file"', 'type="file"', 'id="import-dataset"', 'id="import-confirm"',
                 "/web/static/js/console_import.js"):
        assert part in r.text


def test_the_page_is_in_english_when_the_browser_asks(served):
    client, admin, _ = served
    r = client.get(PAGE, headers={**admin, "Accept-Language": "en-GB,en;q=0.9"})
    assert r.status_code == 200
    assert "<h1>Import a CSV</h1>" in r.text
    assert ">Check</button>" in r.text


def test_the_console_links_to_the_page(served):
    client, admin, _ = served
    assert f'href="{PAGE}"' in client.get("/admin/console", headers=admin).text


@pytest.mark.parametrize("who", ["anonymous", "official"])
def test_only_an_administrator_gets_the_page(served, who):
    client, _, official = served
    r = client.get(PAGE, headers=official if who == "official" else {}, follow_redirects=False)
    assert r.status_code in (401, 403, 303)
    assert 'id="import-file"' not in r.text


def test_its_script_is_served(served):
    client, _, _ = served
    r = client.get("/web/static/js/console_import.js")
    assert r.status_code == 200
    assert "/catalogue/admin/datasets/" in r.text
