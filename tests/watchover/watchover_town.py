"""The watch-over tests' town: authentication on, the service's declarations, an elderly resident
(1) with a beacon and a home sensor, her daughter (2) as the watcher, and the town office."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.auth.apikeys import api_keys_of
from toshi.auth.issuer import issue_token
from toshi.watchover import DECLARATIONS, PURPOSE, SERVICE_ID

LD = "/ngsi-ld/v1"
TENANT = "toyono"
BEACON = "urn:ngsi-ld:WatchBeacon:b1"
SENSOR = "urn:ngsi-ld:HomeSensor:h1"
ENROLMENT = "urn:ngsi-ld:WatchOverEnrolment:e1"
AREA = {"type": "Polygon", "coordinates": [[[135.40, 34.80], [135.50, 34.80], [135.50, 34.90],
                                            [135.40, 34.90], [135.40, 34.80]]]}
INSIDE, OUTSIDE = [135.45, 34.85], [135.60, 34.85]
T0 = datetime(2026, 7, 3, 0, 0, tzinfo=UTC)


def resident_id(n: int) -> str:
    return f"urn:ngsi-ld:Resident:{n}"


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


class WatchTown:
    def __init__(self, client: TestClient, declare: bool = True):
        self.client = client
        self.service = client.app.state.watchover.service
        self.service.wall = lambda: T0
        self.security = client.app.state.auth.security
        self.admin = self.key("town-office", [f"{TENANT}:admin"])
        if declare:
            for declaration in DECLARATIONS:
                r = client.put(f"/consent/declarations/{declaration['id']}", json=declaration,
                               headers=self.ld(self.admin))
                assert r.status_code in (200, 201), r.text
        # residents and services may ask for alerts; the consent layer decides which they see
        rule = {"id": "alerts-readable", "effect": "allow", "principals": ["authenticated"], "actions": ["read"],
                "tenant": TENANT, "types": ["WatchOverAlert"]}
        r = client.post("/admin/auth/policies", json=rule, headers=self.ld(self.key("root", ["*:admin"])))
        assert r.status_code == 201, r.text

    def key(self, name: str, roles: list[str]) -> dict:
        keys = api_keys_of(self.client.app.state.toshi.store)
        account = keys.create_account(name, roles, ())
        _, secret = keys.create_key(account["id"])
        return {"Authorization": f"Bearer {secret}", "_id": account["id"]}

    def resident(self, n: int) -> dict:
        s = self.security.settings
        token = issue_token(self.security.signing_key, s.auth_issuer, resident_id(n), [], audience=s.auth_audience)
        return {"Authorization": f"Bearer {token}", "_id": resident_id(n)}

    @staticmethod
    def ld(principal: dict, purpose: str | None = None) -> dict:
        out = {k: v for k, v in principal.items() if not k.startswith("_")}
        out["NGSILD-Tenant"] = TENANT
        if purpose:
            out["Toshi-Purpose"] = purpose
        return out

    def put(self, entity: dict) -> None:
        r = self.client.post(f"{LD}/entityOperations/upsert", json=[entity], headers=self.ld(self.admin))
        assert r.status_code in (201, 204), r.text

    def enrol(self, quiet_minutes: int = 60, **extra) -> None:
        self.put({"id": ENROLMENT, "type": "WatchOverEnrolment",
                  "watched": {"type": "Relationship", "object": resident_id(1)},
                  "watcher": {"type": "Property", "value": resident_id(2)},
                  "beacon": {"type": "Relationship", "object": BEACON},
                  "homeSensor": {"type": "Relationship", "object": SENSOR},
                  "area": {"type": "GeoProperty", "value": AREA},
                  "quietMinutes": {"type": "Property", "value": quiet_minutes}, **extra})

    def beacon(self, where: list[float], minutes: int, fall: bool = False, wearer: int = 1) -> None:
        self.put({"id": BEACON, "type": "WatchBeacon",
                  "wearer": {"type": "Relationship", "object": resident_id(wearer)},
                  "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": where},
                               "observedAt": at(minutes)},
                  "fall": {"type": "Property", "value": fall, "observedAt": at(minutes)}})

    def sensor(self, minutes: int) -> None:
        self.put({"id": SENSOR, "type": "HomeSensor", "resident": {"type": "Relationship", "object": resident_id(1)},
                  "motion": {"type": "Property", "value": True, "observedAt": at(minutes)}})

    def consent(self, recipient: str, n: int = 1) -> dict:
        """The watched resident's consent (at the town office, as at a counter)."""
        body = {"recipient": recipient, "purpose": PURPOSE, "categories": ["personal", "location", "sensitive"]}
        r = self.client.post(f"/consent/residents/{resident_id(n)}/consents", json=body, headers=self.ld(self.admin))
        assert r.status_code == 201, r.text
        return r.json()

    def consent_both(self) -> None:
        self.consent(SERVICE_ID)
        self.consent(resident_id(2))

    def check(self, wall: datetime = T0) -> None:
        self.service.wall = lambda: wall
        self.client.portal.call(self.service.check)

    def alerts(self, principal: dict | None = None, purpose: str | None = None) -> list[dict]:
        r = self.client.get(f"{LD}/entities", params={"type": "WatchOverAlert", "options": "keyValues"},
                            headers=self.ld(principal or self.admin, purpose))
        assert r.status_code == 200, r.text
        return r.json()

    def status(self) -> dict:
        r = self.client.get(f"{LD}/entities/urn:ngsi-ld:WatchOverService:watchover",
                            params={"options": "keyValues"}, headers=self.ld(self.admin))
        assert r.status_code == 200, r.text
        return r.json()

    def access_log(self, n: int = 1) -> list[dict]:
        self.client.app.state.consent.service.log.flush()
        r = self.client.get("/consent/me/access-log", headers=self.ld(self.resident(n)))
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def watch_town(settings):
    secure = dataclasses.replace(settings, auth=True)
    with TestClient(create_app(secure)) as client:
        yield WatchTown(client)
