"""/v2/registrations CRUD, forwarding to a real context provider (a second Toshi process), op/notify.

One broker app per backend and one provider process serve the whole module; each test works in a
Fiware-Service of its own (passed on to the provider, as Orion does), so tests share no state."""

from __future__ import annotations

import itertools

import httpx
import pytest
from starlette.testclient import TestClient
from support import BACKENDS, Receiver, ServerProcess, free_port, module_settings

from toshi.app import create_app

TENANTS = (f"reg{n}" for n in itertools.count())


@pytest.fixture(scope="module", params=BACKENDS)
def broker(request, tmp_path_factory):
    with TestClient(create_app(module_settings(request, tmp_path_factory, "v2reg"))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def provider_process(tmp_path_factory):
    proc = ServerProcess(tmp_path_factory.mktemp("v2provider")).start()
    yield proc
    proc.stop()


@pytest.fixture
def client(broker):
    """The module's broker, in a tenant of this test's own."""
    broker.headers["Fiware-Service"] = next(TENANTS)
    yield broker
    del broker.headers["Fiware-Service"]


class Provider:
    """The module's provider process as seen from one test: its url, and `http`, a client in the test's tenant."""

    def __init__(self, url: str, tenant: str):
        self.url = url
        self.http = httpx.Client(headers={"Fiware-Service": tenant})


@pytest.fixture
def server(provider_process, client):
    provider = Provider(provider_process.url, client.headers["Fiware-Service"])
    yield provider
    provider.http.close()


def registration(url: str, **extra) -> dict:
    body = {"description": "humidity from the provider",
            "dataProvided": {"entities": [{"id": "Room1", "type": "Room"}], "attrs": ["humidity"]},
            "provider": {"http": {"url": url}}}
    body.update(extra)
    return body


def recreated(client, body: dict) -> str:
    created = client.post("/v2/registrations", json=body)
    assert created.status_code == 201, created.text
    return created.headers["Location"]


def test_registration_crud(client):
    created = client.post("/v2/registrations", json=registration("http://127.0.0.1:9/v2"))
    assert created.status_code == 201
    location = created.headers["Location"]
    reg_id = location.rsplit("/", 1)[1]
    assert location == f"/v2/registrations/{reg_id}" and len(reg_id) == 24
    got = client.get(location).json()
    assert got == {"id": reg_id, "description": "humidity from the provider",
                   "dataProvided": {"entities": [{"id": "Room1", "type": "Room"}], "attrs": ["humidity"]},
                   "provider": {"http": {"url": "http://127.0.0.1:9/v2"}, "supportedForwardingMode": "all",
                                "legacyForwarding": False},
                   "status": "active"}
    listed = client.get("/v2/registrations?options=count")
    assert [r["id"] for r in listed.json()] == [reg_id] and listed.headers["Fiware-Total-Count"] == "1"
    # no update (Orion 4.7): a registration is changed by deleting and re-creating it
    assert client.delete(location).status_code == 204
    location = recreated(client, registration("http://127.0.0.1:9/v2", status="inactive",
                                              expires="2099-01-01T00:00:00Z"))
    got = client.get(location).json()
    assert got["status"] == "inactive" and got["expires"] == "2099-01-01T00:00:00.000Z"
    assert client.delete(location).status_code == 204
    location = recreated(client, registration("http://127.0.0.1:9/v2", status="active", expires="2000-01-01T00:00:00Z"))
    assert client.get(location).json()["status"] == "active"  # as Orion shows an expired one (the manual)
    # per tenant
    assert client.get("/v2/registrations", headers={"Fiware-Service": "other"}).json() == []
    assert client.delete(location).status_code == 204
    missing = client.get(location)
    assert missing.status_code == 404
    assert missing.json() == {"error": "NotFound",
                              "description": "The requested registration has not been found. Check id"}
    assert client.delete(location).status_code == 404


def test_registration_errors(client):
    cases = [
        {"provider": {"http": {"url": "http://x"}}},
        {"dataProvided": {"entities": [{"id": "a"}]}},
        registration("ftp://x"),
        registration("http://x", status="sleeping"),
        registration("http://x", expires="tomorrow"),
        registration("http://x", provider={"http": {"url": "http://x"}, "legacyForwarding": True}),
        registration("http://x", provider={"http": {"url": "http://x"}, "supportedForwardingMode": "some"}),
        registration("http://x", dataProvided={"entities": [{"type": "Room"}]}),
        registration("http://x", dataProvided={"entities": []}),
    ]
    for body in cases:
        response = client.post("/v2/registrations", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"] == "BadRequest"
    assert client.get("/v2/registrations").json() == []


def test_query_and_update_forwarding(client, server):
    provider = server.url
    # the provider holds the humidity of Room1 (and the whole Room9); the broker holds its temperature
    for entity in ({"id": "Room1", "type": "Room", "humidity": {"value": 40}},
                   {"id": "Room9", "type": "Room", "humidity": {"value": 70}, "pressure": {"value": 1000}}):
        assert server.http.post(provider + "/v2/entities", json=entity).status_code == 201
    assert client.post("/v2/entities", json={"id": "Room1", "type": "Room", "temperature": {"value": 21}}
                       ).status_code == 201
    assert client.post("/v2/registrations", json=registration(provider + "/v2")).status_code == 201
    assert client.post("/v2/registrations", json={
        "dataProvided": {"entities": [{"id": "Room9", "type": "Room"}]},
        "provider": {"http": {"url": provider + "/v2"}}}).status_code == 201

    # GET one entity: local and provided attributes together
    assert client.get("/v2/entities/Room1?options=keyValues").json() == \
        {"id": "Room1", "type": "Room", "temperature": 21, "humidity": 40}
    assert client.get("/v2/entities/Room1/attrs/humidity/value").text == "40"  # forwarded, as Orion
    assert client.get("/v2/entities/Room1?attrs=temperature&options=keyValues").json() == \
        {"id": "Room1", "type": "Room", "temperature": 21}
    # an entity only the provider has
    assert client.get("/v2/entities/Room9?options=keyValues").json() == \
        {"id": "Room9", "type": "Room", "humidity": 70, "pressure": 1000}
    # queries by type
    listed = client.get("/v2/entities?type=Room&options=keyValues").json()
    assert listed == [{"id": "Room1", "type": "Room", "temperature": 21, "humidity": 40},
                      {"id": "Room9", "type": "Room", "humidity": 70, "pressure": 1000}]
    assert client.post("/v2/op/query?options=keyValues", json={"entities": [{"idPattern": ".*", "type": "Room"}]}
                       ).json() == listed

    # updates: the registered attribute goes to the provider, the rest stays local
    response = client.patch("/v2/entities/Room1/attrs", json={"humidity": {"value": 55}, "temperature": {"value": 22}})
    assert response.status_code == 204, response.text
    assert server.http.get(provider + "/v2/entities/Room1?options=keyValues").json() == \
        {"id": "Room1", "type": "Room", "humidity": 55}
    assert client.get("/v2/entities/Room1?options=keyValues").json() == \
        {"id": "Room1", "type": "Room", "temperature": 22, "humidity": 55}
    # all attributes of an entity the broker does not have go to its provider
    assert client.post("/v2/entities/Room9/attrs?type=Room", json={"pressure": {"value": 990}}).status_code == 204
    assert server.http.get(provider + "/v2/entities/Room9?options=keyValues").json()["pressure"] == 990
    assert client.get("/v2/entities/Room9?options=keyValues").json()["pressure"] == 990


def test_failing_provider_does_not_break_local_results(client):
    dead = f"http://127.0.0.1:{free_port()}/v2"
    client.post("/v2/entities", json={"id": "Room1", "type": "Room", "temperature": {"value": 21}})
    client.post("/v2/registrations", json=registration(dead))
    assert client.get("/v2/entities/Room1?options=keyValues").json() == \
        {"id": "Room1", "type": "Room", "temperature": 21}
    assert client.get("/v2/entities?type=Room&options=keyValues").json() == \
        [{"id": "Room1", "type": "Room", "temperature": 21}]
    # the provider's attribute is not written locally when the provider cannot be reached
    failed = client.patch("/v2/entities/Room1/attrs", json={"humidity": {"value": 1}})
    assert failed.status_code == 500
    assert failed.json() == {"error": "InternalServerError", "description": "error forwarding update"}
    assert "humidity" not in client.get("/v2/entities/Room1").json()


def test_provider_url_without_path_gets_v2_operations(client, receiver):
    root = receiver.url.removesuffix("/notify")
    client.post("/v2/registrations", json=registration(root))
    assert client.patch("/v2/entities/Room1/attrs", json={"humidity": {"value": 1}}).status_code == 204
    client.get("/v2/entities/Room1")
    assert [r["path"] for r in receiver.wait_for(2)] == ["/v2/op/update", "/v2/op/query"]


def test_provider_url_with_path_gets_operations_below_it(client, receiver):
    client.post("/v2/registrations", json=registration(receiver.url.replace("/notify", "/cp/v2")))
    client.patch("/v2/entities/Room1/attrs", json={"humidity": {"value": 1}})
    assert [r["path"] for r in receiver.wait_for(1)] == ["/cp/v2/op/update"]


def test_update_a_provider_does_not_have_is_404(client):
    missing = Receiver(status=404)
    try:
        client.post("/v2/registrations", json=registration(missing.url))
        response = client.patch("/v2/entities/Room1/attrs", json={"humidity": {"value": 1}})
        assert response.status_code == 404 and response.json()["error"] == "NotFound"
    finally:
        missing.close()


def test_query_only_and_inactive_registrations(client, server):
    server.http.post(server.url + "/v2/entities", json={"id": "Room1", "type": "Room", "humidity": {"value": 40}})
    client.post("/v2/entities", json={"id": "Room1", "type": "Room", "temperature": {"value": 21}})
    location = recreated(client, registration(
        server.url + "/v2", provider={"http": {"url": server.url + "/v2"}, "supportedForwardingMode": "update"}))
    assert "humidity" not in client.get("/v2/entities/Room1").json()
    assert client.delete(location).status_code == 204
    location = recreated(client, registration(server.url + "/v2", status="inactive"))
    assert "humidity" not in client.get("/v2/entities/Room1").json()
    assert client.delete(location).status_code == 204
    recreated(client, registration(server.url + "/v2", status="active"))
    assert client.get("/v2/entities/Room1").json()["humidity"]["value"] == 40


def test_a_registration_cannot_be_updated(client):
    location = recreated(client, registration("http://127.0.0.1:9/v2"))
    response = client.patch(location, json={"status": "inactive"})
    assert response.status_code == 405 and response.headers["allow"] == "GET, DELETE"
    assert response.json()["error"] == "MethodNotAllowed"
    assert client.get(location).json()["status"] == "active"


# -- op/notify ------------------------------------------------------------------------------------

def test_op_notify_upserts(client):
    client.post("/v2/entities", json={"id": "Room1", "type": "Room", "temperature": {"value": 21},
                                      "color": {"value": "red"}})
    body = {"subscriptionId": "5aeb0ee97d4ef10a12a0262f",
            "data": [{"id": "Room1", "type": "Room", "temperature": {"value": 25, "type": "Number"}},
                     {"id": "Room2", "type": "Room", "temperature": {"value": 18}}]}
    response = client.post("/v2/op/notify", json=body)
    assert response.status_code == 200, response.text
    assert client.get("/v2/entities?options=keyValues").json() == [
        {"id": "Room1", "type": "Room", "temperature": 25, "color": "red"},
        {"id": "Room2", "type": "Room", "temperature": 18}]


def test_op_notify_errors(client):
    for body, description in (({"subscriptionId": 1, "data": []}, "/subscriptionId/ must be a JSON String"),
                              ({"subscriptionId": "x", "data": {}}, "/data/ must be a JSON Array")):
        response = client.post("/v2/op/notify", json=body)
        assert response.status_code == 400
        assert response.json() == {"error": "BadRequest", "description": description}
