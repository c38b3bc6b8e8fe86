"""The Subscription (ETSI GS CIM 009 v1.8, clause 5.2.12): payload -> stored dict -> NGSI-LD output.

The stored form is a plain JSON document (kept by toshi.store's SqlSubscriptions):

    {
      "id": "urn:ngsi-ld:Subscription:...", "type": "Subscription",
      "subscriptionName": "...", "description": "...",                     # optional, as sent
      "entities": [{"id"?, "idPattern"?, "type": "<type selection, every name expanded>"}],
      "watchedAttributes": [expanded names],
      "notificationTrigger": ["attributeCreated", "attributeUpdated"],    # always present
      "q": "...", "scopeQ": "...", "lang": "...",                         # the text as sent
      "geoQ": {"georel", "geometry", "coordinates", "geoproperty": expanded name},
      "expiresAt": "...Z", "throttling": 5, "timeInterval": 60, "datasetId": [...],
      "isActive": true,
      "notification": {"attributes"? | "pick"? / "omit"? (expanded), "format", "showChanges", "sysAttrs",
                       "endpoint": {"uri", "accept", "receiverInfo"?, "notifierInfo"?, "timeout"?,
                                    "cooldown"?}},
      "jsonldContext": "<URL>" | [...] | {...},  # the @context of notifications; q is read with it
      "contextUrl": "<URL>",                       # an inline / array one: its ImplicitlyCreated URL (shown)
      "status": "active" | "paused" | "expired", # as of the last write (rendering recomputes it)
      "timesSent": 0, "timesFailed": 0, "lastNotification"?, "lastSuccess"?, "lastFailure"?,
      "createdAt": "...", "modifiedAt": "...",
      "tenant": "..."                              # set by the API layer, never rendered
    }

`jsonldContext` is the client's `jsonldContext` member when given, else the request's @context (its
URL when it has one). Members the broker maintains (status, statistics, system times) are ignored in
payloads, as clause 5.2.2 says of read-only members.
"""

from __future__ import annotations

import math
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from toshi.core.errors import BadRequestData, OperationNotSupported
from toshi.core.times import instant_key, now_iso, written_datetime
from toshi.formats.ngsild_parse import NGSI_LD_NULL, expand_name, is_uri
from toshi.formats.ngsild_render import language_ranges
from toshi.query.geo import LOCATION, geoq_from_body
from toshi.query.qparse import parse_q
from toshi.query.regex import compile_pattern
from toshi.query.scope import parse_scope_q
from toshi.query.typeexpr import parse_type_expr

TRIGGERS = ("entityCreated", "entityUpdated", "entityDeleted",
            "attributeCreated", "attributeUpdated", "attributeDeleted")
DEFAULT_TRIGGERS = ["attributeCreated", "attributeUpdated"]
FORMATS = ("normalized", "keyValues", "concise")
ACCEPTS = ("application/json", "application/ld+json", "application/geo+json")
SCHEMES = ("http", "https", "mqtt", "mqtts")
MQTT_VERSIONS = ("mqtt3.1.1", "mqtt5.0")
MQTT_QOS = ("0", "1", "2")
STATISTICS = ("timesSent", "timesFailed", "lastNotification", "lastSuccess", "lastFailure")

_MEMBERS = frozenset({"id", "type", "subscriptionName", "name", "description", "entities",
                      "watchedAttributes",
                      "notificationTrigger", "timeInterval", "q", "geoQ", "scopeQ", "lang", "notification",
                      "expiresAt", "isActive", "throttling", "datasetId", "jsonldContext"})
_READ_ONLY = frozenset({"@context", "createdAt", "modifiedAt", "deletedAt", "status"})
_NOT_SUPPORTED = frozenset({"temporalQ", "csf"})
_NOTIFICATION_MEMBERS = frozenset({"attributes", "pick", "omit", "format", "showChanges", "sysAttrs", "endpoint"})
_NOTIFICATION_READ_ONLY = frozenset({"status", *STATISTICS})
_NOTIFICATION_NOT_SUPPORTED = frozenset({"join", "joinLevel"})
_ENDPOINT_MEMBERS = frozenset({"uri", "accept", "receiverInfo", "notifierInfo", "timeout", "cooldown"})
_SELECTOR_MEMBERS = frozenset({"id", "idPattern", "type"})
_ENTITY_MEMBERS = ("id", "type", "scope")  # pick / omit names that are not attributes
_TYPE_NAME = re.compile(r'[^\s,;|()"]+')  # a name in a type selection (toshi.query.typeexpr)


