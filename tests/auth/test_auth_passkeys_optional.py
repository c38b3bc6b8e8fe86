"""Without the optional extra `passkeys`, the passkey endpoints answer 501 and the sign-in page offers no
passkey (residents sign in with their password as before). With it, see tests/web/test_passkey_sign_in.py."""

from __future__ import annotations

import dataclasses

from oidc_flow import admin_headers, authorize_params, pkce, register_client
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.auth import passkeys


def test_without_the_extra_there_is_no_passkey(settings, monkeypatch):
    monkeypatch.setattr(passkeys, "available", lambda: False)
    with TestClient(create_app(dataclasses.replace(settings, auth=True)), base_url="https://testserver") as client:
        client_id = register_client(client, admin_headers(client))
        page = client.get("/oidc/authorize", params=authorize_params(client_id, pkce()[1]))
        assert page.status_code == 200 and 'id="passkey"' not in page.text and "passkey.js" not in page.text
        r = client.post("/oidc/authorize/passkey/options")
        assert r.status_code == 501 and "toshi[passkeys]" in r.text
