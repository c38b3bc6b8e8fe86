"""One resident however they sign in: an identity of the trusted external OpenID Connect provider linked
to a resident account is that resident (toshi/auth/identify.py), and the apps a resident signed in to,
which they may remove (toshi/auth/oidc_provider.py Apps). Through the real app, authentication on."""

from __future__ import annotations

import dataclasses
import io
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from oidc_flow import PASSWORD, admin_headers, create_resident, register_client, tokens_for
from starlette.testclient import TestClient
from support import FixedAnswer

from toshi.app import create_app

IDP = "https://id.city.example/realms/town"
RESIDENT = "urn:ngsi-ld:Person:hanako"
OTHER = "urn:ngsi-ld:Person:taro"
PATIENT = "/ngsi-ld/v1/entities/urn:ngsi-ld:Patient:1"
DECLARATION = {"id": "patients", "type": "Patient", "subject": "patient",
               "attributes": {"diagnosis": "sensitive", "patient": "personal"}}
ENTITY = {"id": "urn:ngsi-ld:Patient:1", "type": "Patient",
          "patient": {"type": "Relationship", "object": RESIDENT},
          "ward": {"type": "Property", "value": "ward-1"},
          "diagnosis": {"type": "Property", "value": "diagnosis-1"}}


class Idp:
    """The town's external identity provider: an RSA key whose JWKS is served over HTTP."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.server = FixedAnswer(json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256"}]}).encode())

    def token(self, sub: str, roles=("city:consumer",)) -> str:
        now = int(time.time())
        claims = {"iss": IDP, "aud": "toshi-api", "sub": sub, "iat": now, "exp": now + 300,
                  "realm_access": {"roles": list(roles)}}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture
def idp():
    provider = Idp()
    yield provider
    provider.server.close()


@pytest.fixture
def town(settings, idp):
    secure = dataclasses.replace(settings, auth=True, oidc_issuer=IDP, oidc_audience="toshi-api",
                                 oidc_roles_claim="realm_access.roles", oidc_jwks_url=f"{idp.server.url}/certs")
    with TestClient(create_app(secure), base_url="https://testserver") as client:
        admin = admin_headers(client)
        client_id = register_client(client, admin)
        create_resident(client, admin, RESIDENT)
        create_resident(client, admin, OTHER)
        ld = {**admin, "NGSILD-Tenant": "city"}
        assert client.post("/consent/declarations", json=DECLARATION, headers=ld).status_code == 201
        assert client.post("/ngsi-ld/v1/entities", json=ENTITY, headers=ld).status_code == 201
        rule = {"effect": "allow", "principals": [f"id:{RESIDENT}"], "actions": ["read"], "tenant": "city"}
        assert client.post("/admin/auth/policies", json=rule, headers=admin).status_code == 201
        yield client, admin, client_id


def bearer(token: str, tenant: str = "city") -> dict:
    return {"Authorization": f"Bearer {token}", "NGSILD-Tenant": tenant}


def link(client, admin, resident: str, subject: str, issuer: str = IDP):
    return client.post(f"/admin/auth/residents/{resident}/links", json={"issuer": issuer, "subject": subject},
                       headers=admin)


def test_a_linked_external_token_is_the_resident(town, idp):
    client, admin, client_id = town
    own = bearer(tokens_for(client, client_id, RESIDENT)["access_token"])
    external = bearer(idp.token("kc-4711"))
    assert client.post("/consent/me/consents", headers=own,
                       json={"recipient": "care-service", "purpose": "care", "categories": ["sensitive"]}
                       ).status_code == 201
    mine = client.get(PATIENT, headers=own).json()
    assert mine["diagnosis"]["value"] == "diagnosis-1"

    # unlinked: the provider's subject with its roles, not the resident
    unlinked = client.get(PATIENT, headers=external)
    assert unlinked.status_code == 200 and "diagnosis" not in unlinked.json()
    assert client.get("/consent/me/consents", headers=external).json() == []

    r = link(client, admin, RESIDENT, "kc-4711")
    assert r.status_code == 201 and r.json()["links"] == [{"issuer": IDP, "subject": "kc-4711"}]
    assert client.get(PATIENT, headers=external).json() == mine
    assert client.get("/consent/me/consents", headers=external).json() == \
        client.get("/consent/me/consents", headers=own).json() != []
    exports = [client.get("/consent/me/export", headers=h).json() for h in (external, own)]
    assert [{k: v for k, v in e.items() if k != "exportedAt"} for e in exports] == \
        [{k: v for k, v in exports[1].items() if k != "exportedAt"}] * 2

    r = client.delete(f"/admin/auth/residents/{RESIDENT}/links", params={"issuer": IDP, "subject": "kc-4711"},
                      headers=admin)
    assert r.status_code == 204
    assert "diagnosis" not in client.get(PATIENT, headers=external).json()
    assert client.get("/consent/me/consents", headers=external).json() == []


def test_an_unlinked_provider_subject_that_is_a_residents_id_is_refused(town, idp):
    client, admin, _ = town
    # the provider names its subject like the resident: it must not read hanako's data as hanako
    r = client.get(PATIENT, headers=bearer(idp.token(RESIDENT)))
    assert r.status_code == 401 and "not linked" in r.text
    assert link(client, admin, RESIDENT, RESIDENT).status_code == 201
    assert client.get(PATIENT, headers=bearer(idp.token(RESIDENT))).json()["diagnosis"]["value"] == "diagnosis-1"


def test_a_linked_token_carries_the_residents_rights_not_the_providers(town, idp):
    client, admin, _ = town
    assert link(client, admin, OTHER, "kc-admin").status_code == 201
    # the provider calls kc-admin a city admin; linked, it is the resident taro, who may read nothing here
    r = client.get(PATIENT, headers=bearer(idp.token("kc-admin", roles=["city:admin"])))
    assert r.status_code == 403 and OTHER in r.text


def test_one_external_identity_links_to_one_resident(town):
    client, admin, _ = town
    assert link(client, admin, RESIDENT, "kc-1").status_code == 201
    assert link(client, admin, RESIDENT, "kc-1").status_code == 200  # again: nothing changes
    taken = link(client, admin, OTHER, "kc-1")
    assert taken.status_code == 409 and RESIDENT in taken.text
    assert client.get(f"/admin/auth/residents/{OTHER}", headers=admin).json()["links"] == []
    listed = {r["id"]: r["links"] for r in client.get("/admin/auth/residents", headers=admin).json()}
    assert listed == {RESIDENT: [{"issuer": IDP, "subject": "kc-1"}], OTHER: []}


def test_links_that_cannot_be(town):
    client, admin, _ = town
    assert link(client, admin, RESIDENT, RESIDENT, issuer="toshi").status_code == 400  # Toshi's own issuer
    assert link(client, admin, RESIDENT, "").status_code == 400
    assert link(client, admin, "urn:ngsi-ld:Person:nobody", "kc-1").status_code == 404
    r = client.delete(f"/admin/auth/residents/{RESIDENT}/links", params={"issuer": IDP, "subject": "kc-9"},
                      headers=admin)
    assert r.status_code == 404
    assert link(client, {}, RESIDENT, "kc-1").status_code == 401


def test_a_resident_sees_and_removes_the_apps_they_signed_in_to(town, idp):
    client, admin, client_id = town
    token = tokens_for(client, client_id, RESIDENT)["access_token"]
    apps = client.get("/oidc/me/apps", headers=bearer(token)).json()
    assert [(a["client_id"], a["name"]) for a in apps] == [(client_id, "町ポータル")]
    assert link(client, admin, RESIDENT, "kc-4711").status_code == 201
    assert client.get("/oidc/me/apps", headers=bearer(idp.token("kc-4711"))).json() == apps

    assert client.delete(f"/oidc/me/apps/{client_id}", headers=bearer(token)).status_code == 204
    assert client.get(PATIENT, headers=bearer(token)).status_code == 401  # its tokens stop at once
    assert client.get("/oidc/me/apps", headers=bearer(idp.token("kc-4711"))).json() == []
    assert client.delete(f"/oidc/me/apps/{client_id}", headers=bearer(idp.token("kc-4711"))).status_code == 404

    again = tokens_for(client, client_id, RESIDENT)["access_token"]  # signing in again grants it anew
    assert client.get(PATIENT, headers=bearer(again)).status_code == 200
    assert client.get(PATIENT, headers=bearer(token)).status_code == 401


def test_only_a_resident_has_apps(town, idp):
    client, admin, _ = town
    assert client.get("/oidc/me/apps").status_code == 401
    assert client.get("/oidc/me/apps", headers=admin).status_code == 403  # an API key's account
    assert client.get("/oidc/me/apps", headers=bearer(idp.token("kc-unlinked"))).status_code == 403


def test_resident_link_unlink_and_list_commands(toshi, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert toshi("resident", "create", "--id", "r1", "--name", "花子", "--assurance", "email",
                 "--password-stdin")[0] == 0
    code, out, _ = toshi("resident", "link", "--id", "r1", "--issuer", IDP, "--subject", "kc-1")
    assert code == 0 and json.loads(out)["links"] == [{"issuer": IDP, "subject": "kc-1"}]
    assert toshi("resident", "list")[1] == f"r1\temail\t花子\t{IDP} kc-1\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    toshi("resident", "create", "--id", "r2", "--name", "太郎", "--assurance", "email", "--password-stdin")
    code, _, err = toshi("resident", "link", "--id", "r2", "--issuer", IDP, "--subject", "kc-1")
    assert code == 2 and "linked to another resident (r1)" in err
    assert toshi("resident", "unlink", "--id", "r1", "--issuer", IDP, "--subject", "kc-1")[0] == 0
    code, _, err = toshi("resident", "unlink", "--id", "r1", "--issuer", IDP, "--subject", "kc-1")
    assert code == 1 and "not linked" in err
    assert toshi("resident", "list")[1] == "r1\temail\t花子\nr2\temail\t太郎\n"