# --- parsing --------------------------------------------------------------------------------------


def parse_subscription(payload: Any, ctx, *, now: str, existing: dict | None = None) -> dict:
    """Validate a Subscription payload and return its stored form (see the module docstring).

    `existing` is the stored subscription an update replaces: its id, creation time, statistics and
    @context are kept, and an unchanged `expiresAt` need not be in the future any more.
    """
    data = _object(payload, "The subscription")
    _check_members(data, _MEMBERS, _READ_ONLY, _NOT_SUPPORTED, "Subscription")
    if data.get("type") != "Subscription":
        raise BadRequestData(f"type must be 'Subscription', got {_show(data.get('type'))}")
    sub: dict[str, Any] = {"id": _subscription_id(data, existing), "type": "Subscription"}
    for key in ("subscriptionName", "description"):
        if key in data:
            sub[key] = _string(data[key], key)
    if "name" in data and "subscriptionName" not in data:  # the pre-1.4 member, as Orion-LD still accepts
        sub["subscriptionName"] = _string(data["name"], "name")
    if "entities" in data:
        sub["entities"] = [_selector(item, ctx) for item in _list(data["entities"], "entities")]
    if "watchedAttributes" in data:
        sub["watchedAttributes"] = _names(data["watchedAttributes"], "watchedAttributes", ctx)
    if "entities" not in sub and "watchedAttributes" not in sub:
        raise BadRequestData("A subscription needs at least one of entities and watchedAttributes")
    sub["notificationTrigger"] = _triggers(data.get("notificationTrigger", DEFAULT_TRIGGERS))
    sub.update(_filters(data, ctx))
    sub.update(_timing(data, sub, now, existing))
    sub["isActive"] = _bool(data.get("isActive", True), "isActive")
    if "notification" not in data:
        raise BadRequestData("notification is required")
    sub["notification"] = _notification(data["notification"], ctx)
    sub["jsonldContext"] = _jsonld_context(data, ctx, existing)
    sub["status"] = subscription_status(sub, now)
    _keep_history(sub, existing, now)
    return sub


def _subscription_id(data: dict, existing: dict | None) -> str:
    if existing is not None:
        if data.get("id", existing["id"]) != existing["id"]:
            raise BadRequestData("The id of a subscription cannot be changed")
        return existing["id"]
    if "id" not in data:
        return f"urn:ngsi-ld:Subscription:{uuid.uuid4()}"
    if not is_uri(data["id"]):
        raise BadRequestData(f"Subscription id must be a URI, got {_show(data['id'])}")
    return data["id"]


def _selector(item: Any, ctx) -> dict:
    """An entity selector (clause 5.2.33): `type` (a type selection, clause 4.17), `id` or `idPattern`."""
    selector = _object(item, "An entities item")
    _check_members(selector, _SELECTOR_MEMBERS, frozenset(), frozenset(), "entities item")
    if "type" not in selector:
        raise BadRequestData("Each entities item needs a type")
    text = _string(selector["type"], "entities type")
    parse_type_expr(text, ctx.expand_term)  # validates
    out = {"type": _TYPE_NAME.sub(lambda m: ctx.expand_term(m[0]), text)}
    if "id" in selector:
        if not is_uri(selector["id"]):
            raise BadRequestData(f"entities id must be a URI, got {_show(selector['id'])}")
        out["id"] = selector["id"]
    if "idPattern" in selector:
        compile_pattern(_string(selector["idPattern"], "idPattern"))
        out["idPattern"] = selector["idPattern"]
    return out


def _triggers(value: Any) -> list[str]:
    triggers = _list(value, "notificationTrigger")
    unknown = [t for t in triggers if t not in TRIGGERS]
    if unknown:
        raise BadRequestData(f"Unknown notificationTrigger {_show(unknown[0])}; use {', '.join(TRIGGERS)}")
    return list(dict.fromkeys(triggers))


def _filters(data: dict, ctx) -> dict:
    """q, geoQ, scopeQ, lang and datasetId: validated, kept as sent (geoQ with its geoproperty expanded)."""
    out: dict[str, Any] = {}
    if "q" in data:
        out["q"] = _string(data["q"], "q")
        parse_q(out["q"], ctx.expand_term)
    if "geoQ" in data:
        out["geoQ"] = geoq_from_body(data["geoQ"], ctx.expand_term).as_dict()
    if "scopeQ" in data:
        out["scopeQ"] = _string(data["scopeQ"], "scopeQ")
        parse_scope_q(out["scopeQ"])
    if "lang" in data:
        out["lang"] = _string(data["lang"], "lang")
        language_ranges(out["lang"])
    if "datasetId" in data:
        value = data["datasetId"]
        out["datasetId"] = _list(value if isinstance(value, list) else [value], "datasetId")
        for dataset_id in out["datasetId"]:
            if dataset_id != "@none" and not is_uri(dataset_id):
                raise BadRequestData(f"datasetId must be a URI or @none, got {_show(dataset_id)}")
    return out


