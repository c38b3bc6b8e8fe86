"""toshi.subscriptions.model: Subscription payload validation, the stored form, rendering, updates."""

from __future__ import annotations

import copy

import pytest

from toshi.core.errors import BadRequestData, OperationNotSupported
from toshi.jsonld.context import CORE_URL, core_context
from toshi.subscriptions.model import (
    DEFAULT_TRIGGERS,
    merge_subscription_update,
    notification_status,
    parse_subscription,
    record_delivery,
    render_subscription,
    subscription_status,
)

NOW = "2026-11-24T10:00:00.000Z"
LATER = "2026-11-24T11:00:00.000Z"
VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
NGSI = "https://uri.etsi.org/ngsi-ld/"
CTX = core_context()


def payload(**members) -> dict:
    sub = {"type": "Subscription", "entities": [{"type": "Shelter"}],
           "notification": {"endpoint": {"uri": "http://receiver.example/notify"}}}
    sub.update(members)
    return {k: v for k, v in sub.items() if v is not None}


def parse(**members) -> dict:
    return parse_subscription(payload(**members), CTX, now=NOW)


def bad(**members) -> str:
    with pytest.raises(BadRequestData) as err:
        parse(**members)
    return err.value.detail


def with_notification(**members) -> dict:
    notification = {"endpoint": {"uri": "http://receiver.example/notify"}}
    notification.update(members)
    return {k: v for k, v in notification.items() if v is not None}


def with_endpoint(**members) -> dict:
    endpoint = {"uri": "http://receiver.example/notify"}
    endpoint.update(members)
    return with_notification(endpoint={k: v for k, v in endpoint.items() if v is not None})


# --- the stored form ---------------------------------------------------------------------------------


def test_minimal_subscription_gets_defaults():
    sub = parse()
    assert sub["id"].startswith("urn:ngsi-ld:Subscription:")
    assert sub["type"] == "Subscription"
    assert sub["entities"] == [{"type": VOCAB + "Shelter"}]
    assert sub["notificationTrigger"] == DEFAULT_TRIGGERS == ["attributeCreated", "attributeUpdated"]
    assert sub["isActive"] is True and sub["status"] == "active"
    assert sub["notification"] == {"format": "normalized", "showChanges": False, "sysAttrs": False,
                                   "endpoint": {"uri": "http://receiver.example/notify",
                                                "accept": "application/json"}}
    assert sub["jsonldContext"] == CORE_URL
    assert sub["timesSent"] == 0 and sub["timesFailed"] == 0
    assert sub["createdAt"] == sub["modifiedAt"] == NOW


def test_generated_ids_differ():
    assert parse()["id"] != parse()["id"]


def test_full_subscription_is_expanded_and_kept():
    sub = parse(id="urn:ngsi-ld:Subscription:1", subscriptionName="shelters", description="d",
                entities=[{"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter"},
                          {"idPattern": "^urn:ngsi-ld:Park:", "type": "(Park;Garden),Shelter"}],
                watchedAttributes=["occupancy", "location"],
                notificationTrigger=["entityCreated", "attributeDeleted"],
                q="occupancy>10;name==\"x\"", scopeQ="/Osaka/#", lang="ja,en;q=0.5",
                geoQ={"georel": "near;maxDistance==2000", "geometry": "Point", "coordinates": [135.4, 34.8],
                      "geoproperty": "position"},
                expiresAt="2099-01-01T00:00:00+09:00", isActive=False, throttling=5, datasetId="@none",
                notification=with_notification(attributes=["occupancy"], format="keyValues",
                                               showChanges=True, sysAttrs=True),
                jsonldContext="https://example.org/ctx.jsonld")
    assert sub["id"] == "urn:ngsi-ld:Subscription:1"
    assert sub["entities"] == [{"id": "urn:ngsi-ld:Shelter:1", "type": VOCAB + "Shelter"},
                               {"idPattern": "^urn:ngsi-ld:Park:",
                                "type": f"({VOCAB}Park;{VOCAB}Garden),{VOCAB}Shelter"}]
    assert sub["watchedAttributes"] == [VOCAB + "occupancy", NGSI + "location"]
    assert sub["notificationTrigger"] == ["entityCreated", "attributeDeleted"]
    assert sub["q"] == "occupancy>10;name==\"x\"" and sub["scopeQ"] == "/Osaka/#"
    assert sub["geoQ"] == {"georel": "near;maxDistance==2000", "geometry": "Point",
                           "coordinates": [135.4, 34.8], "geoproperty": VOCAB + "position"}
    assert sub["expiresAt"] == "2099-01-01T00:00:00+09:00"  # as written
    assert sub["isActive"] is False and sub["status"] == "paused"
    assert sub["throttling"] == 5 and sub["datasetId"] == ["@none"] and sub["lang"] == "ja,en;q=0.5"
    assert sub["notification"]["attributes"] == [VOCAB + "occupancy"]
    assert sub["notification"]["format"] == "keyValues"
    assert sub["notification"]["showChanges"] is True and sub["notification"]["sysAttrs"] is True
    assert sub["jsonldContext"] == "https://example.org/ctx.jsonld"


