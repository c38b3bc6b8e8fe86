"""Authentication and authorisation through the real app: every role, rule kind and API, cross-tenant
attempts, forged tokens, revoked keys, notifications filtered by their owner's rights, rate limits,
and the secure default."""

from __future__ import annotations

import dataclasses
import json
import time

import jwt
import pytest
from starlette.testclient import TestClient
from support import FixedAnswer, Receiver

from toshi.app import create_app
from toshi.auth.apikeys import api_keys_of
from toshi.auth.issuer import issue_token
from toshi.core.signing import SigningKey, key_file

LD = "/ngsi-ld/v1"


class Town:
    """A running app with authentication on, its admin, and helpers to make principals."""

    def __init__(self, client: TestClient):
        self.client = client
        self.security = client.app.state.auth.security
        self.admin = self.key("root", ["*:admin"])

    def key(self, name: str, roles: list[str], groups: tuple[str, ...] = ()) -> dict:
        keys = api_keys_of(self.client.app.state.toshi.store)
        account = keys.create_account(name, roles, groups)
        _, secret = keys.create_key(account["id"])
        return {"Authorization": f"Bearer {secret}", "_account": account["id"]}

    def policy(self, rule: dict) -> dict:
        r = self.client.post("/admin/auth/policies", json=rule, headers=self.admin)
        assert r.status_code == 201, r.text
        return r.json()

    def create(self, tenant: str, *entities: dict) -> None:
        for entity in entities:
            r = self.client.post(f"{LD}/entities", json=entity, headers={**self.admin, "NGSILD-Tenant": tenant})
            assert r.status_code == 201, r.text


def headers(principal: dict, tenant: str = "") -> dict:
    out = {k: v for k, v in principal.items() if not k.startswith("_")}
    if tenant:
        out["NGSILD-Tenant"] = tenant
    return out


def shelter(n: int, **attrs) -> dict:
    return {"id": f"urn:ngsi-ld:Shelter:{n}", "type": "Shelter", "capacity": {"type": "Property", "value": 100},
            **{k: {"type": "Property", "value": v} for k, v in attrs.items()}}


def bus(n: int) -> dict:
    return {"id": f"urn:ngsi-ld:Bus:{n}", "type": "Bus", "speed": {"type": "Property", "value": 30}}


@pytest.fixture
def secure_settings(settings):
    return dataclasses.replace(settings, auth=True, outbound_allow="127.0.0.1")


@pytest.fixture
def town(secure_settings):
    with TestClient(create_app(secure_settings)) as client:
        yield Town(client)


