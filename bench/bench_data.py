"""Benchmark entities, shaped like Smart Data Models (Shelter, WeatherObserved) so payloads are realistic.

Values are deterministic functions of the entity number, so a query selects the same subset every run:
WeatherObserved temperatures are spread evenly over 0.00–39.99, so `temperature>20` matches ~50 % and
`temperature>=39.6` matches 1 %.
"""

from __future__ import annotations

SHELTER_TYPE = "Shelter"
SHELTER_ID_FORMAT = "urn:ngsi-ld:Shelter:bench-%05d"   # printf-style: the Lua scripts use it too
WEATHER_TYPE = "WeatherObserved"
WEATHER_ID_FORMAT = "urn:ngsi-ld:WeatherObserved:bench-%06d"
OBSERVED_AT = "2026-11-24T09:00:00Z"


def shelter_id(n: int) -> str:
    return SHELTER_ID_FORMAT % n


def weather_id(n: int) -> str:
    return WEATHER_ID_FORMAT % n


def _point(n: int) -> dict:
    """A point in and around Toyono (Osaka), different for every n."""
    lon = 135.40 + (n * 37 % 1000) / 5000
    lat = 34.80 + (n * 91 % 1000) / 5000
    return {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}


def shelter(n: int) -> dict:
    """An evacuation shelter: 7 attributes, ~900 bytes as normalized NGSI-LD."""
    return {
        "id": shelter_id(n),
        "type": SHELTER_TYPE,
        "name": {"type": "LanguageProperty", "languageMap": {"ja": f"避難所 {n}", "en": f"Shelter {n}"}},
        "category": {"type": "Property", "value": ["school", "evacuationCenter"]},
        "capacity": {"type": "Property", "value": 100 + n % 400},
        "occupancy": {"type": "Property", "value": n % 100, "observedAt": OBSERVED_AT, "unitCode": "C62"},
        "address": {"type": "Property", "value": {"addressCountry": "JP", "addressRegion": "Osaka",
                                                  "addressLocality": "Toyono", "postalCode": "563-0292",
                                                  "streetAddress": f"Yonoharanishi {n % 50}-1"}},
        "status": {"type": "Property", "value": "open"},
        "location": {"type": "GeoProperty", "value": _point(n)},
    }


def temperature(n: int) -> float:
    """Evenly spread over 0.00..39.99 (n * 7919 mod 4000 visits every step once per 4,000 entities)."""
    return (n * 7919 % 4000) / 100


def weather_observed(n: int) -> dict:
    """A weather observation: 8 attributes, ~950 bytes as normalized NGSI-LD."""
    return {
        "id": weather_id(n),
        "type": WEATHER_TYPE,
        "dateObserved": {"type": "Property", "value": {"@type": "DateTime", "@value": OBSERVED_AT}},
        "temperature": {"type": "Property", "value": temperature(n), "unitCode": "CEL",
                        "observedAt": OBSERVED_AT},
        "relativeHumidity": {"type": "Property", "value": (n % 100) / 100, "unitCode": "P1"},
        "atmosphericPressure": {"type": "Property", "value": 1000 + n % 30, "unitCode": "HPA"},
        "windSpeed": {"type": "Property", "value": (n % 200) / 10, "unitCode": "MTS"},
        "windDirection": {"type": "Property", "value": n % 360, "unitCode": "DD"},
        "precipitation": {"type": "Property", "value": (n % 50) / 10, "unitCode": "MMT"},
        "location": {"type": "GeoProperty", "value": _point(n)},
    }
