"""NGSI-v2 subscriptions (Orion manual, "Subscriptions"): validation, the stored form, PATCH merging,
status and statistics, rendering.

The stored document is the subscription as Orion shows it (`description`, `subject`, `notification`,
`expires`, `status`, `throttling`) plus Toshi's bookkeeping: `api: "v2"` (so the NGSI-LD API never
lists it and the notifier compiles it with `toshi.ngsiv2.subscription_matching`), `tenant`,
`servicePath` (the Fiware-ServicePath of the creation request, default `/#`) and the statistics.
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any
from urllib.parse import urlsplit

from toshi.core.times import instant_key
from toshi.ngsiv2.dates import orion_expires
from toshi.ngsiv2.entity_selectors import selectors
from toshi.ngsiv2.errors import V2Error, bad_request, parse_error
from toshi.ngsiv2.mapping import FORBIDDEN
from toshi.ngsiv2.q import parse_v2_mq, parse_v2_q
from toshi.ngsiv2.request import ctx

log = logging.getLogger("toshi.ngsiv2.subscriptions")
API = "v2"
EXPRESSION_KEYS = {"q", "mq", "georel", "geometry", "coords"}
ENTITY_KEYS = {"id", "idPattern", "type", "typePattern"}
STATISTICS = ("timesSent", "lastNotification", "lastFailure", "lastFailureReason", "lastSuccess",
              "lastSuccessCode", "failsCounter")
FORMATS = ("normalized", "keyValues", "values", "simplifiedNormalized", "simplifiedKeyValues", "legacy")
ALTERATION_TYPES = ("entityUpdate", "entityChange", "entityCreate", "entityDelete")
DEFAULT_ALTERATIONS = ["entityCreate", "entityChange"]
STATUSES = ("active", "inactive", "oneshot")
MAX_HTTP_TIMEOUT = 1800000  # ms, the manual's maximum for http / httpCustom `timeout`
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT")
ID_RE = re.compile(r"[0-9a-f]{24}")
_counter = [int.from_bytes(os.urandom(3), "big")]
_machine = os.urandom(5)


def new_id() -> str:
    """A 24-hex id shaped like Orion's (MongoDB ObjectId: seconds, random, counter)."""
    _counter[0] = (_counter[0] + 1) % 0xFFFFFF
    return (int(time.time()).to_bytes(4, "big") + _machine + _counter[0].to_bytes(3, "big")).hex()


# -- validation -----------------------------------------------------------------------------------

def parse_subscription(data: Any, *, tenant: str, service_path: str) -> dict:
    """A POST /v2/subscriptions payload -> the stored document (400 BadRequest on any violation)."""
    if not isinstance(data, dict):
        raise parse_error()
    if not data:
        raise bad_request("empty payload")
    if "subject" not in data:
        raise bad_request("no subject for subscription specified")
    if "notification" not in data:
        raise bad_request("no notification for subscription specified")
    doc = {"id": new_id(), "api": API, "tenant": tenant, "servicePath": service_path}
    doc.update(_checked(data))
    if doc.get("expires") == "":  # an empty expires: permanent
        del doc["expires"]
    doc.setdefault("status", "active")
    return doc


def merge_update(existing: dict, data: Any) -> dict:
    """A PATCH payload merged into the stored document: each top-level field given replaces the old one."""
    if not isinstance(data, dict):
        raise parse_error()
    if not data:
        raise bad_request("empty payload")
    checked = _checked(data)
    merged = dict(existing)
    if checked.get("expires") == "":  # an empty expires: permanent again
        del checked["expires"]
        merged.pop("expires", None)
    if "notification" in checked:
        stats = {k: existing["notification"][k] for k in STATISTICS if k in existing.get("notification", {})}
        checked["notification"].update(stats)
    merged.update(checked)
    if checked.get("status") == "active":
        merged.get("notification", {}).pop("failsCounter", None)
    return merged


def _checked(data: dict) -> dict:
    # members Orion's parseSubscription does not look for (also `id` and the statistics) are ignored
    out: dict[str, Any] = {}
    if "description" in data:
        if not isinstance(data["description"], str):
            raise bad_request("description is not a string")
        if len(data["description"]) > 1024:
            raise bad_request("max description length exceeded")
        if _forbidden(data["description"]):
            raise bad_request("forbidden characters in description")
        out["description"] = data["description"]
    if "subject" in data:
        out["subject"] = _subject(data["subject"])
    if "notification" in data:
        out["notification"] = _notification(data["notification"])
    if "expires" in data:
        expires = data["expires"]
        if not isinstance(expires, str):
            raise bad_request("expires is not a string")
        if expires and instant_key(expires) is None:  # "": permanent (Orion's parser)
            raise bad_request("expires has an invalid format")
        out["expires"] = expires
    if "status" in data:
        if not isinstance(data["status"], str):
            raise bad_request("status is not a string")
        if data["status"] not in STATUSES:
            raise bad_request("status is not valid: it has to be either active, inactive or oneshot")
        out["status"] = data["status"]
    if "throttling" in data:
        throttling = data["throttling"]
        if isinstance(throttling, bool) or not isinstance(throttling, int):
            raise bad_request("throttling is not an int")
        if throttling < 0:
            raise bad_request("Negative Number not allowed in throttling")
        out["throttling"] = throttling
    return out


