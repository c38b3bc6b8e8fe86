"""POST /mobility/plan through the real app with authentication on: the operator plans only the
bookings of riders who consented, the plan is written as NGSI-LD entities, a rider reads their own
assignment, and without the optional solver the answer says what to install."""

from __future__ import annotations

import dataclasses
import sys

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.auth.apikeys import api_keys_of
from toshi.auth.issuer import issue_token
from toshi.mobility.service import DECLARATIONS, PURPOSE

LD = "/ngsi-ld/v1"
TENANT = "toyono"
AT = "2026-07-03T00:00:00Z"


def node(n: int) -> str:
    return f"urn:ngsi-ld:RoadNode:n{n}"


def rider(n: int) -> str:
    return f"urn:ngsi-ld:Resident:{n}"


class BusTown:
    def __init__(self, client: TestClient):
        self.client = client
        keys = api_keys_of(client.app.state.toshi.store)
        self.admin = self._key(keys, "town-office", [f"{TENANT}:admin"])
        self.operator = self._key(keys, "bus-operator", [f"{TENANT}:consumer", f"{TENANT}:provider"])
        for declaration in DECLARATIONS:
            r = client.put(f"/consent/declarations/{declaration['id']}", json=declaration, headers=self.ld(self.admin))
            assert r.status_code in (200, 201), r.text
        entities = [{"id": f"urn:ngsi-ld:RoadSegment:s{i}", "type": "RoadSegment",
                     "startNode": {"type": "Relationship", "object": node(i)},
                     "endNode": {"type": "Relationship", "object": node(i + 1)},
                     "length": {"type": "Property", "value": 1000}} for i in range(5)]
        entities.append({"id": "urn:ngsi-ld:Vehicle:od1", "type": "Vehicle",
                         "onDemand": {"type": "Property", "value": True},
                         "capacity": {"type": "Property", "value": 2},
                         "depot": {"type": "Relationship", "object": node(0)}})
        self.upsert(entities)

    @staticmethod
    def _key(keys, name, roles):
        account = keys.create_account(name, roles, ())
        _, secret = keys.create_key(account["id"])
        return {"Authorization": f"Bearer {secret}", "_id": account["id"]}

    def resident(self, n: int) -> dict:
        security = self.client.app.state.auth.security
        s = security.settings
        token = issue_token(security.signing_key, s.auth_issuer, rider(n), [], audience=s.auth_audience)
        return {"Authorization": f"Bearer {token}", "_id": rider(n)}

    @staticmethod
    def ld(principal: dict, purpose: str | None = None) -> dict:
        out = {k: v for k, v in principal.items() if not k.startswith("_")}
        out["NGSILD-Tenant"] = TENANT
        if purpose:
            out["Toshi-Purpose"] = purpose
        return out

    def upsert(self, entities: list[dict]) -> None:
        r = self.client.post(f"{LD}/entityOperations/upsert", json=entities, headers=self.ld(self.admin))
        assert r.status_code in (201, 204), r.text

    def book(self, n: int, pickup: int, dropoff: int, until: str = "2026-07-03T00:20:00Z", passengers: int = 1):
        self.upsert([{"id": f"urn:ngsi-ld:RideRequest:{n}", "type": "RideRequest",
                      "rider": {"type": "Relationship", "object": rider(n)},
                      "pickup": {"type": "Relationship", "object": node(pickup)},
                      "dropoff": {"type": "Relationship", "object": node(dropoff)},
                      "pickupFrom": {"type": "Property", "value": AT},
                      "pickupUntil": {"type": "Property", "value": until},
                      "passengers": {"type": "Property", "value": passengers},
                      "status": {"type": "Property", "value": "requested"}}])

    def consent(self, n: int) -> None:
        body = {"recipient": self.operator["_id"], "purpose": PURPOSE, "categories": ["personal", "location"]}
        r = self.client.post(f"/consent/residents/{rider(n)}/consents", json=body, headers=self.ld(self.admin))
        assert r.status_code == 201, r.text

    def plan(self, body=None):
        return self.client.post("/mobility/plan", json={"at": AT} if body is None else body,
                                headers=self.ld(self.operator, PURPOSE))

    def entity(self, entity_id: str, principal: dict | None = None, purpose: str | None = None):
        return self.client.get(f"{LD}/entities/{entity_id}", params={"options": "keyValues"},
                               headers=self.ld(principal or self.admin, purpose))


@pytest.fixture
def bus_town(settings):
    with TestClient(create_app(dataclasses.replace(settings, auth=True))) as client:
        yield BusTown(client)


