"""Entity maps (ETSI GS CIM 009 v1.8/v1.9 clauses 5.2.39, 5.7.1.4, 5.7.2.4, 5.14.1–5.14.4, 6.32, 6.34,
Tables 6.4.3.2-1/-2/-3): a map fixes the candidates of a query so that a client pages through a result
set that does not move; made, retrieved, updated, deleted and expired; one behaviour per test."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, error_type, module_settings

from toshi.app import create_app
from toshi.config import Settings
from toshi.core.access import CONSENT, Reader

LD = "/ngsi-ld/v1"
ENTITIES = f"{LD}/entities"
MAPS = f"{LD}/entityMaps"
HEADER = "NGSILD-EntityMap"
VEHICLES = {f"urn:ngsi-ld:Vehicle:em{n}": speed for n, speed in enumerate((30, 90, 60))}
VEHICLE_IDS = list(VEHICLES)


class HideOne:
    """A read-path layer hiding whole entities whose id is in `hidden` (stands in for consent); it
    applies with authentication off too (`always`)."""

    order, always, reads_everything = CONSENT, True, False

    def __init__(self):
        self.hidden: set[str] = set()

    def guard_for(self, reader: Reader):
        return self if self.hidden else None

    def readable(self, entity: dict) -> dict | None:
        return None if entity["id"] in self.hidden else entity

    def check_write(self, before, after) -> None:
        pass

    def permitted_attrs(self, action: str, entity: dict):
        return None

    def type_visible(self, type_iri: str) -> bool:
        return True

    def attribute_visible(self, attr_iri: str) -> bool:
        return True


class Town:
    def __init__(self, client: TestClient, layer: HideOne):
        self.client, self.layer = client, layer

    def get(self, path: str, **kw):
        return self.client.get(path, **kw)

    @contextmanager
    def hiding(self, entity_id: str):
        self.layer.hidden.add(entity_id)
        try:
            yield
        finally:
            self.layer.hidden.discard(entity_id)


@pytest.fixture(scope="module", params=BACKENDS)
def town(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "maps")
    with TestClient(create_app(settings)) as client:
        layer = HideOne()
        client.app.state.toshi.read_path.use([layer])
        for entity_id, speed in VEHICLES.items():
            vehicle = {"id": entity_id, "type": "Vehicle", "speed": {"type": "Property", "value": speed}}
            assert client.post(ENTITIES, json=vehicle).status_code == 201
        yield Town(client, layer)


def created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def map_of(town, **params) -> dict:
    """A new map of GET /entityMaps with these parameters (type=Vehicle unless given)."""
    return created(town.get(MAPS, params={"type": "Vehicle", **params}))


def retrieved(town, map_id: str, **kw) -> dict:
    response = town.get(f"{MAPS}/{map_id}", **kw)
    assert response.status_code == 200, response.text
    return response.json()


def map_id_in(response) -> str:
    return response.headers[HEADER].rsplit("/", 1)[1]


def ids(response) -> list[str]:
    assert response.status_code in (200, 201), response.text
    return [e["id"] for e in response.json()]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def make(town, entity_id: str, entity_type: str) -> None:
    assert town.client.post(ENTITIES, json={"id": entity_id, "type": entity_type}).status_code == 201


# -- Create EntityMap for Query Entities (5.14.4, 6.34) ---------------------------------------------

def test_creating_a_map_answers_201_with_its_location_in_the_header(town):
    response = town.get(MAPS, params={"type": "Vehicle"})
    body = created(response)
    assert body["type"] == "EntityMap" and response.headers[HEADER] == f"{MAPS}/{body['id']}"


def test_a_map_names_every_matching_local_entity_under_none(town):
    body = map_of(town)
    assert body["entityMap"] == {entity_id: ["@none"] for entity_id in VEHICLE_IDS}
    assert body["linkedMaps"] == {}


def test_the_query_filters_narrow_the_map(town):
    assert list(map_of(town, q="speed>50")["entityMap"]) == [VEHICLE_IDS[1], VEHICLE_IDS[2]]


def test_the_map_follows_the_requested_order(town):
    assert list(map_of(town, orderBy="speed")["entityMap"]) == [VEHICLE_IDS[0], VEHICLE_IDS[2], VEHICLE_IDS[1]]


def test_the_limit_of_a_query_does_not_cut_the_map(town):
    assert len(map_of(town, limit="1")["entityMap"]) == len(VEHICLE_IDS)


def test_a_map_of_ids_alone_is_a_too_wide_query(town):
    response = town.get(MAPS, params={"id": VEHICLE_IDS[0]})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_local_scope_is_enough_for_a_map(town):
    assert list(created(town.get(MAPS, params={"id": VEHICLE_IDS[0], "local": "true"}))["entityMap"]) == [VEHICLE_IDS[0]]


def test_a_map_is_made_from_a_query_body_too(town):
    query = {"type": "Query", "entities": [{"type": "Vehicle"}], "q": "speed<50"}
    response = town.client.post(MAPS, json=query)
    assert list(created(response)["entityMap"]) == [VEHICLE_IDS[0]] and HEADER in response.headers


def test_a_map_expires_after_the_requested_lifetime(town):
    expires = instant(map_of(town, entityMapLifetime="PT10M")["expiresAt"])
    now = datetime.now(UTC)
    assert now + timedelta(minutes=5) < expires <= now + timedelta(minutes=10)


def test_the_broker_bounds_a_very_long_lifetime(town):
    expires = instant(map_of(town, entityMapLifetime="P3650D")["expiresAt"])
    assert datetime.now(UTC) < expires <= datetime.now(UTC) + timedelta(days=1)


def test_a_lifetime_that_is_not_a_duration_is_bad_request(town):
    response = town.get(MAPS, params={"type": "Vehicle", "entityMapLifetime": "1hour"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


# -- Retrieve EntityMap (5.14.1, 6.32.3.1) ----------------------------------------------------------

def test_retrieve_answers_the_map_as_made(town):
    made = map_of(town)
    assert retrieved(town, made["id"]) == made


def test_retrieve_as_json_ld_carries_the_context(town):
    made = map_of(town)
    assert "@context" in retrieved(town, made["id"], headers={"Accept": "application/ld+json"})


def test_retrieve_with_an_id_that_is_not_a_uri_is_bad_request(town):
    response = town.get(f"{MAPS}/not a uri")
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_retrieve_of_an_unknown_map_is_resource_not_found(town):
    response = town.get(f"{MAPS}/urn:ngsi-ld:EntityMap:unknown")
    assert response.status_code == 404 and error_type(response) == "ResourceNotFound"


def test_another_tenant_neither_reads_nor_deletes_a_map(town):
    made = map_of(town)
    other = {"NGSILD-Tenant": "elsewhere"}
    assert town.client.post(ENTITIES, json={"id": "urn:ngsi-ld:Vehicle:x", "type": "Vehicle"}, headers=other).status_code == 201
    assert town.get(f"{MAPS}/{made['id']}", headers=other).status_code == 404
    assert town.client.delete(f"{MAPS}/{made['id']}", headers=other).status_code == 404
    assert retrieved(town, made["id"])["entityMap"] == made["entityMap"]


# -- Update EntityMap (5.14.2, 6.32.3.2) ------------------------------------------------------------

def patch(town, map_id: str, fragment):
    return town.client.patch(f"{MAPS}/{map_id}", json=fragment)


def test_update_moves_the_expiry(town):
    made = map_of(town)
    later = (datetime.now(UTC) + timedelta(minutes=20)).replace(microsecond=0)
    assert patch(town, made["id"], {"expiresAt": later.astimezone().isoformat()}).status_code == 204
    assert instant(retrieved(town, made["id"])["expiresAt"]) == later


def test_update_ignores_output_only_members(town):
    made = map_of(town)
    fragment = {"id": "urn:ngsi-ld:EntityMap:other", "type": "EntityMap",
                "entityMap": {"urn:ngsi-ld:Vehicle:injected": ["@none"]}, "linkedMaps": {"urn:x": "urn:y"}}
    assert patch(town, made["id"], fragment).status_code == 204
    assert retrieved(town, made["id"]) == made


def test_an_expiry_in_the_past_makes_the_map_unknown(town):
    made = map_of(town)
    assert patch(town, made["id"], {"expiresAt": "2000-01-01T00:00:00Z"}).status_code == 204
    response = town.get(f"{MAPS}/{made['id']}")
    assert response.status_code == 404 and error_type(response) == "ResourceNotFound"


def test_update_bounds_an_expiry_far_ahead(town):
    made = map_of(town)
    assert patch(town, made["id"], {"expiresAt": "2099-01-01T00:00:00Z"}).status_code == 204
    assert instant(retrieved(town, made["id"])["expiresAt"]) <= datetime.now(UTC) + timedelta(days=1)


def test_update_with_an_expiry_that_is_not_a_date_time_changes_nothing(town):
    made = map_of(town)
    response = patch(town, made["id"], {"expiresAt": "tomorrow"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"
    assert retrieved(town, made["id"]) == made


def test_update_with_a_member_an_entity_map_has_not_is_bad_request(town):
    made = map_of(town)
    response = patch(town, made["id"], {"colour": "red"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_update_of_an_unknown_map_is_resource_not_found(town):
    response = patch(town, "urn:ngsi-ld:EntityMap:unknown", {"expiresAt": "2099-01-01T00:00:00Z"})
    assert response.status_code == 404 and error_type(response) == "ResourceNotFound"


# -- Delete EntityMap (5.14.3, 6.32.3.3) ------------------------------------------------------------

def test_delete_removes_the_map(town):
    made = map_of(town)
    response = town.client.delete(f"{MAPS}/{made['id']}")
    assert response.status_code == 204 and response.content == b""
    assert town.get(f"{MAPS}/{made['id']}").status_code == 404
    again = town.client.delete(f"{MAPS}/{made['id']}")
    assert again.status_code == 404 and error_type(again) == "ResourceNotFound"


def test_delete_with_an_id_that_is_not_a_uri_is_bad_request(town):
    response = town.client.delete(f"{MAPS}/not a uri")
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


# -- Query Entities with an entity map (5.7.2.4, Tables 6.4.3.2-1/-2/-3) ----------------------------

def test_a_query_asking_for_a_map_answers_201_with_its_location(town):
    response = town.get(ENTITIES, params={"type": "Vehicle", "entityMap": "true"})
    assert ids(response) == VEHICLE_IDS and response.status_code == 201
    assert list(retrieved(town, map_id_in(response))["entityMap"]) == VEHICLE_IDS


def test_a_query_with_a_live_map_answers_200_and_the_same_location(town):
    location = town.get(ENTITIES, params={"type": "Vehicle", "entityMap": "true"}).headers[HEADER]
    response = town.get(ENTITIES, params={"type": "Vehicle"}, headers={HEADER: location})
    assert response.status_code == 200 and response.headers[HEADER] == location


def test_paging_with_a_map_leaves_out_entities_created_later(town):
    make(town, "urn:ngsi-ld:Bus:1", "Bus")
    make(town, "urn:ngsi-ld:Bus:2", "Bus")
    first = town.get(ENTITIES, params={"type": "Bus", "entityMap": "true", "limit": "1"})
    make(town, "urn:ngsi-ld:Bus:0", "Bus")
    rest = town.get(ENTITIES, params={"type": "Bus", "limit": "5", "offset": "1"}, headers={HEADER: first.headers[HEADER]})
    assert ids(first) + ids(rest) == ["urn:ngsi-ld:Bus:1", "urn:ngsi-ld:Bus:2"]


def test_paging_with_a_map_leaves_out_entities_deleted_meanwhile(town):
    make(town, "urn:ngsi-ld:Tram:1", "Tram")
    make(town, "urn:ngsi-ld:Tram:2", "Tram")
    location = town.get(ENTITIES, params={"type": "Tram", "entityMap": "true"}).headers[HEADER]
    assert town.client.delete(f"{ENTITIES}/urn:ngsi-ld:Tram:1").status_code == 204
    assert ids(town.get(ENTITIES, params={"type": "Tram"}, headers={HEADER: location})) == ["urn:ngsi-ld:Tram:2"]


def test_a_query_with_a_map_still_applies_its_filters(town):
    location = town.get(ENTITIES, params={"type": "Vehicle", "entityMap": "true"}).headers[HEADER]
    response = town.get(ENTITIES, params={"type": "Vehicle", "q": "speed>50"}, headers={HEADER: location})
    assert ids(response) == VEHICLE_IDS[1:]


def test_a_query_counts_the_entities_of_its_map(town):
    make(town, "urn:ngsi-ld:Ferry:1", "Ferry")
    location = town.get(ENTITIES, params={"type": "Ferry", "entityMap": "true"}).headers[HEADER]
    make(town, "urn:ngsi-ld:Ferry:2", "Ferry")
    response = town.get(ENTITIES, params={"type": "Ferry", "count": "true"}, headers={HEADER: location})
    assert response.headers["NGSILD-Results-Count"] == "1"


def test_a_query_naming_an_unknown_map_makes_a_new_one(town):
    response = town.get(ENTITIES, params={"type": "Vehicle"}, headers={HEADER: "urn:ngsi-ld:EntityMap:gone"})
    assert response.status_code == 201 and "gone" not in response.headers[HEADER]
    assert list(retrieved(town, map_id_in(response))["entityMap"]) == VEHICLE_IDS


def test_a_query_naming_an_expired_map_makes_a_new_one(town):
    location = town.get(ENTITIES, params={"type": "Vehicle", "entityMap": "true"}).headers[HEADER]
    assert patch(town, location.rsplit("/", 1)[1], {"expiresAt": "2000-01-01T00:00:00Z"}).status_code == 204
    response = town.get(ENTITIES, params={"type": "Vehicle"}, headers={HEADER: location})
    assert response.status_code == 201 and response.headers[HEADER] != location


def test_the_header_may_name_a_map_by_its_id_or_an_absolute_uri(town):
    made = map_of(town)
    for named in (made["id"], f"http://testserver{MAPS}/{made['id']}"):
        response = town.get(ENTITIES, params={"type": "Vehicle"}, headers={HEADER: named})
        assert response.status_code == 200 and map_id_in(response) == made["id"]


def test_a_query_without_a_map_answers_no_map(town):
    response = town.get(ENTITIES, params={"type": "Vehicle", "entityMap": "false"})
    assert response.status_code == 200 and HEADER not in response.headers


def test_a_post_query_makes_and_uses_maps_too(town):
    query = {"type": "Query", "entities": [{"type": "Vehicle"}]}
    first = town.client.post(f"{LD}/entityOperations/query", params={"entityMap": "true"}, json=query)
    assert first.status_code == 201 and ids(first) == VEHICLE_IDS
    again = town.client.post(f"{LD}/entityOperations/query", json=query, headers={HEADER: first.headers[HEADER]})
    assert again.status_code == 200 and again.headers[HEADER] == first.headers[HEADER]


def test_a_query_with_an_empty_map_answers_nothing(town):
    location = town.get(ENTITIES, params={"type": "Vehicle", "q": "speed>1000", "entityMap": "true"}).headers[HEADER]
    assert ids(town.get(ENTITIES, params={"type": "Vehicle"}, headers={HEADER: location})) == []


def test_a_map_longer_than_an_id_list_pages_the_same(town, monkeypatch):
    from toshi.ngsild import entity_maps

    monkeypatch.setattr(entity_maps, "IN_LIST", 1)  # the map's ids go to the store as a predicate
    location = town.get(ENTITIES, params={"type": "Vehicle", "entityMap": "true"}).headers[HEADER]
    pages = [ids(town.get(ENTITIES, params={"type": "Vehicle", "limit": "2", "offset": str(offset)},
                          headers={HEADER: location})) for offset in (0, 2)]
    assert pages == [VEHICLE_IDS[:2], VEHICLE_IDS[2:]]

def test_entity_map_must_be_true_or_false(town):
    response = town.get(ENTITIES, params={"type": "Vehicle", "entityMap": "yes"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


# -- Retrieve Entity with an entity map (5.7.1.4, Table 6.5.3.1-2) ----------------------------------

def test_retrieve_entity_asking_for_a_map_makes_one_holding_the_entity(town):
    response = town.get(f"{ENTITIES}/{VEHICLE_IDS[0]}", params={"entityMap": "true"})
    assert response.status_code == 200 and response.json()["id"] == VEHICLE_IDS[0]
    assert "entityMap" not in response.json()
    assert retrieved(town, map_id_in(response))["entityMap"] == {VEHICLE_IDS[0]: ["@none"]}


def test_retrieve_entity_with_a_live_map_answers_its_location(town):
    location = town.get(f"{ENTITIES}/{VEHICLE_IDS[0]}", params={"entityMap": "true"}).headers[HEADER]
    response = town.get(f"{ENTITIES}/{VEHICLE_IDS[0]}", headers={HEADER: location})
    assert response.status_code == 200 and response.headers[HEADER] == location


def test_retrieve_entity_naming_an_unknown_map_makes_a_new_one(town):
    response = town.get(f"{ENTITIES}/{VEHICLE_IDS[1]}", headers={HEADER: "urn:ngsi-ld:EntityMap:gone"})
    assert response.status_code == 200 and "gone" not in response.headers[HEADER]
    assert list(retrieved(town, map_id_in(response))["entityMap"]) == [VEHICLE_IDS[1]]


# -- The read path: a map reveals no id its reader may not see ---------------------------------------

def test_a_map_holds_no_entity_hidden_from_its_maker(town):
    with town.hiding(VEHICLE_IDS[1]):
        made = map_of(town)
    assert list(made["entityMap"]) == [VEHICLE_IDS[0], VEHICLE_IDS[2]]


def test_reading_a_map_shows_no_id_hidden_from_the_reader(town):
    made = map_of(town)
    with town.hiding(VEHICLE_IDS[2]):
        assert list(retrieved(town, made["id"])["entityMap"]) == VEHICLE_IDS[:2]
    assert list(retrieved(town, made["id"])["entityMap"]) == VEHICLE_IDS


def test_paging_with_a_map_shows_no_entity_hidden_from_the_reader(town):
    location = town.get(ENTITIES, params={"type": "Vehicle", "entityMap": "true"}).headers[HEADER]
    with town.hiding(VEHICLE_IDS[0]):
        assert ids(town.get(ENTITIES, params={"type": "Vehicle"}, headers={HEADER: location})) == VEHICLE_IDS[1:]



# -- Create EntityMap for Query Temporal Evolution of Entities (5.14.5, 6.35) -----------------------

TEMPORAL_MAPS = f"{LD}/temporal/entityMaps"


def test_a_temporal_map_needs_a_temporal_query(town):
    response = town.get(TEMPORAL_MAPS, params={"type": "Vehicle"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_a_temporal_map_names_the_entities_with_instances_in_the_window(town):
    window = {"type": "Vehicle", "timerel": "before", "timeAt": "2999-01-01T00:00:00Z", "timeproperty": "createdAt"}
    response = town.get(TEMPORAL_MAPS, params=window)
    assert sorted(created(response)["entityMap"]) == sorted(VEHICLE_IDS) and HEADER in response.headers


def test_a_temporal_map_leaves_out_entities_without_instances_in_the_window(town):
    window = {"type": "Vehicle", "timerel": "before", "timeAt": "2000-01-01T00:00:00Z", "timeproperty": "createdAt"}
    assert created(town.get(TEMPORAL_MAPS, params=window))["entityMap"] == {}


def test_a_temporal_map_is_made_from_a_query_body_too(town):
    query = {"type": "Query", "entities": [{"type": "Vehicle"}], "q": "speed>80",
             "temporalQ": {"timerel": "after", "timeAt": "2000-01-01T00:00:00Z", "timeproperty": "modifiedAt"}}
    assert list(created(town.client.post(TEMPORAL_MAPS, json=query))["entityMap"]) == [VEHICLE_IDS[1]]


def test_a_temporal_map_can_be_retrieved_like_any_map(town):
    window = {"type": "Vehicle", "timerel": "after", "timeAt": "2000-01-01T00:00:00Z", "timeproperty": "createdAt"}
    made = created(town.get(TEMPORAL_MAPS, params=window))
    assert retrieved(town, made["id"]) == made


# -- Rights: making a map is reading --------------------------------------------------------------

@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    from toshi.auth.apikeys import api_keys_of

    settings = Settings(data_dir=str(tmp_path_factory.mktemp("guarded")), auth=True)
    with TestClient(create_app(settings)) as client:
        keys = api_keys_of(client.app.state.toshi.store)
        account = keys.create_account("reader", ["city:consumer"], ())
        reader = {"Authorization": f"Bearer {keys.create_key(account['id'])[1]}", "NGSILD-Tenant": "city"}
        admin = keys.create_account("root", ["*:admin"], ())
        root = {"Authorization": f"Bearer {keys.create_key(admin['id'])[1]}", "NGSILD-Tenant": "city"}
        assert client.post(ENTITIES, json={"id": "urn:ngsi-ld:Vehicle:g", "type": "Vehicle"}, headers=root).status_code == 201
        yield client, reader


def test_a_reader_makes_a_map_with_a_query_body(guarded):
    client, reader = guarded
    response = client.post(MAPS, json={"type": "Query", "entities": [{"type": "Vehicle"}]}, headers=reader)
    assert list(created(response)["entityMap"]) == ["urn:ngsi-ld:Vehicle:g"]


def test_a_reader_may_not_change_a_map(guarded):
    client, reader = guarded
    made = created(client.get(MAPS, params={"type": "Vehicle"}, headers=reader))
    assert client.patch(f"{MAPS}/{made['id']}", json={"expiresAt": "2000-01-01T00:00:00Z"}, headers=reader).status_code == 403