def _subject(subject: Any) -> dict:
    if not isinstance(subject, dict):
        raise bad_request("subject is not an object")
    if "entities" not in subject:
        raise bad_request("no subject entities specified")
    entities = selectors(subject["entities"])  # Orion's entity-vector parser
    if not entities:
        raise bad_request("subject entities is empty")
    out: dict[str, Any] = {"entities": entities}
    if "condition" in subject:
        if subject["condition"] == {}:  # the manual: "If present it must have a content"
            raise bad_request("condition is empty")
        out["condition"] = _condition(subject["condition"])
    return out


def _string_list(value: Any, field: str) -> list[str]:
    """A list of strings as Orion's parser reads one (its texts; no empty strings; repeats dropped)."""
    if not isinstance(value, list):
        raise bad_request(f"the field /{field}/ must be a JSON array")
    for item in value:
        if not isinstance(item, str):
            raise bad_request(f"only JSON Strings allowed in string vector /{field}/")
        if not item:
            raise bad_request(f"empty string found in string vector /{field}/")
    return list(dict.fromkeys(value))


def _condition(condition: Any) -> dict:
    if not isinstance(condition, dict):
        raise bad_request("condition is not an object")
    out: dict[str, Any] = {}
    if "attrs" in condition:
        out["attrs"] = _string_list(condition["attrs"], "attrs")
    if "alterationTypes" in condition:
        types = _string_list(condition["alterationTypes"], "alterationTypes")
        for item in types:
            if item not in ALTERATION_TYPES:
                raise bad_request(f"unknown subscription alterationType: {item}")
        out["alterationTypes"] = types
    if "notifyOnMetadataChange" in condition:
        if not isinstance(condition["notifyOnMetadataChange"], bool):
            raise bad_request("notifyOnMetadataChange is not a bool")
        out["notifyOnMetadataChange"] = condition["notifyOnMetadataChange"]
    if "expression" in condition:
        out["expression"] = _expression(condition["expression"])
    if "jexlExpression" in condition:  # evaluated at notification time (toshi.query.jexl)
        if not isinstance(condition["jexlExpression"], str):
            raise bad_request("Invalid JSON type for jexlExpression: it must be a string")
        out["jexlExpression"] = condition["jexlExpression"]
    return out


def _expression(expression: Any) -> dict:
    if not isinstance(expression, dict):
        raise bad_request("expression is not an object")
    if not expression:
        raise bad_request("expression is empty")  # Orion's parseExpression texts from here on
    expression = {k: v for k, v in expression.items() if k in EXPRESSION_KEYS}  # others: ignored
    for key, value in expression.items():
        if not isinstance(value, str):
            raise bad_request(f"{key} is not a string")
        if not value:
            raise bad_request(f"{key} is empty")
    if "q" in expression:
        parse_v2_q(expression["q"], ctx().expand_term)
    geo = [k for k in ("georel", "geometry", "coords") if expression.get(k)]
    if geo and geo_filter(expression) is None:
        raise V2Error(422, "NotSupported", "geo-queries in subscriptions are not supported yet by this broker")
    if "mq" in expression:
        parse_v2_mq(expression["mq"], ctx().expand_term)
    return dict(expression)


def geo_filter(expression: dict):
    """A predicate on entities for georel / geometry / coords (toshi.ngsiv2.geo), None without them."""
    try:
        from toshi.ngsiv2.geo import from_expression
    except ImportError:  # the v2 geo-query module is optional
        return None
    found = from_expression({k: expression.get(k) for k in ("georel", "geometry", "coords")})
    return None if found is None else found.matches


