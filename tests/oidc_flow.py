"""A resident signing in through Toshi's OpenID Connect provider, as a browser and a client app do it
(authorization code + PKCE), against the real app. Shared by tests/auth and tests/consent."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from urllib.parse import parse_qs, urlsplit

from toshi.auth.apikeys import api_keys_of

REDIRECT = "https://portal.town.example/callback"
PASSWORD = "correct horse battery"


def admin_headers(client) -> dict:
    keys = api_keys_of(client.app.state.toshi.store)
    account = keys.create_account("root", ["*:admin"], ())
    _, secret = keys.create_key(account["id"])
    return {"Authorization": f"Bearer {secret}"}


def register_client(client, admin: dict, uris=(REDIRECT,)) -> str:
    r = client.post("/admin/auth/clients", json={"name": "町ポータル", "redirect_uris": list(uris)}, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()["client_id"]


def create_resident(client, admin: dict, resident_id: str, assurance: str = "office-id-document") -> dict:
    r = client.post("/admin/auth/residents", headers=admin,
                    json={"id": resident_id, "name": "豊能 花子", "assurance": assurance, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return r.json()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(client_id: str, challenge: str, redirect_uri: str = REDIRECT, **extra) -> dict:
    return {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "openid profile",
            "state": "st-1", "nonce": "n-1", "code_challenge": challenge, "code_challenge_method": "S256", **extra}


def hidden_fields(page: str) -> dict:
    return {name: html.unescape(value)
            for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page)}


def sign_in(client, client_id: str, resident_id: str, challenge: str, password: str = PASSWORD):
    """The answer to the sign-in form's POST (a 303 to the redirect URI when it worked)."""
    form = client.get("/oidc/authorize", params=authorize_params(client_id, challenge))
    assert form.status_code == 200, form.text
    fields = hidden_fields(form.text)
    return client.post("/oidc/authorize", data={**fields, "resident_id": resident_id, "password": password},
                       follow_redirects=False)


def code_of(answer) -> str:
    assert answer.status_code == 303, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["st-1"]
    return query["code"][0]


def exchange(client, client_id: str, code: str, verifier: str, redirect_uri: str = REDIRECT):
    return client.post("/oidc/token", data={"grant_type": "authorization_code", "code": code, "client_id": client_id,
                                            "redirect_uri": redirect_uri, "code_verifier": verifier})


def tokens_for(client, client_id: str, resident_id: str) -> dict:
    verifier, challenge = pkce()
    answer = exchange(client, client_id, code_of(sign_in(client, client_id, resident_id, challenge)), verifier)
    assert answer.status_code == 200, answer.text
    return answer.json()
