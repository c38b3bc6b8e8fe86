"""Run by test_filip_ld.py with an interpreter that has FiLiP installed (its own virtualenv, see
tests/ngsiv2/test_v2_filip.py): every operation of FiLiP's NGSI-LD client against a real Toshi.

Usage: python filip_ld_session.py BROKER_URL  -> prints OK on success, raises otherwise."""

import sys

from filip.clients.ngsi_ld.cb import ContextBrokerLDClient
from filip.models.base import FiwareLDHeader
from filip.models.ngsi_ld.context import (
    ActionTypeLD,
    ContextLDEntity,
    NamedContextProperty,
)
from filip.models.ngsi_ld.subscriptions import SubscriptionLD

url = sys.argv[1]
cb = ContextBrokerLDClient(url=url, fiware_header=FiwareLDHeader())
assert cb.get_version()


def room(n: int, temperature: float) -> ContextLDEntity:
    return ContextLDEntity(id=f"urn:ngsi-ld:Room:{n}", type="Room",
                           temperature={"type": "Property", "value": temperature})


for n, temperature in enumerate((18, 25, 31), start=1):
    cb.post_entity(room(n, temperature))
assert cb.get_entity("urn:ngsi-ld:Room:2").temperature.value == 25
warm = cb.get_entity_list(entity_type="Room", q="temperature>20")
assert sorted(e.id for e in warm) == ["urn:ngsi-ld:Room:2", "urn:ngsi-ld:Room:3"], warm
cb.update_entity_attribute(entity_id="urn:ngsi-ld:Room:2",
                           attr=NamedContextProperty(name="temperature", value=26), attr_name="temperature")
assert cb.get_entity("urn:ngsi-ld:Room:2").temperature.value == 26
cb.append_entity_attributes(ContextLDEntity(id="urn:ngsi-ld:Room:1", type="Room",
                                            pressure={"type": "Property", "value": 1000}))
assert cb.get_entity("urn:ngsi-ld:Room:1").pressure.value == 1000
cb.replace_existing_attributes_of_entity(ContextLDEntity(id="urn:ngsi-ld:Room:1", type="Room",
                                                         pressure={"type": "Property", "value": 990}))
assert cb.get_entity("urn:ngsi-ld:Room:1").pressure.value == 990
cb.delete_attribute(entity_id="urn:ngsi-ld:Room:1", attribute_id="pressure")
assert not hasattr(cb.get_entity("urn:ngsi-ld:Room:1"), "pressure")
cb.entity_batch_operation(entities=[room(4, 10), room(5, 11)], action_type=ActionTypeLD.CREATE)
cb.entity_batch_operation(entities=[room(4, 12)], action_type=ActionTypeLD.UPSERT)
cb.entity_batch_operation(entities=[room(5, 13)], action_type=ActionTypeLD.UPDATE)
assert cb.get_entity("urn:ngsi-ld:Room:5").temperature.value == 13
cb.entity_batch_operation(entities=[room(4, 0), room(5, 0)], action_type=ActionTypeLD.DELETE)
cb.override_entities([room(3, 30)])
assert cb.get_entity("urn:ngsi-ld:Room:3").temperature.value == 30

subscription = SubscriptionLD(id="urn:ngsi-ld:Subscription:rooms", type="Subscription",
                              entities=[{"type": "Room"}], watchedAttributes=["temperature"],
                              notification={"endpoint": {"uri": "http://127.0.0.1:9/notify",
                                                         "accept": "application/json"}})
sub_id = cb.post_subscription(subscription)
assert [s.id for s in cb.get_subscription_list()] == [sub_id]
assert cb.get_subscription(sub_id).id == sub_id
subscription.description = "rooms of the town hall"
cb.update_subscription(subscription)
assert cb.get_subscription(sub_id).description == "rooms of the town hall"
cb.delete_subscription(sub_id)
assert cb.get_subscription_list() == []

cb.delete_entity_by_id("urn:ngsi-ld:Room:1")
assert sorted(e.id for e in cb.get_entity_list(entity_type="Room")) == ["urn:ngsi-ld:Room:2", "urn:ngsi-ld:Room:3"]
print("OK")