def _notification(notification: Any) -> dict:
    if not isinstance(notification, dict):
        raise bad_request("notification is not an object")
    channels = [k for k in ("http", "httpCustom", "mqtt", "mqttCustom") if k in notification]
    if not channels:
        raise bad_request("http, httpCustom, mqtt or mqttCustom is missing")
    if len(channels) > 1:
        raise bad_request("only one of http, httpCustom, mqtt or mqttCustom is allowed")
    out: dict[str, Any] = {}
    channel = channels[0]
    out[channel] = _endpoint(channel, notification[channel])
    if "attrs" in notification and "exceptAttrs" in notification:
        raise bad_request("http notification has attrs and exceptAttrs")
    for key in ("attrs", "exceptAttrs", "metadata"):
        if key in notification:
            out[key] = _string_list(notification[key], key)
    if "exceptAttrs" in out and not out["exceptAttrs"]:
        raise bad_request("http notification has exceptAttrs is empty")
    attrs_format = notification.get("attrsFormat", "normalized")
    if attrs_format not in FORMATS:
        raise bad_request("invalid attrsFormat, accepted values: " + ", ".join(FORMATS))
    out["attrsFormat"] = attrs_format
    for key in ("onlyChangedAttrs", "covered"):
        if key in notification:
            if not isinstance(notification[key], bool):
                raise bad_request(f"{key} is not a bool")
            out[key] = notification[key]
    if out.get("covered") and not out.get("attrs"):  # the manual's "Covered Subscriptions"
        raise bad_request("covered true cannot be used if notification attributes list is empty")
    if "maxFailsLimit" in notification:
        limit = notification["maxFailsLimit"]
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise bad_request("maxFailsLimit is not an int")
        if limit <= 0:
            raise bad_request("maxFailsLimit must be greater than zero")
        out["maxFailsLimit"] = limit
    return out


