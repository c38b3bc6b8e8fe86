"""What watch-over watches and when it alerts: the enrolment, the devices' readings and the three rules.

An enrolment (`WatchOverEnrolment`, written by the town office or a family with the right to) names
the watched resident, who is alerted (`watcher`: the principal id of a family member's resident
account or of a care worker's account), the devices (a `WatchBeacon` the person carries, read at the
town's beacon readers, and/or a `HomeSensor` at home), the area the person usually stays in (a
Polygon) and how long a quiet spell may last (`quietMinutes`). The rules:

* noActivity — no beacon pass and no movement at home for longer than `quietMinutes`;
* outOfArea  — a beacon pass at a reader outside `area` (once per excursion: the next alert needs a
               pass inside first);
* fall       — a device reports `fall` true (a pendant's accelerometer, a home sensor's fall detection).

Everything here is pure: entities in Toshi's internal form in, findings out (service.py reads and
writes them through the read and write paths)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from toshi.core.times import parse_instant
from toshi.jsonld.context import core_context

SERVICE_ID = "toshi-watchover"     # the identity it reads as: consents name it as their recipient
PURPOSE = "watch-over"             # the purpose it reads for
DEFAULT_QUIET_MINUTES = 240
ENROLMENT, BEACON, HOME_SENSOR, ALERT, STATUS = (
    "WatchOverEnrolment", "WatchBeacon", "HomeSensor", "WatchOverAlert", "WatchOverService")
KINDS = ("noActivity", "outOfArea", "fall")
MESSAGES = {
    "noActivity": "{minutes} 分以上、ビーコンの通過も在宅センサーの反応もありません / "
                  "no beacon pass and no movement at home for over {minutes} minutes",
    "outOfArea": "いつもの地域の外の読取機を通過しました / passed a reader outside the usual area",
    "fall": "転倒の可能性があります / a fall-like event was detected",
}

# What a tenant declares so the read path hides these types from everyone without a consent of the
# person they are about (PUT /consent/declarations/{id}); the service does nothing in a tenant that
# has not declared all four.
DECLARATIONS = [
    {"id": "watchover-enrolments", "type": ENROLMENT, "subject": "watched", "entityPersonal": True,
     "attributes": {"watched": "personal", "watcher": "personal", "beacon": "personal", "homeSensor": "personal",
                    "area": "location", "quietMinutes": "personal", "status": "personal"}},
    {"id": "watchover-beacons", "type": BEACON, "subject": "wearer", "entityPersonal": True,
     "attributes": {"wearer": "personal", "location": "location", "reader": "location", "fall": "sensitive"}},
    {"id": "watchover-home-sensors", "type": HOME_SENSOR, "subject": "resident", "entityPersonal": True,
     "attributes": {"resident": "personal", "motion": "personal", "fall": "sensitive", "location": "location"}},
    {"id": "watchover-alerts", "type": ALERT, "subject": "watched", "entityPersonal": True,
     "attributes": {"watched": "personal", "watcher": "personal", "enrolment": "personal", "kind": "sensitive",
                    "message": "sensitive", "detectedAt": "personal", "evidenceAt": "personal",
                    "location": "location", "status": "personal"}},
]
# The consent a watched person (or their guardian) gives, twice: to the service (SERVICE_ID) and to the
# watcher, so each may read what it needs for PURPOSE.
CONSENT_CATEGORIES = ["personal", "location", "sensitive"]


def iri(term: str) -> str:
    return core_context().expand_term(term)


def types_of(entity: dict) -> set[str]:
    return set(entity.get("type") or ())


def instance(entity: dict, term: str) -> dict | None:
    """The default instance of an attribute (the one without datasetId), else the first."""
    found = entity.get("attrs", {}).get(iri(term)) or []
    return next((i for i in found if "datasetId" not in i), found[0] if found else None)


def value(entity: dict, term: str):
    item = instance(entity, term)
    if item is None:
        return None
    return item.get("object", item.get("value"))


def observed(entity: dict, term: str) -> datetime | None:
    item = instance(entity, term)
    if item is None:
        return None
    at = item.get("observedAt") or item.get("modifiedAt")
    return parse_instant(at) if at else None


@dataclass(frozen=True)
class Enrolment:
    id: str
    watched: str
    watcher: str
    beacon: str | None
    home_sensor: str | None
    area: object | None          # a shapely geometry
    quiet: timedelta


def enrolment(entity: dict) -> Enrolment:
    """The enrolment an entity states (ValueError saying what is wrong when it states none)."""
    watched, watcher = value(entity, "watched"), value(entity, "watcher")
    if not isinstance(watched, str) or not watched:
        raise ValueError("watched must name the resident watched over (a Relationship)")
    if not isinstance(watcher, str) or not watcher:
        raise ValueError("watcher must name who is alerted (the principal id of a family member or care worker)")
    beacon, sensor = value(entity, "beacon"), value(entity, "homeSensor")
    if not beacon and not sensor:
        raise ValueError("an enrolment names a beacon, a homeSensor or both")
    area = value(entity, "area")
    geometry = None
    if area is not None:
        if not isinstance(area, dict) or area.get("type") not in ("Polygon", "MultiPolygon"):
            raise ValueError("area must be a Polygon or MultiPolygon")
        from shapely.geometry import shape  # shapely (and numpy) only where an area is given

        geometry = shape(area)
    minutes = value(entity, "quietMinutes")
    minutes = DEFAULT_QUIET_MINUTES if minutes is None else minutes
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not 10 <= minutes <= 7 * 24 * 60:
        raise ValueError("quietMinutes must be a number of minutes from 10 to 10080")
    return Enrolment(entity["id"], watched, watcher, beacon or None, sensor or None, geometry,
                     timedelta(minutes=minutes))


def is_active(entity: dict) -> bool:
    return (value(entity, "status") or "active") == "active"


@dataclass(frozen=True)
class Finding:
    kind: str
    evidence_at: datetime        # when what raised it was observed
    location: dict | None = None
    minutes: int = 0


def last_activity(beacon: dict | None, sensor: dict | None) -> datetime | None:
    """The latest sign of the person: a beacon pass or movement at home."""
    times = [t for t in ((observed(beacon, "location") if beacon else None),
                         (observed(sensor, "motion") if sensor and value(sensor, "motion") else None)) if t]
    return max(times) if times else None


def quiet(enrolled: Enrolment, last: datetime | None, now: datetime) -> Finding | None:
    if last is None or now - last <= enrolled.quiet:
        return None
    return Finding("noActivity", last, minutes=int(enrolled.quiet.total_seconds() // 60))


def outside(enrolled: Enrolment, beacon: dict) -> bool | None:
    """Whether the beacon's last pass was outside the area (None: no area, or no pass yet)."""
    where = value(beacon, "location")
    if enrolled.area is None or not isinstance(where, dict) or where.get("type") != "Point":
        return None
    from shapely import Point  # loaded already: the area is a shapely geometry

    return not enrolled.area.covers(Point(where["coordinates"][:2]))