def test_read_only_members_are_ignored():
    sub = parse(status="expired", createdAt="2000-01-01T00:00:00Z", **{"@context": CORE_URL},
                notification=with_notification(timesSent=99, status="failed", lastSuccess=NOW))
    assert sub["status"] == "active" and sub["createdAt"] == NOW and sub["timesSent"] == 0
    assert "status" not in sub["notification"] and "lastSuccess" not in sub


def test_context_without_url_is_stored_as_given():
    class Inline:
        link_url = None
        source = {"@context": {"x": "urn:x:"}}

        def expand_term(self, term):
            return CTX.expand_term(term)

    sub = parse_subscription(payload(), Inline(), now=NOW)
    assert sub["jsonldContext"] == {"@context": {"x": "urn:x:"}}


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize("members, message", [
    ({"type": None}, "type"),
    ({"type": "Entity"}, "type"),
    ({"id": "not a uri"}, "URI"),
    ({"id": 7}, "URI"),
    ({"subscriptionName": 3}, "subscriptionName"),
    ({"description": ""}, "description"),
    ({"entities": None}, "at least one of entities and watchedAttributes"),
    ({"entities": []}, "entities"),
    ({"entities": {"type": "Shelter"}}, "entities"),
    ({"entities": [{"id": "urn:ngsi-ld:Shelter:1"}]}, "type"),
    ({"entities": ["Shelter"]}, "object"),
    ({"entities": [{"type": "Shelter", "id": "nope"}]}, "URI"),
    ({"entities": [{"type": "Shelter", "idPattern": "(unclosed"}]}, "regular expression"),
    ({"entities": [{"type": "(Shelter"}]}, "type selection"),
    ({"entities": [{"type": "Shelter", "name": "x"}]}, "Unknown"),
    ({"watchedAttributes": []}, "watchedAttributes"),
    ({"watchedAttributes": "occupancy"}, "watchedAttributes"),
    ({"watchedAttributes": ["bad name"]}, "invalid character"),
    ({"watchedAttributes": ["id"]}, "cannot be used"),
    ({"notificationTrigger": ["entityChanged"]}, "notificationTrigger"),
    ({"notificationTrigger": []}, "notificationTrigger"),
    ({"q": "occupancy>>1"}, "q"),
    ({"q": 5}, "q"),
    ({"geoQ": {"georel": "near", "geometry": "Point"}}, "coordinates"),
    ({"geoQ": {"georel": "within", "geometry": "Point", "coordinates": [1, 2], "extra": 1}}, "unknown"),
    ({"geoQ": "near"}, "geoQ"),
    ({"scopeQ": "Osaka"}, "scopeQ"),
    ({"lang": "en;q=2"}, "lang"),
    ({"expiresAt": "tomorrow"}, "expiresAt"),
    ({"expiresAt": "2020-01-01T00:00:00Z"}, "future"),
    ({"expiresAt": NOW}, "future"),
    ({"isActive": "yes"}, "isActive"),
    ({"throttling": 0}, "throttling"),
    ({"throttling": -1}, "throttling"),
    ({"throttling": "5"}, "throttling"),
    ({"throttling": True}, "throttling"),
    ({"timeInterval": 0}, "timeInterval"),
    ({"timeInterval": 10, "throttling": 5}, "together"),
    ({"timeInterval": 10, "watchedAttributes": ["occupancy"]}, "together"),
    ({"datasetId": ["not a uri"]}, "datasetId"),
    ({"datasetId": []}, "datasetId"),
    ({"jsonldContext": "not a uri"}, "jsonldContext"),
    ({"notification": None}, "notification"),
    ({"notification": "http://x"}, "notification"),
    ({"colour": "red"}, "Unknown"),
])
def test_invalid_subscriptions(members, message):
    assert message in bad(**members)


