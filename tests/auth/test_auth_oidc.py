"""Toshi as an OpenID Connect provider: the authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636,
OpenID Connect Core 1.0 §3.1), through the real app with authentication on."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from oidc_flow import (
    PASSWORD,
    REDIRECT,
    admin_headers,
    authorize_params,
    code_of,
    create_resident,
    exchange,
    hidden_fields,
    pkce,
    register_client,
    sign_in,
    tokens_for,
)
from starlette.testclient import TestClient

from toshi.app import create_app

RESIDENT = "urn:ngsi-ld:Person:hanako"


@pytest.fixture
def town(settings):
    secure = dataclasses.replace(settings, auth=True)
    with TestClient(create_app(secure), base_url="https://testserver") as client:
        admin = admin_headers(client)
        client_id = register_client(client, admin)
        create_resident(client, admin, RESIDENT)
        yield client, admin, client_id


def _claims(client, token: str, audience: str) -> dict:
    jwk = client.get("/.well-known/jwks.json").json()["keys"][0]
    return jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["EdDSA"], audience=audience)


def test_the_code_flow_gives_an_id_token_for_the_resident(town):
    client, _, client_id = town
    tokens = tokens_for(client, client_id, RESIDENT)
    claims = _claims(client, tokens["id_token"], client_id)
    assert claims["sub"] == RESIDENT and claims["nonce"] == "n-1" and claims["name"] == "豊能 花子"
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 0


def test_the_tokens_carry_the_assurance_level_as_acr(town):
    client, _, client_id = town
    tokens = tokens_for(client, client_id, RESIDENT)
    assert _claims(client, tokens["id_token"], client_id)["acr"] == "office-id-document"
    assert _claims(client, tokens["access_token"], "toshi")["acr"] == "office-id-document"


def test_the_access_token_is_accepted_by_the_api(town):
    client, _, client_id = town
    token = tokens_for(client, client_id, RESIDENT)["access_token"]
    r = client.get("/consent/me/consents", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json() == []


def test_userinfo_answers_for_the_access_token(town):
    client, _, client_id = town
    token = tokens_for(client, client_id, RESIDENT)["access_token"]
    r = client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert r.json() == {"sub": RESIDENT, "acr": "office-id-document", "name": "豊能 花子"}


def test_userinfo_refuses_an_id_token(town):
    client, _, client_id = town
    id_token = tokens_for(client, client_id, RESIDENT)["id_token"]
    r = client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {id_token}"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def test_a_wrong_verifier_is_refused(town):
    client, _, client_id = town
    _, challenge = pkce()
    other_verifier, _ = pkce()
    r = exchange(client, client_id, code_of(sign_in(client, client_id, RESIDENT, challenge)), other_verifier)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_a_code_is_exchanged_only_once(town):
    client, _, client_id = town
    verifier, challenge = pkce()
    code = code_of(sign_in(client, client_id, RESIDENT, challenge))
    assert exchange(client, client_id, code, verifier).status_code == 200
    again = exchange(client, client_id, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_redirect_uri_other_than_the_requests_is_refused_at_the_token_endpoint(town):
    client, admin, _ = town
    both = register_client(client, admin, (REDIRECT, "https://portal.town.example/other"))
    verifier, challenge = pkce()
    code = code_of(sign_in(client, both, RESIDENT, challenge))
    r = exchange(client, both, code, verifier, redirect_uri="https://portal.town.example/other")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_an_unregistered_redirect_uri_is_refused_without_redirecting(town):
    client, _, client_id = town
    _, challenge = pkce()
    r = client.get("/oidc/authorize", params=authorize_params(client_id, challenge, "https://evil.example/cb"),
                   follow_redirects=False)
    assert r.status_code == 400 and "location" not in r.headers


def test_a_request_without_pkce_goes_back_with_invalid_request(town):
    client, _, client_id = town
    params = {k: v for k, v in authorize_params(client_id, "x").items() if not k.startswith("code_challenge")}
    r = client.get("/oidc/authorize", params=params, follow_redirects=False)
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert r.status_code == 303 and query["error"] == ["invalid_request"] and query["state"] == ["st-1"]


def test_a_wrong_password_shows_the_form_again_without_a_code(town):
    client, _, client_id = town
    _, challenge = pkce()
    r = sign_in(client, client_id, RESIDENT, challenge, password=PASSWORD + "x")
    assert r.status_code == 401 and "location" not in r.headers and "パスワードが違います" in r.text


def test_an_altered_sign_in_form_is_refused(town):
    client, _, client_id = town
    _, challenge = pkce()
    fields = hidden_fields(client.get("/oidc/authorize", params=authorize_params(client_id, challenge)).text)
    head, body, signature = fields["request"].split(".")
    fields["request"] = ".".join((head, body[:-2] + ("AA" if body[-2:] != "AA" else "BB"), signature))
    r = client.post("/oidc/authorize", data={**fields, "resident_id": RESIDENT, "password": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 400 and "location" not in r.headers


def test_the_sign_in_form_needs_its_cookie(town):
    client, _, client_id = town
    _, challenge = pkce()
    fields = hidden_fields(client.get("/oidc/authorize", params=authorize_params(client_id, challenge)).text)
    client.cookies.clear()
    r = client.post("/oidc/authorize", data={**fields, "resident_id": RESIDENT, "password": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 403 and "location" not in r.headers


def test_the_discovery_document_names_the_endpoints(town):
    client, *_ = town
    doc = client.get("/.well-known/openid-configuration").json()
    assert doc["authorization_endpoint"].endswith("/oidc/authorize") and doc["token_endpoint"].endswith("/oidc/token")
    assert doc["code_challenge_methods_supported"] == ["S256"] and "office-id-document" in doc["acr_values_supported"]


def test_a_policy_can_require_an_assurance_level(town):
    client, admin, client_id = town
    create_resident(client, admin, "urn:ngsi-ld:Person:taro", assurance="email")
    rule = {"effect": "allow", "principals": ["acr:office-id-document"], "actions": ["read"], "tenant": "default"}
    assert client.post("/admin/auth/policies", json=rule, headers=admin).status_code == 201
    strong = tokens_for(client, client_id, RESIDENT)["access_token"]
    weak = tokens_for(client, client_id, "urn:ngsi-ld:Person:taro")["access_token"]
    assert client.get("/ngsi-ld/v1/types", headers={"Authorization": f"Bearer {strong}"}).status_code == 200
    assert client.get("/ngsi-ld/v1/types", headers={"Authorization": f"Bearer {weak}"}).status_code == 403
