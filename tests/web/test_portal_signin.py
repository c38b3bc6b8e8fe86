"""The portal's resident sign-in through the real app (no browser): the portal is a client of Toshi's
own OpenID Connect provider (code + PKCE), finds its registration by its redirect URI, keeps the
sign-in state sealed in a cookie, and seals the resident's access token in the session cookie, with
which the consent API answers for the resident."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from oidc_flow import PASSWORD, admin_headers, create_resident, hidden_fields, register_client
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings

RESIDENT = "urn:ngsi-ld:Person:hanako"
BASE = "http://127.0.0.1"
CALLBACK = BASE + "/portal/callback"


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(Settings(data_dir=str(tmp_path), auth=True)), base_url=BASE) as c:
        admin = admin_headers(c)
        create_resident(c, admin, RESIDENT)
        c.admin = admin
        yield c


def start(client, then: str = "/portal/me"):
    """GET /portal/login: the redirect to the provider's sign-in form."""
    return client.get("/portal/login", params={"next": then}, follow_redirects=False)


def sign_in(client, then: str = "/portal/me", password: str = PASSWORD):
    """The whole sign-in as a browser makes it; the answer of the portal's callback."""
    authorize = start(client, then).headers["location"]
    form = client.get(authorize)
    fields = hidden_fields(form.text)
    back = client.post("/oidc/authorize", data={**fields, "resident_id": RESIDENT, "password": password},
                       follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"].startswith(CALLBACK + "?"), back.text
    return client.get(back.headers["location"], follow_redirects=False)


def csrf_of(page_html: str) -> str:
    return re.search(r'"csrf": "([^"]*)"', page_html).group(1)


def test_login_redirects_to_the_provider_with_pkce_state_and_nonce(client):
    client_id = register_client(client, client.admin, (CALLBACK,))
    answer = start(client)
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert location.path == "/oidc/authorize"
    assert query["client_id"] == client_id and query["redirect_uri"] == CALLBACK
    assert query["response_type"] == "code" and query["scope"] == "openid profile"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["state"] and query["nonce"]
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("toshi_portal_sign_in="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_the_callback_seals_a_session_with_which_the_consent_api_answers_for_the_resident(client):
    register_client(client, client.admin, (CALLBACK,))
    answer = sign_in(client)
    assert answer.status_code == 303 and answer.headers["location"] == "/portal/me"
    session = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("toshi_session="))
    assert "HttpOnly" in session and "SameSite=Strict" in session and "eyJ" not in session  # no readable JWT
    assert client.get("/consent/me/consents").json() == []
    page = client.get("/portal/me")
    assert page.status_code == 200 and "豊能 花子 さん" in page.text


def test_a_resident_change_through_the_session_needs_the_csrf_token(client):
    register_client(client, client.admin, (CALLBACK,))
    sign_in(client)
    grant = {"recipient": "acct_care", "purpose": "care-planning", "categories": ["sensitive"]}
    assert client.post("/consent/me/consents", json=grant).status_code == 403
    token = csrf_of(client.get("/portal/me/consents").text)
    answer = client.post("/consent/me/consents", json=grant, headers={"X-CSRF-Token": token})
    assert answer.status_code == 201 and answer.json()["subject"] == RESIDENT


def test_the_callback_refuses_a_state_this_browser_did_not_start(client):
    register_client(client, client.admin, (CALLBACK,))
    start(client)
    answer = client.get("/portal/callback", params={"code": "x", "state": "not-the-one"}, follow_redirects=False)
    assert answer.status_code == 400
    assert not any(c.startswith("toshi_session=") and "Max-Age=0" not in c
                   for c in answer.headers.get_list("set-cookie"))
    assert client.get("/consent/me/consents").status_code == 401


def test_after_sign_in_only_a_portal_page_of_this_site_is_a_destination(client):
    register_client(client, client.admin, (CALLBACK,))
    assert sign_in(client, then="//evil.example/portal").headers["location"] == "/portal/me"


def test_login_without_a_registered_portal_says_how_to_register_it(client):
    answer = start(client)
    assert answer.status_code == 503
    assert f"--redirect-uri {CALLBACK}" in answer.text


def test_my_pages_send_a_visitor_without_a_resident_session_to_the_sign_in(client):
    answer = client.get("/portal/me/consents", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/portal/login?next=%2Fportal%2Fme%2Fconsents"


def test_my_pages_with_authentication_off_explain_that_there_is_no_resident_sign_in(tmp_path):
    with TestClient(create_app(Settings(data_dir=str(tmp_path))), base_url=BASE) as c:
        answer = c.get("/portal/me")
    assert answer.status_code == 409 and 'id="signin-reason"' in answer.text