@pytest.mark.parametrize("notification, message", [
    (with_notification(endpoint=None), "endpoint"),
    (with_notification(attributes=[]), "attributes"),
    (with_notification(attributes=["a b"]), "invalid character"),
    (with_notification(format="simplified"), "format"),
    (with_notification(format="geojson"), "format"),
    (with_notification(showChanges="true"), "showChanges"),
    (with_notification(sysAttrs=1), "sysAttrs"),
    (with_notification(pick=["name"], attributes=["name"]), "together"),
    (with_notification(omit=["name"], attributes=["name"]), "together"),
    (with_notification(pick=["name"], omit=["name"]), "both"),
    (with_notification(colour="red"), "Unknown"),
    (with_endpoint(uri=None), "uri"),
    (with_endpoint(uri="not a uri"), "URI"),
    (with_endpoint(uri="ftp://host/x"), "http, https, mqtt or mqtts"),
    (with_endpoint(uri="urn:ngsi-ld:Receiver"), "http, https, mqtt or mqtts"),
    (with_endpoint(uri="mqtt://broker.example"), "topic"),
    (with_endpoint(accept="text/plain"), "accept"),
    (with_endpoint(receiverInfo=[{"key": "Authorization"}]), "receiverInfo"),
    (with_endpoint(receiverInfo={"key": "a", "value": "b"}), "receiverInfo"),
    (with_endpoint(notifierInfo=[{"key": "x", "value": 1}]), "notifierInfo"),
    (with_endpoint(uri="mqtt://broker.example/topic", notifierInfo=[{"key": "MQTT-QoS", "value": "3"}]), "QoS"),
    (with_endpoint(uri="mqtt://broker.example/topic",
                   notifierInfo=[{"key": "MQTT-Version", "value": "mqtt4"}]), "MQTT-Version"),
    (with_endpoint(timeout=0), "timeout"),
    (with_endpoint(colour="red"), "Unknown"),
])
def test_invalid_notification_parameters(notification, message):
    assert message in bad(notification=notification)


@pytest.mark.parametrize("members", [{"temporalQ": {"timerel": "after"}}, {"csf": "x"},
                                     {"notification": with_notification(join="flat")}])
def test_unsupported_members(members):
    with pytest.raises(OperationNotSupported):
        parse(**members)


def test_watched_attributes_alone_are_enough():
    sub = parse(entities=None, watchedAttributes=["occupancy"])
    assert "entities" not in sub and sub["watchedAttributes"] == [VOCAB + "occupancy"]


def test_time_interval_with_entities():
    assert parse(timeInterval=60)["timeInterval"] == 60


def test_endpoints():
    mqtt = with_endpoint(uri="mqtts://user:pw@broker.example:8883/shelters", accept="application/ld+json",
                         notifierInfo=[{"key": "MQTT-Version", "value": "mqtt5.0"},
                                       {"key": "MQTT-QoS", "value": "2"}],
                         receiverInfo=[{"key": "X-Token", "value": "t"}], timeout=1.5, cooldown=100)
    endpoint = parse(notification=mqtt)["notification"]["endpoint"]
    assert endpoint["uri"].startswith("mqtts://") and endpoint["accept"] == "application/ld+json"
    assert endpoint["notifierInfo"][1] == {"key": "MQTT-QoS", "value": "2"}
    assert endpoint["timeout"] == 1.5 and endpoint["cooldown"] == 100
    geo = parse(notification=with_endpoint(uri="https://r.example/n", accept="application/geo+json"))
    assert geo["notification"]["endpoint"]["accept"] == "application/geo+json"


