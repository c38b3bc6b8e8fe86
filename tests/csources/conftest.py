"""The fixtures of the federation tests: one broker per module and backend, emptied through the API
after each test (not made anew: making an app and its tables is most of a small test's time), and one
transport joining the in-process towns (federation_towns.py) to it."""

from __future__ import annotations

import pytest
from federation_towns import Joined, join
from starlette.testclient import TestClient
from support import BACKENDS, PgSchema, require_postgres

from toshi.app import create_app
from toshi.config import Settings
from toshi.csources.store import registrations_of
from toshi.formats.ngsild_http import DEFAULT_TENANT

LD = "/ngsi-ld/v1"


@pytest.fixture(scope="session")
def joined():
    return Joined()


@pytest.fixture(scope="module", params=BACKENDS)
def broker_app(request, tmp_path_factory, joined):
    schema = None
    if request.param == "postgresql":
        require_postgres()
        schema = PgSchema()
    settings = Settings(data_dir=str(tmp_path_factory.mktemp("broker")), database_url=schema.url if schema else "")
    try:
        with TestClient(create_app(settings)) as broker:
            yield join(broker, joined)
    finally:
        if schema:
            schema.drop()


def empty(broker: TestClient) -> None:
    """What a test left in the broker's default tenant: its csourceSubscriptions, registrations,
    entities and their history, deleted through the API."""
    subscriptions = broker.get(LD + "/csourceSubscriptions", params={"limit": 1000}).json()
    # every registration, the expired ones too (discovery leaves those out)
    registrations = registrations_of(broker.app.state.toshi).all(DEFAULT_TENANT)
    for path, items in ((LD + "/csourceSubscriptions", subscriptions), (LD + "/csourceRegistrations", registrations)):
        for item_id in [item["id"] for item in items]:
            assert broker.delete(f"{path}/{item_id}").status_code == 204
    ids = broker.get(LD + "/entities", params={"type": "*", "limit": 1000, "options": "idsOnly"}).json()
    if ids:
        assert broker.post(LD + "/entityOperations/delete", json=ids).status_code == 204
    for entity_id in ids:  # and their history (the temporal API keeps it after a delete)
        assert broker.delete(f"{LD}/temporal/entities/{entity_id}").status_code in (204, 404)


@pytest.fixture
def client(broker_app):
    """The broker under test (both backends), joined to the in-process towns."""
    yield broker_app
    empty(broker_app)


@pytest.fixture
def fresh_client(settings, joined):
    """A broker of the test's own (for a test that changes the app itself)."""
    with TestClient(create_app(settings)) as broker:
        yield join(broker, joined)
