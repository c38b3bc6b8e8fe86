"""Browser sessions and the pages' protections through the real app (no browser): the login form
seals the API key in an HttpOnly SameSite=Strict cookie, a change made with the cookie needs the
session's CSRF token, a refused page sends the browser to the login form, the dashboard needs an
official's role, and pages carry a CSP without inline scripts."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.auth.apikeys import api_keys_of
from toshi.config import Settings

ENTITY = {"id": "urn:ngsi-ld:EvacuationShelter:1", "type": "EvacuationShelter",
          "capacity": {"type": "Property", "value": 100}}


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(Settings(data_dir=str(tmp_path), auth=True)), base_url="http://127.0.0.1") as c:
        yield c


def key(client, role: str) -> str:
    keys = api_keys_of(client.app.state.toshi.store)
    account = keys.create_account(role.replace(":", "-").replace("*", "all"), [role])
    return keys.create_key(account["id"])[1]


def login(client, api_key: str, then: str = "/dashboard"):
    form = client.get("/web/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    return client.post("/web/login", data={"csrf": token, "api_key": api_key, "next": then}, follow_redirects=False)


def csrf_of(page_html: str) -> str:
    return re.search(r'"csrf": "([^"]*)"', page_html).group(1)


def test_login_sets_an_httponly_samesite_strict_cookie_that_does_not_show_the_key(client):
    secret = key(client, "default:operator")
    answer = login(client, secret)
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("toshi_session="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert secret not in cookie and secret.removeprefix("toshi_") not in cookie


def test_the_session_reads_through_the_api_as_its_key(client):
    login(client, key(client, "default:operator"))
    assert client.get("/ngsi-ld/v1/entities?type=EvacuationShelter").status_code == 200


def test_a_change_with_the_cookie_but_without_the_csrf_token_is_refused(client):
    login(client, key(client, "default:operator"))
    answer = client.post("/ngsi-ld/v1/entities", json=ENTITY)
    assert answer.status_code == 403
    assert client.get(f"/ngsi-ld/v1/entities/{ENTITY['id']}").status_code == 404


def test_a_change_with_the_sessions_csrf_token_is_made(client):
    login(client, key(client, "default:operator"))
    token = csrf_of(client.get("/dashboard").text)
    assert client.post("/ngsi-ld/v1/entities", json=ENTITY, headers={"X-CSRF-Token": token}).status_code == 201


def test_a_login_form_post_without_its_csrf_token_sets_no_session(client):
    answer = client.post("/web/login", data={"csrf": "forged", "api_key": key(client, "default:operator")},
                         follow_redirects=False)
    assert answer.status_code == 403
    assert not any(c.startswith("toshi_session=") for c in answer.headers.get_list("set-cookie"))


def test_an_altered_cookie_is_no_session(client):
    login(client, key(client, "default:operator"))
    sealed = client.cookies["toshi_session"]
    client.cookies.clear()
    client.cookies.set("toshi_session", sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB"))
    assert client.get("/ngsi-ld/v1/entities?type=EvacuationShelter").status_code == 401


def test_a_page_without_a_session_sends_the_browser_to_the_login_form(client):
    answer = client.get("/dashboard/hq", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/web/login?next=%2Fdashboard%2Fhq"


def test_a_revoked_key_ends_its_session_and_says_so(client):
    keys = api_keys_of(client.app.state.toshi.store)
    account = keys.create_account("leaver", ["default:operator"])
    record, secret = keys.create_key(account["id"])
    login(client, secret)
    keys.revoke(record["id"])
    answer = client.get("/dashboard", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].endswith("&error=rejected")


def test_the_dashboard_needs_an_officials_role(client):
    login(client, key(client, "default:consumer"))
    assert client.get("/dashboard", follow_redirects=False).status_code == 403


def test_the_admin_console_needs_the_admin_role_on_every_tenant(client):
    login(client, key(client, "default:operator"), then="/admin/console")
    assert client.get("/admin/console", follow_redirects=False).status_code == 403


def test_login_never_redirects_to_another_site(client):
    assert login(client, key(client, "default:operator"), then="//evil.example/").headers["location"] == "/dashboard"


def test_pages_carry_a_csp_without_inline_scripts(client):
    policy = client.get("/portal").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy


def test_the_portal_is_public(client):
    assert client.get("/portal").status_code == 200


def test_the_language_switch_remembers_english(client):
    client.get("/web/lang?to=en&next=/portal")
    assert '<html lang="en">' in client.get("/portal").text


def test_the_base_map_adds_a_configured_tile_layer_and_its_origin_to_the_csp(tmp_path):
    settings = Settings(data_dir=str(tmp_path), web_tile_url="https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png")
    with TestClient(create_app(settings)) as c:
        style = c.get("/web/basemap/style.json").json()
        assert style["sources"]["tiles"]["tiles"] == [settings.web_tile_url]
        assert "https://cyberjapandata.gsi.go.jp" in c.get("/portal").headers["content-security-policy"]


def test_the_base_map_draws_the_towns_geojson_layers(tmp_path):
    (tmp_path / "basemap").mkdir()
    (tmp_path / "basemap" / "roads.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    with TestClient(create_app(Settings(data_dir=str(tmp_path)))) as c:
        style = c.get("/web/basemap/style.json").json()
        assert [layer["id"] for layer in style["layers"]] == ["background", "base-roads"]
        assert c.get("/web/basemap/roads.geojson").json()["type"] == "FeatureCollection"
        assert c.get("/web/basemap/water.geojson").status_code == 404