def _timing(data: dict, sub: dict, now: str, existing: dict | None) -> dict:
    """expiresAt (in the future), throttling and timeInterval (seconds > 0, not together)."""
    out: dict[str, Any] = {}
    if "expiresAt" in data:
        out["expiresAt"] = written_datetime(data["expiresAt"], "expiresAt")
        unchanged = existing is not None and existing.get("expiresAt") == out["expiresAt"]
        if _passed(out["expiresAt"], now) and not unchanged:
            raise BadRequestData(f"expiresAt must be in the future, got {data['expiresAt']}")
    for key in ("throttling", "timeInterval"):
        if key in data:
            out[key] = _positive_number(data[key], key)
    if "timeInterval" in out and "throttling" in out:
        raise BadRequestData("timeInterval and throttling cannot be used together")
    if "timeInterval" in out and "watchedAttributes" in sub:
        raise BadRequestData("timeInterval and watchedAttributes cannot be used together")
    return out


def _notification(value: Any, ctx) -> dict:
    """NotificationParams (clause 5.2.14), without the statistics the broker maintains."""
    data = _object(value, "notification")
    _check_members(data, _NOTIFICATION_MEMBERS, _NOTIFICATION_READ_ONLY, _NOTIFICATION_NOT_SUPPORTED,
                   "notification")
    out: dict[str, Any] = {}
    if "attributes" in data:
        out["attributes"] = _names(data["attributes"], "notification.attributes", ctx)
    for key in ("pick", "omit"):
        if key in data:
            if "attributes" in data:
                raise BadRequestData(f"notification.{key} and notification.attributes cannot be used together")
            out[key] = _members(data[key], f"notification.{key}", ctx)
    if set(out.get("pick", ())) & set(out.get("omit", ())):
        raise BadRequestData("A member cannot be both in notification.pick and notification.omit")
    out["format"] = _choice(data.get("format", "normalized"), FORMATS, "notification.format")
    out["showChanges"] = _bool(data.get("showChanges", False), "notification.showChanges")
    out["sysAttrs"] = _bool(data.get("sysAttrs", False), "notification.sysAttrs")
    if "endpoint" not in data:
        raise BadRequestData("notification.endpoint is required")
    out["endpoint"] = _endpoint(data["endpoint"])
    return out


def _endpoint(value: Any) -> dict:
    """Endpoint (clause 5.2.15): an http(s) or mqtt(s) URI, the accepted media type, key-value infos."""
    data = _object(value, "notification.endpoint")
    _check_members(data, _ENDPOINT_MEMBERS, frozenset(), frozenset(), "notification.endpoint")
    if "uri" not in data:
        raise BadRequestData("notification.endpoint.uri is required")
    out: dict[str, Any] = {"uri": _endpoint_uri(data["uri"]),
                           "accept": _choice(data.get("accept", ACCEPTS[0]), ACCEPTS, "endpoint.accept")}
    for key in ("receiverInfo", "notifierInfo"):
        if key in data:
            out[key] = _key_values(data[key], f"endpoint.{key}")
    _check_mqtt_info(out.get("notifierInfo", []))
    for key in ("timeout", "cooldown"):
        if key in data:
            out[key] = _positive_number(data[key], f"endpoint.{key}")
    return out


def _endpoint_uri(value: Any) -> str:
    if not is_uri(value):
        raise BadRequestData(f"notification.endpoint.uri must be a URI, got {_show(value)}")
    parts = urlsplit(value)
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise BadRequestData(f"notification.endpoint.uri must be an http, https, mqtt or mqtts URL, got {value}")
    if parts.scheme.lower().startswith("mqtt") and parts.path in ("", "/"):
        raise BadRequestData(f"An MQTT endpoint needs a topic (mqtt://host/topic), got {value}")
    return value


def _key_values(value: Any, what: str) -> list[dict]:
    pairs = _list(value, what)
    for pair in pairs:
        if (not isinstance(pair, dict) or set(pair) != {"key", "value"} or not isinstance(pair["key"], str)
                or not pair["key"] or not isinstance(pair["value"], str)):
            raise BadRequestData(f"Each {what} item must be {{\"key\": string, \"value\": string}}, got {_show(pair)}")
    return pairs