def test_only_consenting_riders_are_planned(bus_town):
    bus_town.book(1, 1, 4)
    bus_town.book(2, 2, 5)
    bus_town.consent(1)
    r = bus_town.plan()
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("requests", "assigned", "refused", "vehicles")} == \
        {"requests": 1, "assigned": 1, "refused": 0, "vehicles": 1}
    assert bus_town.entity("urn:ngsi-ld:RideAssignment:2").status_code == 404


def test_the_assignment_names_the_vehicle_and_times_within_the_window(bus_town):
    bus_town.book(1, 1, 4)
    bus_town.consent(1)
    assert bus_town.plan().status_code == 200
    assignment = bus_town.entity("urn:ngsi-ld:RideAssignment:1").json()
    assert (assignment["status"], assignment["vehicle"], assignment["rider"]) == \
        ("assigned", "urn:ngsi-ld:Vehicle:od1", rider(1))
    assert AT <= assignment["pickupAt"] <= "2026-07-03T00:20:00Z"
    assert assignment["pickupAt"] < assignment["dropoffAt"]


def test_the_vehicle_plan_keeps_its_seats(bus_town):
    for n in (1, 2, 3):
        bus_town.book(n, 1, 2, until="2026-07-03T00:05:00Z")
        bus_town.consent(n)
    summary = bus_town.plan().json()
    assert (summary["assigned"], summary["refused"]) == (2, 1)
    stops = bus_town.entity("urn:ngsi-ld:VehiclePlan:od1").json()["stops"]
    assert max(s["load"] for s in stops) == 2
    assert [s["action"] for s in stops].count("pickup") == 2


def test_a_refused_booking_says_why(bus_town):
    bus_town.book(1, 1, 2, passengers=3)
    bus_town.consent(1)
    bus_town.plan()
    assignment = bus_town.entity("urn:ngsi-ld:RideAssignment:1").json()
    assert (assignment["status"], assignment["reason"]) == \
        ("refused", "no vehicle can serve it within its time windows and the seats free")


def test_the_rider_reads_their_own_assignment(bus_town):
    bus_town.book(1, 1, 4)
    bus_town.consent(1)
    bus_town.plan()
    root = bus_town._key(api_keys_of(bus_town.client.app.state.toshi.store), "root", ["*:admin"])
    r = bus_town.client.post("/admin/auth/policies", headers=bus_town.ld(root),
                             json={"id": "riders", "effect": "allow", "principals": ["authenticated"],
                                   "actions": ["read"], "tenant": TENANT, "types": ["RideAssignment"]})
    assert r.status_code == 201, r.text
    assert bus_town.entity("urn:ngsi-ld:RideAssignment:1", bus_town.resident(1)).json()["status"] == "assigned"
    assert bus_town.entity("urn:ngsi-ld:RideAssignment:1", bus_town.resident(2)).status_code == 404


def test_the_service_entity_shows_counts_only(bus_town):
    bus_town.book(1, 1, 4)
    bus_town.consent(1)
    bus_town.plan()
    service = bus_town.entity("urn:ngsi-ld:OnDemandService:mobility").json()
    assert {k: service[k] for k in ("requests", "assigned", "refused", "vehicles", "plannedAt")} == \
        {"requests": 1, "assigned": 1, "refused": 0, "vehicles": 1, "plannedAt": AT}


def test_a_malformed_body_is_refused_and_changes_nothing(bus_town):
    bus_town.book(1, 1, 4)
    bus_town.consent(1)
    r = bus_town.plan({"at": "yesterday"})
    assert r.status_code == 400
    assert r.json()["detail"] == "at: not an ISO 8601 time: 'yesterday'"
    assert bus_town.entity("urn:ngsi-ld:RideAssignment:1").status_code == 404


def test_without_the_solver_the_answer_says_what_to_install(bus_town, monkeypatch):
    monkeypatch.setitem(sys.modules, "vroom", None)  # import vroom now fails
    r = bus_town.plan()
    assert r.status_code == 501
    assert r.json()["detail"] == ("the on-demand bus planner needs the optional solver pyvroom: "
                                  "pip install 'toshi-os[mobility]' (or pip install pyvroom)")


def test_a_consumer_without_the_update_right_may_not_plan(bus_town):
    keys = api_keys_of(bus_town.client.app.state.toshi.store)
    reader = bus_town._key(keys, "reader", [f"{TENANT}:consumer"])
    r = bus_town.client.post("/mobility/plan", json={"at": AT}, headers=bus_town.ld(reader, PURPOSE))
    assert r.status_code == 403
