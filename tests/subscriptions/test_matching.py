"""toshi.subscriptions.matching: triggers, selection, filters and the notified entity."""

from __future__ import annotations

import pytest

from toshi.core import entity as ops
from toshi.formats.ngsild_parse import parse_entity, parse_fragment
from toshi.jsonld.context import core_context
from toshi.subscriptions.matching import CompiledSubscription
from toshi.subscriptions.model import parse_subscription

CTX = core_context()
T0, T1, T2 = "2026-11-24T10:00:00.000Z", "2026-11-24T10:00:01.000Z", "2026-11-24T10:00:02.000Z"
VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
OCCUPANCY, NAME = VOCAB + "occupancy", VOCAB + "name"
NULL = "urn:ngsi-ld:null"
ALL_TRIGGERS = ["entityCreated", "entityUpdated", "entityDeleted",
                "attributeCreated", "attributeUpdated", "attributeDeleted"]


def shelter(**attrs) -> dict:
    payload = {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "scope": "/Osaka/Toyono",
               "occupancy": {"type": "Property", "value": 10},
               "name": {"type": "Property", "value": "Toyono Hall"},
               "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [135.47, 34.82]}}}
    payload.update(attrs)
    return ops.new_entity(parse_entity(payload, CTX, now=T0), T0)


def merged(before: dict, fragment: dict, now: str = T1) -> dict:
    return ops.merge(before, parse_fragment(fragment, CTX, now=now, allow_null=True), now, before["id"])


def appended(before: dict, fragment: dict, now: str = T1) -> dict:
    return ops.append(before, parse_fragment(fragment, CTX, now=now), now)[0]


def compiled(tenant: str = "", **members) -> CompiledSubscription:
    payload = {"type": "Subscription", "entities": [{"type": "Shelter"}],
               "notification": {"endpoint": {"uri": "http://receiver.example/notify"}}}
    payload.update(members)
    payload = {k: v for k, v in payload.items() if v is not None}
    doc = parse_subscription(payload, CTX, now=T0)
    doc["tenant"] = tenant
    return CompiledSubscription(doc, CTX)


def notify(**notification) -> dict:
    return {"endpoint": {"uri": "http://receiver.example/notify"}, **notification}


# --- triggers ----------------------------------------------------------------------------------------


def test_creation_fires_entity_and_attribute_created():
    sub = compiled(notificationTrigger=ALL_TRIGGERS)
    assert sub.triggers(None, shelter()) == ["entityCreated", "attributeCreated"]


def test_default_triggers_notify_creation_and_updates_not_deletion():
    sub = compiled()
    entity = shelter()
    assert sub.triggers(None, entity) == ["attributeCreated"]
    assert sub.triggers(entity, merged(entity, {"occupancy": 11})) == ["attributeUpdated"]
    assert sub.triggers(entity, appended(entity, {"capacity": 100})) == ["attributeCreated"]
    assert sub.triggers(entity, merged(entity, {"name": None})) == []
    assert sub.triggers(entity, None) == []


def test_each_kind_of_update():
    sub = compiled(notificationTrigger=ALL_TRIGGERS)
    entity = shelter()
    assert sub.triggers(entity, merged(entity, {"occupancy": 12})) == ["entityUpdated", "attributeUpdated"]
    assert sub.triggers(entity, appended(entity, {"capacity": 1})) == ["entityUpdated", "attributeCreated"]
    assert sub.triggers(entity, merged(entity, {"name": None})) == ["entityUpdated", "attributeDeleted"]
    assert sub.triggers(entity, None) == ["entityDeleted"]
    mixed = merged(entity, {"name": None, "occupancy": 3, "capacity": 7})
    assert sub.triggers(entity, mixed) == ["entityUpdated", "attributeCreated", "attributeUpdated",
                                           "attributeDeleted"]


def test_same_value_update_still_fires_but_untouched_attributes_do_not():
    sub = compiled(watchedAttributes=["occupancy"], entities=None)
    entity = shelter()
    assert sub.triggers(entity, merged(entity, {"occupancy": 10})) == ["attributeUpdated"]
    assert sub.triggers(entity, merged(entity, {"name": "Renamed"})) == []


def test_watched_attributes_restrict_every_trigger():
    sub = compiled(watchedAttributes=["capacity"], notificationTrigger=ALL_TRIGGERS)
    entity = shelter()
    assert sub.triggers(None, entity) == []
    assert sub.triggers(entity, merged(entity, {"occupancy": 1})) == []
    assert sub.triggers(entity, None) == []
    with_capacity = appended(entity, {"capacity": 5})
    assert sub.triggers(entity, with_capacity) == ["entityUpdated", "attributeCreated"]
    assert sub.triggers(None, with_capacity) == ["entityCreated", "attributeCreated"]
    assert sub.triggers(with_capacity, None) == ["entityDeleted"]


def test_type_or_scope_change_is_an_entity_update_only_without_watched_attributes():
    entity = shelter()
    retyped = appended(entity, {"type": "Building"})
    assert compiled(notificationTrigger=["entityUpdated"]).triggers(entity, retyped) == ["entityUpdated"]
    assert compiled(notificationTrigger=["entityUpdated"], watchedAttributes=["name"]).triggers(
        entity, retyped) == []


def test_dataset_instances():
    sub = compiled(notificationTrigger=ALL_TRIGGERS)
    entity = shelter()
    two = appended(entity, {"occupancy": [{"type": "Property", "value": 3, "datasetId": "urn:ngsi-ld:Dataset:cam"}]})
    assert sub.triggers(entity, two) == ["entityUpdated", "attributeCreated"]
    only_camera = compiled(notificationTrigger=ALL_TRIGGERS, datasetId=["urn:ngsi-ld:Dataset:cam"])
    assert only_camera.triggers(two, merged(two, {"occupancy": 11})) == []
    default_only = compiled(notificationTrigger=ALL_TRIGGERS, datasetId=["@none"])
    assert default_only.triggers(entity, two) == []


# --- matches ----------------------------------------------------------------------------------------


def test_matches_needs_tenant_status_selector_and_trigger():
    entity = shelter()
    update = merged(entity, {"occupancy": 20})
    assert compiled().matches("", entity, update)
    assert not compiled().matches("other", entity, update)
    assert compiled("toyono").matches("toyono", entity, update)
    assert not compiled(isActive=False).matches("", entity, update)
    assert not compiled(entities=[{"type": "Park"}]).matches("", entity, update)
    assert not compiled().matches("", entity, None)
    assert not compiled(timeInterval=10).matches("", entity, update)


def test_expired_subscription_does_not_match():
    sub = compiled(expiresAt="2099-01-01T00:00:00Z")
    entity = shelter()
    assert sub.matches("", entity, merged(entity, {"occupancy": 1}))
    sub.doc["expiresAt"] = "2000-01-01T00:00:00.000Z"
    assert not sub.matches("", entity, merged(entity, {"occupancy": 1}))
    assert not sub.is_active()


@pytest.mark.parametrize("selector, selected", [
    ({"type": "Shelter"}, True),
    ({"type": "Park"}, False),
    ({"type": "Park,Shelter"}, True),
    ({"type": "Park;Shelter"}, False),
    ({"type": "Shelter", "id": "urn:ngsi-ld:Shelter:1"}, True),
    ({"type": "Shelter", "id": "urn:ngsi-ld:Shelter:2"}, False),
    ({"type": "Shelter", "idPattern": "Shelter:[0-9]$"}, True),
    ({"type": "Shelter", "idPattern": "^urn:ngsi-ld:Park"}, False),
    ({"type": "Shelter", "id": "urn:ngsi-ld:Shelter:1", "idPattern": "^nothing"}, True),
])
def test_entity_selectors(selector, selected):
    assert compiled(entities=[selector]).selects(shelter()) is selected


def test_any_selector_may_match():
    sub = compiled(entities=[{"type": "Park"}, {"type": "Shelter", "id": "urn:ngsi-ld:Shelter:1"}])
    assert sub.selects(shelter())


def test_watched_attributes_without_entities_select_every_type():
    sub = compiled(entities=None, watchedAttributes=["occupancy"])
    entity = shelter()
    assert sub.matches("", entity, merged(entity, {"occupancy": 3}))


@pytest.mark.parametrize("members, selected", [
    ({"q": "occupancy>5"}, True),
    ({"q": "occupancy>50"}, False),
    ({"q": "name==\"Toyono Hall\";occupancy<100"}, True),
    ({"scopeQ": "/Osaka/#"}, True),
    ({"scopeQ": "/Kyoto"}, False),
    ({"geoQ": {"georel": "near;maxDistance==1000", "geometry": "Point", "coordinates": [135.47, 34.821]}}, True),
    ({"geoQ": {"georel": "near;maxDistance==10", "geometry": "Point", "coordinates": [135.0, 34.0]}}, False),
    ({"geoQ": {"georel": "within", "geometry": "Polygon",
               "coordinates": [[[135, 34], [136, 34], [136, 35], [135, 35], [135, 34]]]}}, True),
])
def test_filters(members, selected):
    assert compiled(**members).selects(shelter()) is selected


def test_filters_see_the_new_state_and_the_old_one_for_deletions():
    sub = compiled(q="occupancy>50", notificationTrigger=ALL_TRIGGERS)
    entity = shelter()
    full = merged(entity, {"occupancy": 60})
    assert sub.matches("", entity, full)
    assert not sub.matches("", full, merged(full, {"occupancy": 5}))
    assert sub.matches("", full, None)
    assert not sub.matches("", entity, None)


def test_q_uses_the_subscription_context():
    class Custom:
        link_url = "https://example.org/ctx.jsonld"
        source = link_url

        def expand_term(self, term):
            return "https://example.org/" + term if term == "occupancy" else CTX.expand_term(term)

        compact_iri = CTX.compact_iri
        compact_value = CTX.compact_value

    doc = parse_subscription({"type": "Subscription", "entities": [{"type": "Shelter"}], "q": "occupancy>5",
                              "notification": notify()}, CTX, now=T0)
    assert CompiledSubscription(doc, CTX).selects(shelter())
    assert not CompiledSubscription(doc, Custom()).selects(shelter())
    assert CompiledSubscription(doc, Custom()).context_url == "https://example.org/ctx.jsonld"


# --- the notified entity ----------------------------------------------------------------------------


def test_normalized_entity():
    entity = shelter()
    out = compiled().notification_entity(entity, merged(entity, {"occupancy": 11}))
    assert out["id"] == "urn:ngsi-ld:Shelter:1" and out["type"] == "Shelter"
    assert out["occupancy"] == {"type": "Property", "value": 11}
    assert "createdAt" not in out and "previousValue" not in out["occupancy"]


@pytest.mark.parametrize("fmt, occupancy", [
    ("keyValues", 11), ("concise", 11), ("normalized", {"type": "Property", "value": 11})])
def test_formats(fmt, occupancy):
    entity = shelter()
    out = compiled(notification=notify(format=fmt)).notification_entity(entity, merged(entity, {"occupancy": 11}))
    assert out["occupancy"] == occupancy


def test_attributes_sys_attrs_and_lang():
    entity = shelter(street={"type": "LanguageProperty", "languageMap": {"ja": "豊能", "en": "Toyono"}})
    sub = compiled(lang="en", notification=notify(attributes=["street", "occupancy"], sysAttrs=True))
    out = sub.notification_entity(None, entity)
    assert set(out) == {"id", "type", "scope", "createdAt", "modifiedAt", "street", "occupancy"}
    assert out["street"]["value"] == "Toyono" and out["street"]["lang"] == "en"
    assert out["occupancy"]["createdAt"] == T0


def test_pick_and_omit():
    entity = shelter()
    picked = compiled(notification=notify(pick=["id", "occupancy"])).notification_entity(None, entity)
    assert set(picked) == {"id", "occupancy"}
    omitted = compiled(notification=notify(omit=["location", "scope"])).notification_entity(None, entity)
    assert set(omitted) == {"id", "type", "occupancy", "name"}


def test_show_changes_adds_previous_values_to_changed_attributes_only():
    entity = shelter(river={"type": "Relationship", "object": "urn:ngsi-ld:River:1"},
                     street={"type": "LanguageProperty", "languageMap": {"ja": "豊能"}},
                     extra={"type": "JsonProperty", "json": {"a": 1}},
                     kind={"type": "VocabProperty", "vocab": "Shelter"},
                     levels={"type": "ListProperty", "valueList": [1, 2]},
                     near={"type": "ListRelationship", "objectList": [{"object": "urn:ngsi-ld:Park:1"}]})
    after = merged(entity, {"occupancy": 11, "river": {"type": "Relationship", "object": "urn:ngsi-ld:River:2"},
                            "street": {"type": "LanguageProperty", "languageMap": {"ja": "箕面"}},
                            "extra": {"type": "JsonProperty", "json": {"a": 2}},
                            "kind": {"type": "VocabProperty", "vocab": "Park"},
                            "levels": {"type": "ListProperty", "valueList": [3]},
                            "near": {"type": "ListRelationship", "objectList": [{"object": "urn:ngsi-ld:Park:2"}]}})
    out = compiled(notification=notify(showChanges=True)).notification_entity(entity, after)
    assert out["occupancy"] == {"type": "Property", "value": 11, "previousValue": 10}
    assert out["river"]["previousObject"] == "urn:ngsi-ld:River:1"
    assert out["street"]["previousLanguageMap"] == {"ja": "豊能"}
    assert out["extra"]["previousJson"] == {"a": 1}
    assert out["kind"]["previousVocab"] == "Shelter"
    assert out["levels"]["previousValueList"] == [1, 2]
    assert out["near"]["previousObjectList"] == [{"object": "urn:ngsi-ld:Park:1"}]
    assert "previousValue" not in out["name"]


def test_show_changes_in_concise_and_key_values():
    entity = shelter()
    after = merged(entity, {"occupancy": 11})
    concise = compiled(notification=notify(showChanges=True, format="concise")).notification_entity(entity, after)
    assert concise["occupancy"] == {"value": 11, "previousValue": 10}
    assert concise["name"] == "Toyono Hall"
    key_values = compiled(notification=notify(showChanges=True, format="keyValues"))
    assert key_values.notification_entity(entity, after)["occupancy"] == 11


def test_show_changes_on_creation_has_no_previous_value():
    out = compiled(notification=notify(showChanges=True)).notification_entity(None, shelter())
    assert "previousValue" not in out["occupancy"]


def test_deleted_attribute_is_nulled():
    entity = shelter(street={"type": "LanguageProperty", "languageMap": {"ja": "豊能"}})
    after = merged(entity, {"name": None, "street": None}, now=T2)
    sub = compiled(notificationTrigger=["attributeDeleted"], notification=notify(showChanges=True, sysAttrs=True))
    out = sub.notification_entity(entity, after)
    assert out["name"]["value"] == NULL and out["name"]["previousValue"] == "Toyono Hall"
    assert out["name"]["deletedAt"] == T2
    assert out["street"]["languageMap"] == {"@none": NULL}
    assert out["street"]["previousLanguageMap"] == {"ja": "豊能"}
    assert out["occupancy"]["value"] == 10
    key_values = compiled(notification=notify(format="keyValues")).notification_entity(entity, after)
    assert key_values["name"] == NULL


def test_deleted_dataset_instance_is_nulled_beside_the_others():
    entity = shelter(name=[{"type": "Property", "value": "Hall"},
                           {"type": "Property", "value": "ホール", "datasetId": "urn:ngsi-ld:Dataset:ja"}])
    after = ops.delete_attribute(entity, NAME, T1, entity["id"], dataset_id="urn:ngsi-ld:Dataset:ja")
    out = compiled().notification_entity(entity, after)
    assert out["name"] == [{"type": "Property", "value": "Hall"},
                           {"type": "Property", "value": NULL, "datasetId": "urn:ngsi-ld:Dataset:ja"}]


def test_deleted_entity():
    entity = shelter(river={"type": "Relationship", "object": "urn:ngsi-ld:River:1"})
    sub = compiled(notificationTrigger=["entityDeleted"], notification=notify(showChanges=True))
    out = sub.notification_entity(entity, None, deleted_at=T2)
    assert out["id"] == entity["id"] and out["type"] == "Shelter" and out["deletedAt"] == T2
    assert out["occupancy"] == {"type": "Property", "value": NULL, "previousValue": 10}
    assert out["river"] == {"type": "Relationship", "object": NULL, "previousObject": "urn:ngsi-ld:River:1"}
    assert out["location"]["value"] == NULL
    only = compiled(notification=notify(attributes=["name"])).notification_entity(entity, None, deleted_at=T2)
    assert set(only) == {"id", "type", "scope", "deletedAt", "name"}


def test_dataset_filter_in_notification():
    entity = shelter(occupancy=[{"type": "Property", "value": 1},
                                {"type": "Property", "value": 2, "datasetId": "urn:ngsi-ld:Dataset:cam"}])
    out = compiled(datasetId=["urn:ngsi-ld:Dataset:cam"]).notification_entity(None, entity)
    assert out["occupancy"] == {"type": "Property", "value": 2, "datasetId": "urn:ngsi-ld:Dataset:cam"}


def test_geojson_notifications():
    sub = compiled(notification=notify(endpoint={"uri": "http://r.example/n", "accept": "application/geo+json"}))
    feature = sub.notification_entity(None, shelter())
    assert feature["type"] == "Feature" and feature["id"] == "urn:ngsi-ld:Shelter:1"
    assert feature["geometry"] == {"type": "Point", "coordinates": [135.47, 34.82]}
    assert feature["properties"]["type"] == "Shelter"
    body = sub.notification_body([feature], notification_id="urn:ngsi-ld:Notification:1", now=T1)
    assert body["data"] == {"type": "FeatureCollection", "features": [feature]}


def test_notification_body():
    sub = compiled()
    body = sub.notification_body([{"id": "x"}], notification_id="urn:ngsi-ld:Notification:1", now=T1)
    assert body == {"id": "urn:ngsi-ld:Notification:1", "type": "Notification", "subscriptionId": sub.id,
                    "notifiedAt": T1, "data": [{"id": "x"}]}


# --- periodic subscriptions and statistics -----------------------------------------------------------


def test_entity_query_matches_like_selects():
    entity, park = shelter(), shelter(id="urn:ngsi-ld:Park:1", type="Park")
    for members in ({}, {"entities": [{"type": "Park"}, {"type": "Shelter", "idPattern": ":1$"}]},
                    {"entities": [{"type": "Shelter", "id": "urn:ngsi-ld:Shelter:1"}], "q": "occupancy>1"},
                    {"entities": [{"type": "Shelter", "idPattern": "Park"}]}):
        sub = compiled(timeInterval=5, **members)
        query = sub.entity_query(limit=10)
        assert query.limit == 10
        for candidate in (entity, park):
            assert query.matches(candidate) == sub.selects(candidate)


def test_record_delivery_marks_statistics_dirty():
    sub = compiled()
    sub.record_delivery(False, T1, "connection refused")
    assert sub.statistics_dirty and sub.doc["timesFailed"] == 1 and sub.doc["lastFailure"] == T1
