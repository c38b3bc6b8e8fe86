"""Run by test_v2_filip.py with an interpreter that has FiLiP installed (its own virtualenv: FiLiP pins
paho-mqtt~=2.0.0, which aiomqtt>=2.1 excludes, so it cannot share Toshi's environment).

Usage: python filip_session.py BROKER_URL  -> prints OK on success, raises otherwise."""

import sys

from filip.clients.ngsi_v2 import ContextBrokerClient
from filip.models.base import FiwareHeader
from filip.models.ngsi_v2.context import ContextEntity, NamedContextAttribute

url = sys.argv[1]
cb = ContextBrokerClient(url=url, fiware_header=FiwareHeader(service="filip", service_path="/testing"))
assert cb.get_version()["orion"]["version"]
for n, temperature in enumerate((18, 25, 31), start=1):
    room = ContextEntity(id=f"Room{n}", type="Room",
                         temperature={"type": "Number", "value": temperature},
                         location={"type": "geo:point", "value": f"40.41{n}, -3.70{n}"})
    cb.post_entity(room)
got = cb.get_entity("Room2")
assert got.id == "Room2" and got.get_attribute("temperature").value == 25, got
cb.update_attribute_value(entity_id="Room2", attr_name="temperature", value=26)
assert cb.get_attribute_value(entity_id="Room2", attr_name="temperature") == 26
cb.update_existing_entity_attributes("Room3", [NamedContextAttribute(name="temperature", type="Number", value=30)],
                                     entity_type="Room")
warm = cb.get_entity_list(entity_types=["Room"], q="temperature>20")
assert sorted(e.id for e in warm) == ["Room2", "Room3"], warm
near = cb.get_entity_list(georel="near;maxDistance:2000", geometry="point", coords="40.412,-3.702")
assert {e.id for e in near} == {"Room1", "Room2", "Room3"}, near
cb.update_or_append_entity_attributes("Room1", [NamedContextAttribute(name="pressure", type="Number", value=1000)],
                                      entity_type="Room")
assert cb.get_entity("Room1").get_attribute("pressure").value == 1000
cb.delete_entity("Room1", entity_type="Room")
assert sorted(e.id for e in cb.get_entity_list(entity_types=["Room"])) == ["Room2", "Room3"]
print("OK")