def _endpoint(channel: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise bad_request(f"{channel} notification is not an object")
    mqtt = channel.startswith("mqtt")
    custom = channel.endswith("Custom")
    allowed = {"url"}
    if mqtt:
        allowed |= {"topic", "qos", "user", "passwd", "retain"}
    else:
        allowed |= {"timeout"}
    if custom:
        allowed |= {"payload", "json", "ngsi"} | ({"headers", "qs", "method"} if not mqtt else set())
    value = {k: v for k, v in value.items() if k in allowed}  # Orion's parser ignores the others
    # Orion's getters name a member by a description: "<what> is missing" / "is not a string" / ...
    url_of = "url mqtt notification" if mqtt else f"url {channel} notification"
    url = value.get("url")
    if url is None:
        raise bad_request(f"{url_of} is missing")
    if not isinstance(url, str):
        raise bad_request(f"{url_of} is not a string")
    if mqtt:
        for key in ("user", "passwd"):
            if key in value and not isinstance(value[key], str):
                raise bad_request(f"{key} mqtt notification is not a string")
        if "qos" in value and (isinstance(value["qos"], bool) or not isinstance(value["qos"], int)):
            raise bad_request("qos is not an int")
        if "retain" in value and not isinstance(value["retain"], bool):
            raise bad_request("retain is not a bool")
        if "topic" not in value:
            raise bad_request("topic mqtt notification is missing")
        if not isinstance(value["topic"], str):
            raise bad_request("topic mqtt notification is not a string")
    if custom and "method" in value and not isinstance(value["method"], str):
        raise bad_request("method httpCustom notification is not a string")
    if custom and value.get("payload") is not None and not isinstance(value["payload"], str):
        raise bad_request("payload custom notification is not a string")
    for key in ("qs", "headers"):
        if custom and key in value:
            if not isinstance(value[key], dict):
                raise bad_request(f"notification httpCustom {key} is not an object")
            if not all(isinstance(v, str) for v in value[key].values()):
                raise bad_request(f"notification httpCustom {key} element is not a string")
    if "timeout" in value and (isinstance(value["timeout"], bool) or not isinstance(value["timeout"], int)):
        raise bad_request("timeout is not an int")
    _check_characters(channel, value)
    schemes = ("mqtt", "mqtts") if mqtt else ("http", "https")
    parts = urlsplit(url)
    if not mqtt and parts.scheme in ("mqtt", "mqtts"):  # Orion's parser texts for the wrong channel
        raise bad_request("mqtt URL cannot be used in http notifications")
    if mqtt and parts.scheme in ("http", "https"):
        raise bad_request("http or https URL cannot be used in mqtt notifications")
    if mqtt and parts.path not in ("", "/"):
        raise bad_request("path cannot be used in mqtt url, use topic instead")
    if "${" not in url and (parts.scheme not in schemes or not parts.hostname):
        raise bad_request("invalid mqtt /url/" if mqtt else "invalid custom /url/" if custom
                          else "Invalid URL parsing notification url")
    out = dict(value)
    if mqtt:
        if ("user" in value) != ("passwd" in value):
            raise bad_request("you must use user and passwd fields simultaneously")
        topic = value.get("topic")
        if topic is None:
            raise bad_request("mandatory mqtt field /topic/")
        if not isinstance(topic, str):
            raise bad_request(f"Invalid JSON type for /{channel}/ topic: it must be a string")
        if not topic:
            raise bad_request("empty mqtt field /topic/")
        if "+" in topic or "#" in topic:
            raise bad_request("+ and # are not allowed in mqtt field /topic/")
        qos = value.get("qos", 0)
        if qos not in (0, 1, 2) or isinstance(qos, bool):
            raise bad_request("mqtt qos field must be an integer in the 0 to 2 range")
    if custom:
        bodies = [k for k in ("payload", "json", "ngsi") if k in value]
        if len(bodies) > 1:
            raise bad_request("only one of payload, json or ngsi fields accepted at the same time in httpCustom or "
                              "mqttCustom")
        if "payload" in value and value["payload"] is not None and not isinstance(value["payload"], str):
            raise bad_request(f"Invalid JSON type for /{channel}/ payload: it must be a string")
        if "json" in value and not isinstance(value["json"], (dict, list)):
            raise bad_request("json fields in httpCustom or mqttCustom must be object or array")
        if "ngsi" in value:
            ngsi = value["ngsi"]
            if not isinstance(ngsi, dict):
                raise bad_request(f"Invalid JSON type for /{channel}/ ngsi: it must be an object")
            for key, attr in ngsi.items():
                if key in ("id", "type"):
                    if not isinstance(attr, str):
                        raise bad_request(f"Invalid JSON type for entity {key}")
                    continue
                if not isinstance(attr, dict):
                    raise bad_request(f"Invalid JSON type for /{channel}/ ngsi attribute {key}")
                _check_eval_priority(attr.get("metadata"))
        for key in ("headers", "qs"):
            if key in value:
                items = value[key]
                if not isinstance(items, dict) or not all(isinstance(v, str) for v in items.values()):
                    raise bad_request(f"Invalid JSON type for /{channel}/ {key}: it must be an object of strings")
                if not items:  # the manual: "Must not be empty"
                    raise bad_request(f"notification httpCustom {key} is empty")
        if "method" in value and value["method"] not in METHODS:
            raise bad_request("unknown method httpCustom notification")
    if "timeout" in value:  # milliseconds; 0: the server's default (the manual's `http.timeout`)
        timeout = value["timeout"]
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not 0 <= timeout <= MAX_HTTP_TIMEOUT:
            raise bad_request(f"timeout field must be an integer between 0 and {MAX_HTTP_TIMEOUT}")
    return out


def _forbidden(text: Any, allowed: str = "") -> bool:
    return isinstance(text, str) and any(c in FORBIDDEN and c not in allowed for c in text)


def _check_characters(channel: str, value: dict) -> None:
    """The manual's "General syntax restrictions" on the notification fields (Orion's texts): no
    `<>"'=;()` in the url, text payload, qs, header names, MQTT topic and user; header values may hold
    quotes (for JEXL string literals); `json` and `ngsi` are not restricted. URL-encode what a template
    needs (`%3D` for `=`): payloads and header values are decoded at notification time."""
    mqtt = channel.startswith("mqtt")
    if _forbidden(value.get("url")):
        raise bad_request("forbidden characters in mqtt field /url/" if mqtt
                          else "forbidden characters in custom /url/" if channel == "httpCustom"
                          else "forbidden characters in http field /url/")
    if _forbidden(value.get("payload")):
        raise bad_request("forbidden characters in custom /payload/")
    if mqtt and _forbidden(value.get("topic")):
        raise bad_request("forbidden characters in mqtt field /topic/")
    if mqtt and _forbidden(value.get("user")):
        raise bad_request("forbidden characters in mqtt /user/")
    for field, quotes in (("qs", ""), ("headers", "'\"")):
        items = value.get(field)
        if isinstance(items, dict) and any(_forbidden(k) or _forbidden(v, quotes) for k, v in items.items()):
            raise bad_request(f"forbidden characters in custom notification httpCustom {field}")


def _check_eval_priority(metadata: Any) -> None:
    """An `ngsi` attribute takes one metadata, `evalPriority`: a number from 1 to 100000 (the manual's
    "Evaluation priority"; Orion refuses the rest, the texts are Toshi's)."""
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise bad_request("Invalid JSON type for metadata: it must be an object")
    for name, item in metadata.items():
        if name != "evalPriority":
            raise bad_request("only evalPriority metadata is allowed in ngsi payload in custom notifications")
        value = item.get("value") if isinstance(item, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad_request("evalPriority metadata must be a number")
        if value < 1:
            raise bad_request("evalPriority metadata minimum priority is 1")
        if value > 100000:
            raise bad_request("evalPriority metadata maximum priority is 100000")


# -- status and statistics ------------------------------------------------------------------------

def status(doc: dict, now: str) -> str:
    """`expired` once `expires` has passed, else the stored status (active, inactive, oneshot)."""
    expires = doc.get("expires")
    if expires and (instant_key(expires) or "") <= (instant_key(now) or ""):
        return "expired"
    return doc.get("status", "active")


# what record_delivery keeps under "notification"
STATISTICS = ("timesSent", "lastNotification", "lastSuccess", "lastSuccessCode", "lastFailure", "lastFailureReason",
              "failsCounter")


def record_delivery(doc: dict, ok: bool, now: str, error: str | None, code: int | None) -> None:
    """One delivery attempt in the statistics. The manual: once `failsCounter` is greater than
    `maxFailsLimit`, the subscription passes to `inactive`."""
    notification = doc["notification"]
    notification["timesSent"] = notification.get("timesSent", 0) + 1
    notification["lastNotification"] = now
    if ok:
        notification["lastSuccess"] = now
        if code is not None:
            notification["lastSuccessCode"] = code
        notification.pop("failsCounter", None)
        return
    notification["lastFailure"] = now
    if error and not any(channel in notification for channel in ("mqtt", "mqttCustom")):
        notification["lastFailureReason"] = error  # the manual: not included in MQTT subscriptions
    notification["failsCounter"] = notification.get("failsCounter", 0) + 1
    limit = notification.get("maxFailsLimit")
    if limit and notification["failsCounter"] > limit:
        if doc.get("status") != "inactive":  # the manual's WARN trace, once, when it happens
            log.warning("Subscription %s automatically disabled due to failsCounter (%d) overpasses maxFailsLimit (%d)",
                        doc.get("id"), notification["failsCounter"], limit)
        doc["status"] = "inactive"


# -- rendering ------------------------------------------------------------------------------------

def _rendered_mqtt(spec: dict) -> dict:
    """As Orion renders an MQTT channel: `qos` and `retain` always (0, false by default), `passwd` never
    (the manual: "always obfuscated when retrieving subscription information")."""
    out = {**spec, "qos": spec.get("qos", 0), "retain": spec.get("retain", False)}
    if "passwd" in out:
        out["passwd"] = "*****"
    return out


def _rendered_channel(spec: dict) -> dict:
    """As Orion's HttpInfo / MqttInfo render a channel: `timeout` only when greater than 0, a text
    `payload` only when not empty (`null` is kept: no body)."""
    out = dict(spec)
    if not out.get("timeout"):
        out.pop("timeout", None)
    if out.get("payload") == "":
        del out["payload"]
    return out


def render(doc: dict, now: str) -> dict:
    out: dict[str, Any] = {"id": doc["id"]}
    if doc.get("description"):  # Orion renders a description only when it is not empty
        out["description"] = doc["description"]
    subject = {"entities": doc["subject"]["entities"]}
    condition = dict(doc["subject"].get("condition") or {})
    condition.setdefault("attrs", [])
    condition.setdefault("notifyOnMetadataChange", True)  # Orion renders it always (default true)
    if not condition.get("alterationTypes", True):  # Orion's Condition::toJson leaves an empty list out
        del condition["alterationTypes"]
    subject["condition"] = condition
    out["subject"] = subject
    notification = dict(doc["notification"])
    if "exceptAttrs" not in notification:
        notification.setdefault("attrs", [])
    notification.setdefault("onlyChangedAttrs", False)
    notification.setdefault("covered", False)
    for key in ("lastNotification", "lastSuccess", "lastFailure"):  # Orion keeps whole seconds of them
        if key in notification:
            notification[key] = orion_expires(notification[key])
    if notification.get("metadata") == []:  # Orion's Notification::toJson: only when not empty
        del notification["metadata"]
    for channel in ("http", "httpCustom", "mqtt", "mqttCustom"):
        if channel in notification:
            notification[channel] = _rendered_channel(notification[channel])
    for channel in ("mqtt", "mqttCustom"):
        if channel in notification:
            notification[channel] = _rendered_mqtt(notification[channel])
    out["notification"] = notification
    if "expires" in doc:
        out["expires"] = orion_expires(doc["expires"])
    out["status"] = status(doc, now)
    if doc.get("throttling"):  # Orion renders it only when it is greater than 0
        out["throttling"] = doc["throttling"]
    return out