def fall(device: dict | None) -> Finding | None:
    if device is None or value(device, "fall") is not True:
        return None
    at = observed(device, "fall")
    location = value(device, "location")
    return Finding("fall", at, location if isinstance(location, dict) else None) if at else None


def alert_id(enrolled: Enrolment, finding: Finding) -> str:
    """One alert per event: the same evidence never raises two."""
    local = enrolled.id.rsplit(":", 1)[-1]
    return f"urn:ngsi-ld:{ALERT}:{local}-{finding.kind}-{finding.evidence_at:%Y%m%dT%H%M%SZ}"


def alert_payload(enrolled: Enrolment, finding: Finding, detected_at: str) -> dict:
    """The alert as an NGSI-LD entity (core @context terms)."""
    entity = {
        "id": alert_id(enrolled, finding), "type": ALERT,
        "watched": {"type": "Relationship", "object": enrolled.watched},
        "watcher": {"type": "Property", "value": enrolled.watcher},
        "enrolment": {"type": "Relationship", "object": enrolled.id},
        "kind": {"type": "Property", "value": finding.kind},
        "message": {"type": "Property", "value": MESSAGES[finding.kind].format(minutes=finding.minutes)},
        "detectedAt": {"type": "Property", "value": detected_at},
        "evidenceAt": {"type": "Property", "value": finding.evidence_at.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "status": {"type": "Property", "value": "open"},
    }
    if finding.location is not None:
        entity["location"] = {"type": "GeoProperty", "value": finding.location}
    return entity