def test_no_credentials_get_401_in_each_api_format(town):
    c = town.client
    r = c.get(f"{LD}/entities?type=Shelter")
    assert r.status_code == 401 and r.json()["type"] == "urn:toshi:errors:Unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = c.get("/v2/entities")
    assert r.status_code == 401 and r.json()["error"] == "Unauthorized"
    r = c.get("/iot/services", headers={"Fiware-Service": "x", "Fiware-ServicePath": "/"})
    assert r.status_code == 401 and r.json()["name"] == "UNAUTHORIZED"
    assert c.get("/version").status_code == 200
    assert c.get("/.well-known/jwks.json").json()["keys"][0]["alg"] == "EdDSA"
    r = c.get(f"{LD}/entities?type=Shelter", headers={"Authorization": "Bearer toshi_nope_nope"})
    assert r.status_code == 401
    r = c.get(f"{LD}/entities?type=Shelter", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


def test_roles(town):
    c = town.client
    consumer = town.key("reader", ["city:consumer"])
    provider = town.key("sensor-company", ["city:provider"])
    operator = town.key("officer", ["city:operator"])
    town.create("city", shelter(1))
    assert c.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1", headers=headers(consumer, "city")).status_code == 200
    r = c.post(f"{LD}/entities", json=shelter(2), headers=headers(consumer, "city"))
    assert r.status_code == 403 and r.json()["type"] == "urn:toshi:errors:Forbidden"
    assert c.post(f"{LD}/entities", json=shelter(2), headers=headers(provider, "city")).status_code == 201
    r = c.patch(f"{LD}/entities/urn:ngsi-ld:Shelter:2/attrs", json={"capacity": {"type": "Property", "value": 5}},
                headers=headers(provider, "city"))
    assert r.status_code == 204
    assert c.delete(f"{LD}/entities/urn:ngsi-ld:Shelter:2", headers=headers(provider, "city")).status_code == 403
    # a provider cannot delete through a batch either: the write path refuses each deletion
    v2 = {**headers(provider), "Fiware-Service": "city"}
    r = c.post("/v2/op/update", json={"actionType": "delete", "entities": [{"id": "urn:ngsi-ld:Shelter:2"}]},
               headers=v2)
    assert r.status_code >= 400
    assert c.get(f"{LD}/entities/urn:ngsi-ld:Shelter:2", headers=headers(operator, "city")).status_code == 200
    assert c.delete(f"{LD}/entities/urn:ngsi-ld:Shelter:2", headers=headers(operator, "city")).status_code == 204
    r = c.get("/iot/services", headers={**headers(operator), "Fiware-Service": "city", "Fiware-ServicePath": "/"})
    assert r.status_code == 403
    city_admin = town.key("city-admin", ["city:admin"])
    r = c.get("/iot/services", headers={**headers(city_admin), "Fiware-Service": "city", "Fiware-ServicePath": "/"})
    assert r.status_code == 200
    assert c.get("/admin/auth/policies", headers=headers(city_admin)).status_code == 403  # not an admin of all
    assert c.get("/admin/auth/policies", headers=headers(town.admin)).status_code == 200


def test_cross_tenant_attempts_leak_nothing(town):
    c = town.client
    town.create("osaka", shelter(1, secret="osaka-only"))
    town.create("toyono", shelter(2))
    toyono = town.key("toyono-app", ["toyono:operator"])
    attempts = [
        c.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1", headers=headers(toyono, "osaka")),
        c.get(f"{LD}/entities?type=Shelter", headers=headers(toyono, "osaka")),
        c.post(f"{LD}/entityOperations/query", json={"type": "Query", "entities": [{"type": "Shelter"}]},
               headers=headers(toyono, "osaka")),
        c.get(f"{LD}/types", headers=headers(toyono, "osaka")),
        c.get(f"{LD}/temporal/entities/urn:ngsi-ld:Shelter:1", headers=headers(toyono, "osaka")),
        c.get("/v2/entities", headers={**headers(toyono), "Fiware-Service": "osaka"}),
        c.post(f"{LD}/subscriptions", json={"type": "Subscription", "entities": [{"type": "Shelter"}],
                                            "notification": {"endpoint": {"uri": "http://127.0.0.1:9/"}}},
               headers=headers(toyono, "osaka")),
        c.patch(f"{LD}/entities/urn:ngsi-ld:Shelter:1/attrs", json={"secret": {"type": "Property", "value": "x"}},
                headers=headers(toyono, "osaka")),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert all("osaka-only" not in r.text for r in attempts)
    got = c.get(f"{LD}/entities?type=Shelter", headers=headers(toyono, "toyono")).json()
    assert [e["id"] for e in got] == ["urn:ngsi-ld:Shelter:2"]


def test_type_and_id_rules_filter_every_read(town):
    c = town.client
    town.create("city", shelter(1), bus(1), bus(2))
    town.policy({"effect": "allow", "principals": ["group:transport"], "actions": ["read"], "tenant": "city",
                 "types": ["Bus"]})
    town.policy({"effect": "deny", "principals": ["group:transport"], "actions": ["read"], "tenant": "city",
                 "idPattern": ":Bus:2$"})
    driver = town.key("bus-app", [], groups=("transport",))
    h = headers(driver, "city")
    assert [e["id"] for e in c.get(f"{LD}/entities?type=Bus,Shelter", headers=h).json()] == ["urn:ngsi-ld:Bus:1"]
    assert c.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1", headers=h).status_code == 404
    assert c.get(f"{LD}/entities/urn:ngsi-ld:Bus:2", headers=h).status_code == 404
    assert [t["typeName"] for t in c.get(f"{LD}/types?details=true", headers=h).json()] == ["Bus"]
    assert "capacity" not in c.get(f"{LD}/attributes", headers=h).text
    v2 = {**headers(driver), "Fiware-Service": "city"}
    assert [e["id"] for e in c.get("/v2/entities", headers=v2).json()] == ["urn:ngsi-ld:Bus:1"]
    assert [t["type"] for t in c.get("/v2/types", headers=v2).json()] == ["Bus"]
    r = c.get(f"{LD}/temporal/entities?type=Bus,Shelter&timeproperty=modifiedAt", headers=h)
    assert [e["id"] for e in r.json()] == ["urn:ngsi-ld:Bus:1"]
    assert c.get(f"{LD}/temporal/entities/urn:ngsi-ld:Shelter:1", headers=h).status_code == 404
    r = c.post(f"{LD}/entities", json=bus(3), headers=h)
    assert r.status_code == 403  # read only


def test_attribute_rules_hide_and_protect(town):
    c = town.client
    town.create("city", shelter(1, healthRecord="private", occupancy=10))
    town.policy({"effect": "deny", "principals": ["role:consumer"], "actions": ["read"], "tenant": "city",
                 "attrs": ["healthRecord"]})
    town.policy({"effect": "deny", "principals": ["role:provider"], "actions": ["update"], "tenant": "city",
                 "attrs": ["capacity"]})
    reader = town.key("reader", ["city:consumer"])
    provider = town.key("counter", ["city:provider"])
    entity = c.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1", headers=headers(reader, "city")).json()
    assert "healthRecord" not in entity and entity["occupancy"]["value"] == 10
    v2 = c.get("/v2/entities/urn:ngsi-ld:Shelter:1", headers={**headers(reader), "Fiware-Service": "city"}).json()
    assert "healthRecord" not in v2 and "occupancy" in v2
    assert c.get(f"{LD}/entities?q=healthRecord==%22private%22", headers=headers(reader, "city")).json() == []
    history = c.get(f"{LD}/temporal/entities/urn:ngsi-ld:Shelter:1?timeproperty=modifiedAt",
                    headers=headers(reader, "city")).json()
    assert "healthRecord" not in history and "occupancy" in history
    h = headers(provider, "city")
    r = c.patch(f"{LD}/entities/urn:ngsi-ld:Shelter:1/attrs", json={"capacity": {"type": "Property", "value": 1}},
                headers=h)
    assert r.status_code == 403
    r = c.patch(f"{LD}/entities/urn:ngsi-ld:Shelter:1/attrs", json={"occupancy": {"type": "Property", "value": 11}},
                headers=h)
    assert r.status_code == 204
    full = c.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1", headers=headers(town.admin, "city")).json()
    assert full["capacity"]["value"] == 100 and full["occupancy"]["value"] == 11 and "healthRecord" in full


def test_open_data_is_readable_anonymously(town):
    c = town.client
    town.create("", shelter(1), bus(1))
    town.policy({"effect": "allow", "principals": ["*"], "actions": ["read"], "tenant": "default",
                 "types": ["Shelter"]})
    assert [e["id"] for e in c.get(f"{LD}/entities?type=Shelter,Bus").json()] == ["urn:ngsi-ld:Shelter:1"]
    assert c.get(f"{LD}/entities/urn:ngsi-ld:Bus:1").status_code == 404
    assert c.post(f"{LD}/entities", json=shelter(2)).status_code == 401
    assert c.get(f"{LD}/entities?type=Shelter", headers={"NGSILD-Tenant": "other"}).status_code == 401


def test_tokens_own_issuer_and_forgeries(town):
    c = town.client
    key = town.security.signing_key
    good = issue_token(key, "toshi", "app-1", {"city": ["consumer"]})
    town.create("city", shelter(1))
    h = {"Authorization": f"Bearer {good}", "NGSILD-Tenant": "city"}
    assert c.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1", headers=h).status_code == 200
    assert c.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1",
                 headers={"X-Auth-Token": good, "NGSILD-Tenant": "city"}).status_code == 200
    claims = {"iss": "toshi", "sub": "x", "aud": "toshi", "exp": int(time.time()) + 60, "roles": ["*:admin"]}
    forged = [
        jwt.encode(claims, key=None, algorithm="none"),
        issue_token(SigningKey.generate(), "toshi", "x", {"*": ["admin"]}),
        issue_token(key, "toshi", "x", {"city": ["consumer"]}, ttl_seconds=60, now=time.time() - 3600),
        issue_token(key, "toshi", "x", {"city": ["consumer"]}, audience="someone-else"),
        issue_token(key, "elsewhere", "x", {"city": ["consumer"]}),
        good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
    ]
    for token in forged:
        r = c.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1", headers={"Authorization": f"Bearer {token}",
                                                                    "NGSILD-Tenant": "city"})
        assert r.status_code == 401, token


