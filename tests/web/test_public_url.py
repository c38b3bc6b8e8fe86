"""Behind a reverse proxy (the browser at https://town.example.jp, Toshi at http://127.0.0.1:1026 and
the proxy not passing the Host on): the `public_url` setting is the origin of the portal's OIDC
redirect URI, of the provider's discovery document and of the map style, and makes cookies Secure. A
client's X-Forwarded-Host is never believed. Through the real app, no browser."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from oidc_flow import PASSWORD, admin_headers, create_resident, hidden_fields, register_client
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings, load_settings

PUBLIC = "https://town.example.jp"
INSIDE = "http://127.0.0.1:1026"  # what the proxy calls: its own Host
RESIDENT = "urn:ngsi-ld:Person:hanako"


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory):
    data = tmp_path_factory.mktemp("proxied")
    (data / "basemap").mkdir()
    (data / "basemap" / "boundary.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    settings = Settings(data_dir=str(data), auth=True, public_url=PUBLIC + "/")
    with TestClient(create_app(settings), base_url=INSIDE) as c:
        c.admin = admin_headers(c)
        create_resident(c, c.admin, RESIDENT)
        register_client(c, c.admin, (PUBLIC + "/portal/callback",))
        yield c


def redirect_uri_of(answer) -> str:
    assert answer.status_code == 303, answer.text
    return parse_qs(urlsplit(answer.headers["location"]).query)["redirect_uri"][0]


def test_the_portal_signs_in_with_the_public_callback(behind_proxy):
    c = behind_proxy
    start = c.get("/portal/login", follow_redirects=False)
    assert redirect_uri_of(start) == PUBLIC + "/portal/callback"  # the registered one: found
    assert "Secure" in start.headers["set-cookie"]  # the browser is on https, whatever the proxy's hop
    form = c.get(start.headers["location"])
    back = c.post("/oidc/authorize", data={**hidden_fields(form.text), "resident_id": RESIDENT, "password": PASSWORD},
                  follow_redirects=False)
    location = urlsplit(back.headers["location"])
    assert back.status_code == 303 and f"{location.scheme}://{location.netloc}{location.path}" == \
        PUBLIC + "/portal/callback"
    # the browser follows it to the proxy, which calls Toshi; the sign-in cookie went with it
    done = c.get(f"{location.path}?{location.query}", follow_redirects=False,
                 headers={"cookie": start.headers["set-cookie"].split(";")[0]})
    assert done.status_code == 303 and done.headers["location"] == "/portal/me"
    session = next(h for h in done.headers.get_list("set-cookie") if h.startswith("toshi_session="))
    assert "Secure" in session


def test_a_forwarded_host_from_a_client_is_not_believed(behind_proxy, tmp_path):
    spoofed = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}
    assert redirect_uri_of(behind_proxy.get("/portal/login", headers=spoofed, follow_redirects=False)) == \
        PUBLIC + "/portal/callback"
    with TestClient(create_app(Settings(data_dir=str(tmp_path), auth=True)), base_url=INSIDE) as c:  # no public_url
        register_client(c, admin_headers(c), (INSIDE + "/portal/callback",))
        assert redirect_uri_of(c.get("/portal/login", headers=spoofed, follow_redirects=False)) == \
            INSIDE + "/portal/callback"


def test_discovery_and_the_map_style_name_the_public_origin(behind_proxy):
    discovery = behind_proxy.get("/.well-known/openid-configuration").json()
    assert discovery["jwks_uri"] == PUBLIC + "/.well-known/jwks.json"
    assert all(v.startswith(PUBLIC + "/") for k, v in discovery.items() if k.endswith("_endpoint"))
    style = behind_proxy.get("/web/basemap/style.json").json()
    assert style["sources"]["boundary"]["data"] == PUBLIC + "/web/basemap/boundary.geojson"


@pytest.mark.parametrize("value", ["town.example.jp", "https://town.example.jp/toshi", "https://town.example.jp/?a=1",
                                   "ftp://town.example.jp", "https://user@town.example.jp"])
def test_public_url_is_an_origin(value):
    with pytest.raises(ValueError, match="public_url"):
        load_settings(None, {"public_url": value}, environ={})
