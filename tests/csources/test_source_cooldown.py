"""management.cooldown (CIM 009 v1.8 5.2.34, RegistrationManagementInfo): "Minimum period of time in
milliseconds which shall elapse before attempting to make a subsequent forwarded request to the same
endpoint after failure. If requests are received before the cooldown period has expired, a timeout error
response for the registration is automatically returned." Every forwarded request, writes as reads. The
source is a second Toshi in this process (federation_towns.py); a failure is a port nobody listens on,
or one recorded for the registration as the forwarding records it."""

from __future__ import annotations

import pytest
from federation_towns import town
from support import free_port

from toshi.csources.store import registrations_of
from toshi.formats.ngsild_http import DEFAULT_TENANT

LD = "/ngsi-ld/v1"
REGS = LD + "/csourceRegistrations"
ID = "urn:ngsi-ld:Shelter:1"
TIMEOUT = "https://uri.etsi.org/ngsi-ld/errors/GatewayTimeout"
WRITES = ["redirectionOps", "createBatch"]


@pytest.fixture(scope="module")
def source_app(tmp_path_factory, joined):
    app, url = town(joined, tmp_path_factory.mktemp("cooldown-source"), "cooldown-source.test")
    with app:
        yield app, url


@pytest.fixture
def source(source_app, request):
    app, url = source_app
    return app, url, "c" + str(abs(hash(request.node.name)) % 10**8)


def register(client, endpoint: str, tenant: str | None = None, mode: str = "exclusive",
             operations=WRITES, cooldown: int = 60000) -> str:
    body = {"type": "ContextSourceRegistration", "endpoint": endpoint, "mode": mode, "operations": operations,
            "information": [{"entities": [{"type": "Shelter", "id": ID}], "propertyNames": ["occupancy"]}],
            "management": {"cooldown": cooldown}}
    if tenant:
        body["tenant"] = tenant
    created = client.post(REGS, json=body)
    assert created.status_code == 201, created.text
    return created.headers["Location"].rsplit("/", 1)[1]


def unreachable() -> str:
    return f"http://127.0.0.1:{free_port()}"


def failed(client, reg_id: str) -> None:
    """Record a failure of the registration's source, as forwarding a request to it does."""
    registrations_of(client.app.state.toshi).record(DEFAULT_TENANT, client.get(f"{REGS}/{reg_id}").json(), ok=False)


def cooled(client, reg_id: str) -> None:
    """The cooldown over (its end moved to now, instead of waiting for it)."""
    registrations_of(client.app.state.toshi).stats(DEFAULT_TENANT, reg_id).cool_until = 0.0


def remote(source):
    app, _, tenant = source
    return app.get(f"{LD}/entities/{ID}", params={"options": "keyValues"}, headers={"NGSILD-Tenant": tenant})


def occupancy(value: int) -> dict:
    return {"id": ID, "type": "Shelter", "occupancy": {"value": value}}


def test_a_write_after_a_failure_is_a_timeout_of_the_registration(client):
    reg_id = register(client, unreachable())
    assert client.post(LD + "/entities", json=occupancy(40)).status_code == 502  # the failure
    response = client.post(LD + "/entities", json=occupancy(41))
    assert response.status_code == 504
    assert response.json()["type"] == TIMEOUT and reg_id in response.json()["detail"]


def test_a_write_in_the_cooldown_is_not_sent(client):
    reg_id = register(client, unreachable())
    client.post(LD + "/entities", json=occupancy(40))
    client.post(LD + "/entities", json=occupancy(41))
    got = client.get(f"{REGS}/{reg_id}").json()
    assert (got["timesSent"], got["timesFailed"]) == (1, 1)


def test_a_write_in_the_cooldown_does_not_reach_the_source(client, source):
    _, url, tenant = source
    reg_id = register(client, url, tenant)
    failed(client, reg_id)
    assert client.post(LD + "/entities", json=occupancy(40)).status_code == 504
    assert remote(source).status_code == 404


def test_a_write_after_the_cooldown_reaches_the_source_again(client, source):
    _, url, tenant = source
    reg_id = register(client, url, tenant)
    failed(client, reg_id)
    cooled(client, reg_id)
    assert client.post(LD + "/entities", json=occupancy(40)).status_code == 201
    assert remote(source).json()["occupancy"] == 40


def test_the_part_of_a_cooling_source_is_named_in_the_207(client, source):
    _, url, tenant = source
    reg_id = register(client, url, tenant)
    failed(client, reg_id)
    response = client.post(LD + "/entities", json={**occupancy(40), "capacity": {"value": 100}})
    assert response.status_code == 207
    [refused] = response.json()["notUpdated"]
    assert (refused["attributeName"], refused["registrationId"]) == ("occupancy", reg_id)
    assert "cooldown" in refused["reason"]
    local = client.get(f"{LD}/entities/{ID}", params={"options": "keyValues", "local": "true"}).json()
    assert local == {"id": ID, "type": "Shelter", "capacity": 100}


def test_an_inclusive_copy_is_not_sent_to_a_cooling_source(client, source):
    _, url, tenant = source
    reg_id = register(client, url, tenant, mode="inclusive", operations=["createEntity"])
    failed(client, reg_id)
    response = client.post(LD + "/entities", json=occupancy(40))
    assert response.status_code == 207 and response.json()["notUpdated"][0]["registrationId"] == reg_id
    assert remote(source).status_code == 404


def test_a_batch_part_of_a_cooling_source_is_a_timeout_of_its_entity(client, source):
    _, url, tenant = source
    reg_id = register(client, url, tenant)
    failed(client, reg_id)
    response = client.post(LD + "/entityOperations/create", json=[occupancy(40)])
    assert response.status_code == 207
    [error] = response.json()["errors"]
    assert error["entityId"] == ID and error["error"]["type"] == TIMEOUT and reg_id in error["error"]["detail"]
    assert remote(source).status_code == 404


def test_a_read_in_the_cooldown_warns_of_the_registration(client, source):
    _, url, tenant = source
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "capacity": {"value": 100}})
    reg_id = register(client, url, tenant, mode="inclusive", operations=["retrieveEntity"])
    failed(client, reg_id)
    got = client.get(f"{LD}/entities/{ID}", params={"options": "keyValues"})
    assert got.status_code == 200 and got.json()["capacity"] == 100
    assert got.headers["NGSILD-Warning"].startswith(f"199 {reg_id} ") and "cooldown" in got.headers["NGSILD-Warning"]


def test_a_read_only_a_cooling_source_could_answer_is_a_timeout(client, source):
    _, url, tenant = source
    reg_id = register(client, url, tenant, mode="inclusive", operations=["retrieveEntity"])
    failed(client, reg_id)
    got = client.get(f"{LD}/entities/{ID}")
    assert got.status_code == 504 and got.json()["type"] == TIMEOUT