def test_revoked_and_rotated_keys(town):
    c = town.client
    town.create("city", shelter(1))
    r = c.post("/admin/auth/accounts", json={"name": "app", "roles": ["city:consumer"]}, headers=town.admin)
    assert r.status_code == 201
    first, key_id = r.json()["apiKey"], r.json()["key"]["id"]
    h = {"Authorization": f"Bearer {first}", "NGSILD-Tenant": "city"}
    assert c.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1", headers=h).status_code == 200
    r = c.post(f"/admin/auth/keys/{key_id}/rotate", json={}, headers=town.admin)
    second = r.json()["apiKey"]
    assert c.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1", headers=h).status_code == 401
    h2 = {"Authorization": f"Bearer {second}", "NGSILD-Tenant": "city"}
    assert c.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1", headers=h2).status_code == 200
    assert c.delete(f"/admin/auth/keys/{r.json()['key']['id']}", headers=town.admin).status_code == 204
    assert c.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1", headers=h2).status_code == 401


def test_notifications_carry_only_what_the_owner_may_read(town):
    c = town.client
    town.policy({"effect": "deny", "principals": ["role:consumer"], "actions": ["read"], "tenant": "city",
                 "attrs": ["healthRecord"]})
    watcher = town.key("family-app", ["city:consumer"])
    town.create("city", shelter(1, healthRecord="a", occupancy=1), bus(1))
    receiver = Receiver()
    try:
        sub = {"type": "Subscription", "entities": [{"type": "Shelter"}, {"type": "Bus"}],
               "notification": {"endpoint": {"uri": receiver.url}}}
        r = c.post(f"{LD}/subscriptions", json=sub, headers=headers(watcher, "city"))
        assert r.status_code == 201, r.text
        admin = headers(town.admin, "city")
        c.patch(f"{LD}/entities/urn:ngsi-ld:Shelter:1/attrs", json={"occupancy": {"type": "Property", "value": 2},
                "healthRecord": {"type": "Property", "value": "b"}}, headers=admin)
        entity = receiver.wait_for(1)[0]["body"]["data"][0]
        assert entity["occupancy"]["value"] == 2 and "healthRecord" not in entity
        c.patch(f"{LD}/entities/urn:ngsi-ld:Shelter:1/attrs", json={"healthRecord": {"type": "Property", "value": "c"}},
                headers=admin)  # only a hidden attribute changed: the owner sees no change of what it watches
        # the owner loses its role after subscribing: from then on, nothing is sent to it
        api_keys_of(c.app.state.toshi.store).update_account(watcher["_account"], roles=[])
        c.patch(f"{LD}/entities/urn:ngsi-ld:Bus:1/attrs", json={"speed": {"type": "Property", "value": 1}},
                headers=admin)
        c.patch(f"{LD}/entities/urn:ngsi-ld:Shelter:1/attrs", json={"occupancy": {"type": "Property", "value": 3}},
                headers=admin)
        time.sleep(1)
        assert len(receiver.requests) == 1
    finally:
        receiver.close()