def _check_mqtt_info(pairs: list[dict]) -> None:
    for pair in pairs:
        if pair["key"] == "MQTT-Version" and pair["value"] not in MQTT_VERSIONS:
            raise BadRequestData(f"MQTT-Version must be one of {', '.join(MQTT_VERSIONS)}")
        if pair["key"] == "MQTT-QoS" and pair["value"] not in MQTT_QOS:
            raise BadRequestData("MQTT-QoS must be 0, 1 or 2")


def _jsonld_context(data: dict, ctx, existing: dict | None) -> Any:
    if "jsonldContext" in data:
        if not is_uri(data["jsonldContext"]):
            raise BadRequestData(f"jsonldContext must be a URI, got {_show(data['jsonldContext'])}")
        return data["jsonldContext"]
    if existing is not None:
        return existing["jsonldContext"]
    return request_context(ctx)


def request_context(ctx) -> Any:
    """What to store to re-resolve a request's @context later: its URL when it has one, else itself."""
    return ctx.link_url if ctx.link_url is not None else ctx.source


def _keep_history(sub: dict, existing: dict | None, now: str) -> None:
    """System times and statistics: fresh for a new subscription, carried over by an update."""
    old = existing or {}
    sub["timesSent"] = old.get("timesSent", 0)
    sub["timesFailed"] = old.get("timesFailed", 0)
    for key in ("lastNotification", "lastSuccess", "lastFailure"):
        if key in old:
            sub[key] = old[key]
    sub["createdAt"] = old.get("createdAt", now)
    sub["modifiedAt"] = now
    if "tenant" in old:
        sub["tenant"] = old["tenant"]


# --- updates --------------------------------------------------------------------------------------


def merge_subscription_update(existing: dict, patch: Any, ctx, now: str) -> dict:
    """PATCH /subscriptions/{id} (clause 5.8.2): members of `patch` replace those of the subscription,
    objects (notification, endpoint, geoQ) are merged member by member, null (or the NGSI-LD Null)
    removes a member; the result is validated like a new subscription."""
    data = _object(patch, "The subscription fragment")
    current = render_subscription(existing, ctx)
    if existing.get("contextUrl") and current.get("jsonldContext") == existing["contextUrl"]:
        del current["jsonldContext"]  # only shown: the subscription keeps its inline @context
    merged = _merge_patch(current, {key: value for key, value in data.items() if key != "@context"})
    merged.setdefault("type", "Subscription")
    updated = parse_subscription(merged, ctx, now=now, existing=existing)
    if "contextUrl" in existing and not isinstance(data.get("jsonldContext"), str):
        updated["contextUrl"] = existing["contextUrl"]
    return updated


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None or value == NGSI_LD_NULL:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


# --- status and statistics ------------------------------------------------------------------------


def subscription_status(sub: dict, now: str) -> str:
    """`paused` when not active, `expired` once expiresAt has passed, else `active` (clause 5.2.12)."""
    if not sub.get("isActive", True):
        return "paused"
    if sub.get("expiresAt") and _passed(sub["expiresAt"], now):
        return "expired"
    return "active"


def _passed(moment: str, now: str) -> bool:
    """Whether a DateTime (kept as the client wrote it) is not after `now`, compared as instants."""
    return instant_key(moment) <= instant_key(now)


STATISTICS = ("timesSent", "timesFailed", "lastNotification", "lastSuccess", "lastFailure")  # record_delivery's


def record_delivery(sub: dict, ok: bool, now: str) -> None:
    """Count one delivery attempt's outcome in the stored subscription (clause 5.2.14 statistics)."""
    sub["timesSent"] = sub.get("timesSent", 0) + 1
    sub["lastNotification"] = now
    if ok:
        sub["lastSuccess"] = now
    else:
        sub["timesFailed"] = sub.get("timesFailed", 0) + 1
        sub["lastFailure"] = now


def notification_status(sub: dict) -> str | None:
    """`ok` or `failed` after the last attempt; None before any."""
    if "lastNotification" not in sub:
        return None
    failed = "lastFailure" in sub and sub["lastFailure"] >= sub.get("lastSuccess", "")
    return "failed" if failed else "ok"


# --- rendering ------------------------------------------------------------------------------------


