"""The internal entity (toshi/core/entity.py) in and out of NGSI-LD JSON: payload parsing, rendering
(normalized, concise, keyValues, GeoJSON) and the render cache. Ground floor: every API, notifications,
temporal answers and the IoT agent use it; it imports only core, query and jsonld."""