def test_rate_limit_per_principal(secure_settings):
    with TestClient(create_app(dataclasses.replace(secure_settings, rate_limit=0.01, rate_burst=2))) as client:
        town = Town(client)
        reader = town.key("busy", ["*:consumer"])
        codes = [client.get(f"{LD}/types", headers=headers(reader)).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        r = client.get(f"{LD}/types", headers=headers(reader))
        assert int(r.headers["Retry-After"]) >= 1
        assert client.get(f"{LD}/types", headers=headers(town.admin)).status_code == 200  # per principal


def test_writes_and_refusals_are_audited(town):
    c = town.client
    reader = town.key("reader", ["city:consumer"])
    town.create("city", shelter(1))
    c.post(f"{LD}/entities", json=shelter(2), headers=headers(reader, "city"))
    records = c.get("/admin/audit?tenant=city", headers=town.admin).json()
    writes = [r for r in records if r["operation"] == "write"]
    assert writes and writes[0]["target"] == "urn:ngsi-ld:Shelter:1" and writes[0]["principal"].startswith("acct_")
    denied = [r for r in records if r["outcome"].startswith("denied")]
    assert denied and denied[0]["principal"] == reader["_account"]
    policies = c.get("/admin/audit?operation=POST%20/admin/auth/policies", headers=town.admin).json()
    assert policies == []
    town.policy({"effect": "allow", "principals": ["*"], "actions": ["read"], "types": ["Shelter"]})
    assert c.get("/admin/audit?operation=POST%20/admin/auth/policies", headers=town.admin).json()
    assert c.get("/admin/audit/verify", headers=town.admin).json()["ok"] is True
    store = c.app.state.toshi.store
    store.db.execute("UPDATE audit_log SET principal='someone-else' WHERE seq=1")
    report = c.get("/admin/audit/verify", headers=town.admin).json()
    assert report["ok"] is False and report["problems"][0]["seq"] == 1


def test_secure_default_refuses_open_network_without_auth(settings):
    with pytest.raises(ValueError, match="without authentication"):
        create_app(dataclasses.replace(settings, host="0.0.0.0"))
    create_app(dataclasses.replace(settings, host="0.0.0.0", auth=True))
    create_app(dataclasses.replace(settings, host="::1"))


def test_toshi_tokens_verified_by_a_second_toshi(server, secure_settings):
    """Town A (a real server process) issues tokens; town B trusts A as its OpenID Connect issuer,
    fetching A's JWKS over HTTP."""
    issuer_key = SigningKey.load(key_file(server.data_dir))
    b_settings = dataclasses.replace(secure_settings, auth_issuer="toshi-b", oidc_issuer="toshi",
                                     oidc_audience="toshi", oidc_jwks_url=f"{server.url}/.well-known/jwks.json")
    with TestClient(create_app(b_settings)) as client:
        town = Town(client)
        town.create("city", shelter(1))
        token = issue_token(issuer_key, "toshi", "partner-app", ["city:consumer"])
        h = {"Authorization": f"Bearer {token}", "NGSILD-Tenant": "city"}
        assert client.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1", headers=h).status_code == 200
        assert client.post(f"{LD}/entities", json=shelter(2), headers=h).status_code == 403
        foreign = issue_token(SigningKey.generate(), "toshi", "intruder", ["city:admin"])
        h = {"Authorization": f"Bearer {foreign}", "NGSILD-Tenant": "city"}
        assert client.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1", headers=h).status_code == 401


def test_external_oidc_provider_with_rsa_keys(secure_settings):
    """A minimal OpenID Connect-style issuer: an RSA key whose JWKS is served over HTTP."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    jwks = json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}).encode()

    idp = FixedAnswer(jwks)
    settings = dataclasses.replace(secure_settings, oidc_issuer="https://idp.city.example/realms/town",
                                   oidc_audience="toshi-api", oidc_roles_claim="realm_access.roles",
                                   oidc_jwks_url=f"{idp.url}/certs")
    try:
        with TestClient(create_app(settings)) as client:
            town = Town(client)
            town.create("city", shelter(1))
            now = int(time.time())
            claims = {"iss": "https://idp.city.example/realms/town", "aud": "toshi-api", "sub": "u-1", "iat": now,
                      "exp": now + 300, "realm_access": {"roles": ["city:consumer", "offline_access"]}}
            token = jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k1"})
            h = {"Authorization": f"Bearer {token}", "NGSILD-Tenant": "city"}
            assert client.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1", headers=h).status_code == 200
            wrong_aud = jwt.encode({**claims, "aud": "other"}, private, algorithm="RS256", headers={"kid": "k1"})
            h = {"Authorization": f"Bearer {wrong_aud}", "NGSILD-Tenant": "city"}
            assert client.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1", headers=h).status_code == 401
            hs = jwt.encode(claims, "secret", algorithm="HS256", headers={"kid": "k1"})
            h = {"Authorization": f"Bearer {hs}", "NGSILD-Tenant": "city"}
            assert client.get(f"{LD}/entities/urn:ngsi-ld:Shelter:1", headers=h).status_code == 401
    finally:
        idp.close()


def test_reads_past_the_request_time_limit_are_cut_short(settings):
    with TestClient(create_app(dataclasses.replace(settings, request_timeout=1e-9))) as client:
        r = client.post(f"{LD}/entityOperations/upsert", json=[shelter(n) for n in range(300)])
        assert r.status_code == 201, r.text  # writes are never cut (a group commit holds others' edits)
        r = client.get(f"{LD}/entities?type=Shelter&q=capacity>1&limit=1000")
        assert r.status_code == 403 and r.json()["type"].endswith("TooComplexQuery")
    with TestClient(create_app(settings)) as client:
        r = client.get(f"{LD}/entities?type=Shelter&q=capacity>1&limit=1000")
        assert r.status_code == 200 and len(r.json()) == 300


def test_temporal_writes_obey_the_rules(town):
    c = town.client
    town.policy({"effect": "allow", "principals": ["group:buses"], "actions": ["read", "create", "update"],
                 "tenant": "city", "types": ["Bus"]})
    writer = town.key("bus-history", [], groups=("buses",))
    h = headers(writer, "city")
    point = {"type": "Property", "value": 3, "observedAt": "2026-01-01T00:00:00Z"}
    r = c.post(f"{LD}/temporal/entities", json={"id": "urn:ngsi-ld:Bus:9", "type": "Bus", "speed": [point]},
               headers=h)
    assert r.status_code == 201, r.text
    r = c.post(f"{LD}/temporal/entities", json={"id": "urn:ngsi-ld:Shelter:9", "type": "Shelter",
                                                "capacity": [point]}, headers=h)
    assert r.status_code == 403
    r = c.post(f"{LD}/temporal/entities/urn:ngsi-ld:Bus:9/attrs", json={"speed": [point]}, headers=h)
    assert r.status_code == 204, r.text


def test_service_path_rules(town):
    c = town.client
    v2 = lambda principal, path: {**headers(principal), "Fiware-Service": "city", "Fiware-ServicePath": path}  # noqa: E731
    for path, n in (("/parks", 1), ("/parks/north", 2), ("/roads", 3), ("/", 4)):
        r = c.post("/v2/entities", json={"id": f"Sensor{n}", "type": "Sensor", "level": {"value": n}},
                   headers=v2(town.admin, path))
        assert r.status_code == 201, r.text
    town.policy({"effect": "allow", "principals": ["group:parks"], "actions": ["read", "update"], "tenant": "city",
                 "scopes": ["/parks/#"]})
    gardener = town.key("parks-dept", [], groups=("parks",))
    listed = c.get("/v2/entities?options=keyValues", headers=v2(gardener, "/#")).json()
    assert sorted(e["id"] for e in listed) == ["Sensor1", "Sensor2"]
    r = c.get(f"{LD}/entities?type=Sensor", headers=headers(gardener, "city"))
    assert sorted(e["id"] for e in r.json()) == ["Sensor1", "Sensor2"]
    r = c.patch("/v2/entities/Sensor2/attrs", json={"level": {"value": 20}}, headers=v2(gardener, "/parks/north"))
    assert r.status_code == 204
    r = c.patch("/v2/entities/Sensor3/attrs", json={"level": {"value": 30}}, headers=v2(gardener, "/roads"))
    assert r.status_code in (403, 404)
    assert c.get("/v2/entities/Sensor4", headers=v2(gardener, "/")).status_code == 404
    town.policy({"effect": "allow", "principals": ["group:parks"], "actions": ["read"], "tenant": "city",
                 "scopes": ["/"]})
    assert c.get("/v2/entities/Sensor4", headers=v2(gardener, "/")).status_code == 200
    r = c.post("/admin/auth/policies", json={"effect": "allow", "principals": ["*"], "actions": ["read"],
                                             "scopes": ["parks"]}, headers=town.admin)
    assert r.status_code == 400


def test_temporal_history_changes_obey_the_rules(town):
    c = town.client
    town.create("city", shelter(1, occupancy=1))
    reader = town.key("reader", ["city:consumer"])
    provider = town.key("counter", ["city:provider"])
    operator = town.key("officer", ["city:operator"])
    town.policy({"effect": "deny", "principals": ["role:operator"], "actions": ["update"], "tenant": "city",
                 "attrs": ["capacity"]})
    history = c.get(f"{LD}/temporal/entities/urn:ngsi-ld:Shelter:1?timeproperty=modifiedAt",
                    headers=headers(town.admin, "city")).json()
    capacity = history["capacity"]
    instance = (capacity[0] if isinstance(capacity, list) else capacity)["instanceId"]
    path = f"{LD}/temporal/entities/urn:ngsi-ld:Shelter:1"
    assert c.delete(path, headers=headers(reader, "city")).status_code == 403
    assert c.delete(path, headers=headers(provider, "city")).status_code == 403  # no delete right
    assert c.delete(f"{path}/attrs/capacity", headers=headers(operator, "city")).status_code == 403
    assert c.delete(f"{path}/attrs/capacity/{instance}", headers=headers(operator, "city")).status_code == 403
    r = c.patch(f"{path}/attrs/capacity/{instance}", json={"value": 5}, headers=headers(operator, "city"))
    assert r.status_code == 403
    assert c.delete(f"{path}/attrs/occupancy", headers=headers(operator, "city")).status_code == 204
    assert c.delete(f"{path}/attrs/capacity/{instance}", headers=headers(town.admin, "city")).status_code == 204