def render_subscription(sub: dict, ctx, *, sys_attrs: bool = False, now: str | None = None) -> dict:
    """The NGSI-LD representation: names compacted with `ctx`, the status as of `now` (default: now)."""
    out: dict[str, Any] = {"id": sub["id"], "type": "Subscription"}
    for key in ("subscriptionName", "description"):
        if key in sub:
            out[key] = sub[key]
    if "entities" in sub:
        out["entities"] = [_render_selector(selector, ctx) for selector in sub["entities"]]
    if "watchedAttributes" in sub:
        out["watchedAttributes"] = [ctx.compact_iri(name) for name in sub["watchedAttributes"]]
    out["notificationTrigger"] = list(sub["notificationTrigger"])
    for key in ("q", "scopeQ", "lang", "timeInterval", "throttling", "expiresAt", "datasetId"):
        if key in sub:
            out[key] = sub[key]
    if "geoQ" in sub:
        out["geoQ"] = _render_geoq(sub["geoQ"], ctx)
    out["isActive"] = sub["isActive"]
    out["status"] = subscription_status(sub, now or now_iso())
    out["notification"] = _render_notification(sub, ctx)
    if isinstance(sub.get("jsonldContext"), str):
        out["jsonldContext"] = sub["jsonldContext"]
    elif sub.get("contextUrl"):  # created with an inline or array @context: the ImplicitlyCreated one's URL
        out["jsonldContext"] = sub["contextUrl"]
    if sys_attrs:
        out["createdAt"], out["modifiedAt"] = sub["createdAt"], sub["modifiedAt"]
    return out


def _render_selector(selector: dict, ctx) -> dict:
    out = {key: selector[key] for key in ("id", "idPattern") if key in selector}
    out["type"] = _TYPE_NAME.sub(lambda m: ctx.compact_iri(m[0]), selector["type"])
    return out


def _render_geoq(geoq: dict, ctx) -> dict:
    out = {key: geoq[key] for key in ("geometry", "coordinates", "georel")}
    if geoq.get("geoproperty", LOCATION) != LOCATION:
        out["geoproperty"] = ctx.compact_iri(geoq["geoproperty"])
    return out


def _render_notification(sub: dict, ctx) -> dict:
    params = sub["notification"]
    out: dict[str, Any] = {}
    if "attributes" in params:
        out["attributes"] = [ctx.compact_iri(name) for name in params["attributes"]]
    for key in ("pick", "omit"):
        if key in params:
            out[key] = [name if name in _ENTITY_MEMBERS else ctx.compact_iri(name) for name in params[key]]
    out.update(format=params["format"], showChanges=params["showChanges"], sysAttrs=params["sysAttrs"],
               endpoint=params["endpoint"])
    out["timesSent"] = sub.get("timesSent", 0)
    out["timesFailed"] = sub.get("timesFailed", 0)
    for key in ("lastNotification", "lastSuccess", "lastFailure"):
        if key in sub:
            out[key] = sub[key]
    status = notification_status(sub)
    if status is not None:
        out["status"] = status
    return out


# --- small validators -----------------------------------------------------------------------------


def _check_members(data: dict, known: frozenset, read_only: frozenset, unsupported: frozenset,
                   what: str) -> None:
    for key in data:
        if key in known or key in read_only:
            continue
        if key in unsupported:
            raise OperationNotSupported(f"{what} member {key} is not supported")
        raise BadRequestData(f"Unknown {what} member {_show(key)}")


def _names(value: Any, what: str, ctx) -> list[str]:
    return list(dict.fromkeys(expand_name(name, ctx) for name in _list(value, what)))


def _members(value: Any, what: str, ctx) -> list[str]:
    """pick / omit: entity member names; id, type and scope stay as they are, attribute names are expanded."""
    names = _list(value, what)
    return list(dict.fromkeys(n if n in _ENTITY_MEMBERS else expand_name(n, ctx) for n in names))


def _object(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise BadRequestData(f"{what} must be a JSON object, got {_show(value)}")
    return value


def _list(value: Any, what: str) -> list:
    if not isinstance(value, list) or not value:
        raise BadRequestData(f"{what} must be a non-empty array, got {_show(value)}")
    return value


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequestData(f"{what} must be a non-empty string, got {_show(value)}")
    return value


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequestData(f"{what} must be true or false, got {_show(value)}")
    return value


def _choice(value: Any, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise BadRequestData(f"{what} must be one of {', '.join(allowed)}, got {_show(value)}")
    return value


def _positive_number(value: Any, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise BadRequestData(f"{what} must be a number greater than 0, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