def test_pick_and_omit_keep_id_and_type():
    sub = parse(notification=with_notification(pick=["id", "type", "name"], omit=["location"]))
    assert sub["notification"]["pick"] == ["id", "type", VOCAB + "name"]
    assert sub["notification"]["omit"] == [NGSI + "location"]


def test_duplicate_triggers_and_names_collapse():
    sub = parse(notificationTrigger=["entityCreated", "entityCreated"], watchedAttributes=["a", "a"])
    assert sub["notificationTrigger"] == ["entityCreated"] and sub["watchedAttributes"] == [VOCAB + "a"]


# --- status and statistics -------------------------------------------------------------------------


def test_status():
    sub = parse(expiresAt=LATER)
    assert subscription_status(sub, NOW) == "active"
    assert subscription_status(sub, LATER) == "expired"
    assert subscription_status({**sub, "isActive": False}, LATER) == "paused"


def test_expires_at_is_kept_as_written_and_compared_as_an_instant():
    """expiresAt comes back as the client wrote it; with an offset it still expires at its instant."""
    sub = parse(expiresAt="2026-11-24T19:30:00+09:00")  # 10:30 UTC
    assert render_subscription(sub, CTX, now=NOW)["expiresAt"] == "2026-11-24T19:30:00+09:00"
    assert subscription_status(sub, NOW) == "active"
    assert subscription_status(sub, "2026-11-24T10:30:00.000Z") == "expired"


def test_an_expires_at_in_the_past_written_with_an_offset_is_refused():
    assert "future" in bad(expiresAt="2026-11-24T18:59:59+09:00")  # 09:59:59 UTC, before NOW


def test_delivery_statistics():
    sub = parse()
    assert notification_status(sub) is None
    record_delivery(sub, True, NOW)
    assert (sub["timesSent"], sub["timesFailed"], notification_status(sub)) == (1, 0, "ok")
    record_delivery(sub, False, LATER)
    assert (sub["timesSent"], sub["timesFailed"], notification_status(sub)) == (2, 1, "failed")
    assert sub["lastNotification"] == sub["lastFailure"] == LATER and sub["lastSuccess"] == NOW
    record_delivery(sub, True, "2026-11-24T12:00:00.000Z")
    assert notification_status(sub) == "ok"


# --- rendering -------------------------------------------------------------------------------------


def test_render_compacts_and_places_statistics_in_notification():
    sub = parse(entities=[{"type": "(Park;Garden),Shelter", "idPattern": ".*"}], watchedAttributes=["location"],
                geoQ={"georel": "within", "geometry": "Polygon",
                      "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
                notification=with_notification(attributes=["occupancy"], pick=None))
    record_delivery(sub, False, NOW)
    out = render_subscription(sub, CTX, now=NOW)
    assert out["entities"] == [{"idPattern": ".*", "type": "(Park;Garden),Shelter"}]
    assert out["watchedAttributes"] == ["location"]
    assert out["geoQ"] == {"geometry": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]],
                           "georel": "within"}
    assert out["status"] == "active" and out["isActive"] is True
    notification = out["notification"]
    assert notification["attributes"] == ["occupancy"]
    assert notification["timesSent"] == 1 and notification["timesFailed"] == 1
    assert notification["status"] == "failed" and notification["lastFailure"] == NOW
    assert "timesSent" not in out and "tenant" not in out and "createdAt" not in out
    assert out["jsonldContext"] == CORE_URL


def test_render_status_is_recomputed_and_sys_attrs():
    sub = parse(expiresAt=LATER)
    out = render_subscription(sub, CTX, sys_attrs=True, now="2026-11-24T12:00:00.000Z")
    assert out["status"] == "expired"
    assert out["createdAt"] == out["modifiedAt"] == NOW


