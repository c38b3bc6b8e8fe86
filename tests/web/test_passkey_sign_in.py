"""Passkeys in a real browser: Chromium's virtual authenticator (CDP WebAuthn domain) registers a passkey
for a signed-in resident, then signs in with it on Toshi's sign-in page, and after its removal cannot.
The page is opened at http://localhost (a secure context; WebAuthn takes no IP address as RP ID)."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from toshi.auth import passkeys

RESIDENT = "urn:ngsi-ld:Person:passkey-hanako"
PASSWORD = "correct horse battery"
REGISTER = """async ([token]) => {
  const headers = { Authorization: `Bearer ${token}` };
  const options = await (await fetch("/oidc/me/passkeys/options", { method: "POST", headers })).json();
  const created = await navigator.credentials.create(
    { publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
  const answer = await fetch("/oidc/me/passkeys", { method: "POST", headers: { ...headers,
    "Content-Type": "application/json" }, body: JSON.stringify(created.toJSON()) });
  return { status: answer.status, body: await answer.json() };
}"""


@pytest.fixture(scope="module")
def passkey_town(town):
    if not passkeys.available():  # the `passkeys` extra, in the test extra: CI has it
        (pytest.fail if os.environ.get("CI") else pytest.skip)("py_webauthn is not installed (pip install -e '.[test]')")
    port = urlsplit(town.url).port
    base = f"http://localhost:{port}"
    r = town.http.post("/admin/auth/residents", json={"id": RESIDENT, "name": "豊能 花子", "assurance": "email",
                                                      "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = town.http.post("/admin/auth/clients", json={"name": "町ポータル", "redirect_uris": [base + "/cb"]})
    assert r.status_code == 201, r.text
    token = town.http.post("/admin/auth/tokens", json={"sub": RESIDENT}).json()["access_token"]
    return base, r.json()["client_id"], token


@pytest.fixture
def authenticator(browser):
    context = browser.new_context()
    context.set_default_timeout(20_000)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    yield page
    context.close()


def _authorize(page, base: str, client_id: str) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": base + "/cb", "scope": "openid",
              "state": "st-1", "code_challenge": challenge, "code_challenge_method": "S256"}
    page.goto(f"{base}/oidc/authorize?{urlencode(params)}")
    page.wait_for_selector("#passkey", state="visible")
    return verifier, base + "/cb"


def test_a_resident_registers_a_passkey_and_signs_in_with_it(town, passkey_town, authenticator):
    base, client_id, token = passkey_town
    page = authenticator
    page.goto(base + "/version")
    registered = page.evaluate(REGISTER, [token])
    assert registered["status"] == 201, registered
    listed = httpx.get(base + "/oidc/me/passkeys", headers={"Authorization": f"Bearer {token}"}).json()
    assert [k["id"] for k in listed] == [registered["body"]["id"]]

    verifier, redirect = _authorize(page, base, client_id)
    page.click("#passkey")  # nothing typed: the discoverable credential names the resident
    page.wait_for_url(f"{redirect}?**")
    query = parse_qs(urlsplit(page.url).query)
    assert query["state"] == ["st-1"]
    tokens = httpx.post(base + "/oidc/token", data={"grant_type": "authorization_code", "code": query["code"][0],
                                                    "client_id": client_id, "redirect_uri": redirect,
                                                    "code_verifier": verifier})
    assert tokens.status_code == 200, tokens.text
    me = httpx.get(base + "/oidc/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"})
    assert me.json()["sub"] == RESIDENT

    removed = httpx.delete(f"{base}/oidc/me/passkeys/{registered['body']['id']}",
                           headers={"Authorization": f"Bearer {token}"})
    assert removed.status_code == 204
    _authorize(page, base, client_id)
    page.click("#passkey")
    page.wait_for_selector("#passkey-error", state="visible")
    assert "/oidc/authorize" in page.url


def test_a_challenge_is_spent_once(town, passkey_town):
    base, _, token = passkey_town
    options = httpx.post(base + "/oidc/authorize/passkey/options").json()
    assert options["userVerification"] == "required" and options["rpId"] == "localhost"
    forged = {"id": "x", "rawId": "x", "type": "public-key",
              "response": {"clientDataJSON": base64.urlsafe_b64encode(b'{"challenge": "nope"}').decode(),
                           "authenticatorData": "", "signature": ""}}
    r = httpx.post(base + "/oidc/me/passkeys", json=forged, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400 and "challenge" in r.text