def test_render_then_parse_round_trips():
    sub = parse(entities=[{"type": "Shelter", "id": "urn:ngsi-ld:Shelter:1"}], watchedAttributes=["occupancy"],
                q="occupancy>3", geoQ={"georel": "near;maxDistance==10", "geometry": "Point",
                                       "coordinates": [1, 2], "geoproperty": "position"},
                notification=with_notification(attributes=["name"], showChanges=True))
    again = parse_subscription(render_subscription(sub, CTX), CTX, now=LATER, existing=sub)
    assert {k: v for k, v in again.items() if k != "modifiedAt"} == {k: v for k, v in sub.items()
                                                                      if k != "modifiedAt"}


# --- updates ---------------------------------------------------------------------------------------


def existing(**members) -> dict:
    sub = parse(id="urn:ngsi-ld:Subscription:1", **members)
    sub["tenant"] = "toyono"
    record_delivery(sub, True, NOW)
    return sub


def test_update_replaces_members_and_keeps_history():
    old = existing(watchedAttributes=["occupancy"])
    new = merge_subscription_update(old, {"watchedAttributes": ["name"], "throttling": 10}, CTX, LATER)
    assert new["watchedAttributes"] == [VOCAB + "name"] and new["throttling"] == 10
    assert new["entities"] == old["entities"]
    assert new["createdAt"] == NOW and new["modifiedAt"] == LATER
    assert new["timesSent"] == 1 and new["lastSuccess"] == NOW and new["tenant"] == "toyono"
    assert new["id"] == old["id"]


def test_update_merges_notification_members():
    old = existing(notification=with_notification(attributes=["name"]))
    new = merge_subscription_update(old, {"notification": {"format": "keyValues"}}, CTX, LATER)
    assert new["notification"]["format"] == "keyValues"
    assert new["notification"]["attributes"] == [VOCAB + "name"]
    assert new["notification"]["endpoint"]["uri"] == "http://receiver.example/notify"
    new = merge_subscription_update(old, {"notification": {"endpoint": {"accept": "application/ld+json"}}},
                                    CTX, LATER)
    assert new["notification"]["endpoint"] == {"uri": "http://receiver.example/notify",
                                               "accept": "application/ld+json"}


def test_update_null_removes_members():
    old = existing(q="occupancy>1", throttling=5)
    new = merge_subscription_update(old, {"q": None, "throttling": "urn:ngsi-ld:null"}, CTX, LATER)
    assert "q" not in new and "throttling" not in new


@pytest.mark.parametrize("patch", [
    {"notification": {"endpoint": None}},
    {"notification": None},
    {"entities": None},
    {"type": "Entity"},
    {"id": "urn:ngsi-ld:Subscription:other"},
    {"throttling": -1},
    {"expiresAt": "2020-01-01T00:00:00Z"},
    {"timeInterval": 5, "throttling": 5},
])
def test_invalid_updates(patch):
    with pytest.raises(BadRequestData):
        merge_subscription_update(existing(), patch, CTX, LATER)


def test_update_is_active_pauses_and_resumes():
    old = existing()
    paused = merge_subscription_update(old, {"isActive": False}, CTX, LATER)
    assert paused["status"] == "paused"
    assert merge_subscription_update(paused, {"isActive": True}, CTX, LATER)["status"] == "active"


def test_update_keeps_an_expiry_that_has_passed():
    old = existing(expiresAt=LATER)
    late = "2026-11-25T00:00:00.000Z"
    new = merge_subscription_update(old, {"description": "still here"}, CTX, late)
    assert new["expiresAt"] == LATER and new["status"] == "expired"


def test_update_does_not_mutate_existing():
    old = existing()
    before = copy.deepcopy(old)
    merge_subscription_update(old, {"notification": {"format": "concise"}}, CTX, LATER)
    assert old == before


def test_update_keeps_the_stored_context_unless_given():
    old = existing()
    assert merge_subscription_update(old, {"throttling": 1}, CTX, LATER)["jsonldContext"] == CORE_URL
    given = merge_subscription_update(old, {"jsonldContext": "https://example.org/c.jsonld"}, CTX, LATER)
    assert given["jsonldContext"] == "https://example.org/c.jsonld"
