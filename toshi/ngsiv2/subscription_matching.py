"""`CompiledV2Subscription`: an NGSI-v2 subscription as the notifier sees it (toshi.notify's
CompiledSubscription; toshi.ngsiv2.subscription_kind compiles them), with Orion's rules.

* Alteration types: creating an entity is `entityCreate`, deleting it `entityDelete`; an update is
  `entityUpdate`, and also `entityChange` when an attribute's type, value or metadata really changed
  (system times aside). The default is `entityCreate` + `entityChange`.
* `condition.attrs`: only changes of these attributes count (for a creation: the entity has one of
  them); deletions of entities are not filtered by it. Empty: any attribute.
* `condition.expression.q`, the entity selectors and the subscription's service path look at the new
  state (the old one for a deletion).
* The notified entity is rendered as v2 with `attrs` / `exceptAttrs`, `onlyChangedAttrs`, `covered`,
  `metadata` and `attrsFormat`, and the notification-only builtins (`alterationType`, `actionType`,
  `previousValue`: toshi.ngsiv2.notification_builtins); httpCustom / mqttCustom substitute `${...}` macros,
  each a JEXL expression (toshi.query.jexl) over the entity's context (`jexl_context`), and
  `condition.jexlExpression` must evaluate to true.
* Each HTTP notification carries `Fiware-Correlator: <correlator>; cbnotif=<n>`: the correlator of the v2
  request that made the change (kept on the entity, toshi.ngsiv2.edits.correlated; a new one for changes
  without one: deletions, NGSI-LD writes) and n, the notification's place among those of the change.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

import orjson

from toshi.core.diff import attribute_changes
from toshi.core.times import now_iso
from toshi.ngsiv2 import mapping
from toshi.ngsiv2 import subscription_model as model
from toshi.ngsiv2.edits import correlator_of, is_forced
from toshi.ngsiv2.headers import path_matches
from toshi.ngsiv2.notification_builtins import (
    ACTION_TYPE,
    ALTERATION_TYPE,
    PREVIOUS_VALUE,
    alteration_attribute,
    alteration_type,
    with_change_metadata,
)
from toshi.ngsiv2.q import parse_v2_mq, parse_v2_q
from toshi.ngsiv2.request import ctx as v2_ctx
from toshi.ngsiv2.version import user_agent
from toshi.query.jexl import as_json, evaluate_or_none
from toshi.query.planner import EntityQuery
from toshi.query.regex import compile_pattern

TIMES = ("createdAt", "modifiedAt")
METADATA_KEYS = ("sub", "unitCode", "observedAt", "v2ObservedAs")
KEPT_WITH_ONLY_CHANGED = ("alterationType", "dateCreated", "dateModified")  # builtins onlyChangedAttrs keeps
MISSING_ATTRIBUTE = {"type": "None", "value": None, "metadata": {}}  # `covered`: a listed attribute it lacks
FIXED_HEADERS = ("fiware-correlator", "ngsiv2-attrsformat")  # httpCustom.headers cannot change them
CONTEXT_METADATA = ["*", "dateCreated", "dateModified"]  # the `metadata` of a JEXL context (+ change builtins)
ATTEMPTS = 1  # Orion sends each notification once: no answer is a failure (failsCounter), never retried
EVAL_PRIORITY = "evalPriority"
DEFAULT_PRIORITY = 100000


class _Selector:
    def __init__(self, item: dict):
        self.id = item.get("id")
        self.id_pattern = compile_pattern(item["idPattern"]) if "idPattern" in item else None
        self.type = item.get("type")
        self.type_pattern = compile_pattern(item["typePattern"]) if "typePattern" in item else None

    def matches(self, entity: dict, type_name: str) -> bool:
        if self.id is not None and entity["id"] != self.id:
            return False
        if self.id_pattern is not None and not self.id_pattern.search(entity["id"]):
            return False
        if self.type is not None and type_name != self.type:
            return False
        return self.type_pattern is None or bool(self.type_pattern.search(type_name))


class CompiledV2Subscription:
    def __init__(self, doc: dict, ctx=None, *, tenant: str | None = None):
        self.doc = doc
        self.ctx = ctx or v2_ctx()  # v2 names are core-context terms
        self.hosted_context_url: str | None = None
        self.since_seq = 0
        self.statistics_dirty = False
        self.deactivated = False  # by the notifier (oneshot sent, maxFailsLimit reached), not yet stored
        self.id: str = doc["id"]
        self.tenant: str = doc.get("tenant", "") if tenant is None else tenant
        self.names = v2_ctx()
        subject = doc["subject"]
        self.selectors = [_Selector(item) for item in subject.get("entities", [])]
        condition = subject.get("condition") or {}
        self.condition_attrs = frozenset(self.names.expand_term(a) for a in condition.get("attrs") or []) or None
        self.alterations = frozenset(condition.get("alterationTypes") or model.DEFAULT_ALTERATIONS)
        self.metadata_counts = condition.get("notifyOnMetadataChange", True)
        expression = condition.get("expression") or {}
        self.q = parse_v2_q(expression["q"], self.names.expand_term) if "q" in expression else None
        self.mq = parse_v2_mq(expression["mq"], self.names.expand_term) if "mq" in expression else None
        self.geo = model.geo_filter(expression) if "georel" in expression else None
        self.jexl_condition: str | None = condition.get("jexlExpression")
        self.service_path = doc.get("servicePath", "/#")
        self.params = doc["notification"]  # its "notification" member
        self.entity_ids = None  # checked against every change
        self.throttling: float | None = doc.get("throttling")
        self.time_interval = None  # v2 has no periodic notifications

    @property
    def context_url(self) -> str | None:
        return None  # v2 notifications carry no @context

    # -- state ----------------------------------------------------------------------------------

    def is_active(self, now: str | None = None) -> bool:
        return model.status(self.doc, now or now_iso()) in ("active", "oneshot")

    def record_delivery(self, ok: bool, now: str, error: str | None = None, code: int | None = None) -> None:
        """Count a delivery attempt; `code`, its HTTP status, becomes lastSuccessCode."""
        model.record_delivery(self.doc, ok, now, error, code)
        self.statistics_dirty = True
        self.deactivated = self.deactivated or self.doc.get("status") == "inactive"

    def statistics_onto(self, stored: dict) -> dict:
        """The stored subscription with this one's delivery statistics and, when delivery made it
        inactive, that status (and nothing else of it: the stored one may have been changed since,
        through another process)."""
        notification = stored.setdefault("notification", {})
        for key in model.STATISTICS:
            if key in self.doc["notification"]:
                notification[key] = self.doc["notification"][key]
            else:
                notification.pop(key, None)
        if self.deactivated:
            stored["status"] = "inactive"
            self.deactivated = False
        return stored

    # -- selection ------------------------------------------------------------------------------

    def selects(self, entity: dict) -> bool:
        type_name = mapping.entity_type(entity, self.names)
        if self.selectors and not any(s.matches(entity, type_name) for s in self.selectors):
            return False
        if self.service_path != "/#" and not path_matches(self.service_path, entity.get("scope") or []):
            return False
        if self.q is not None and not self.q.matches(entity):
            return False
        if self.mq is not None and not self.mq.matches(entity):
            return False
        return self.geo is None or bool(self.geo(entity))

    def entity_query(self, limit: int) -> EntityQuery:
        query = EntityQuery(limit=limit)
        query.extra.append(self.selects)
        return query

    def _changed_attrs(self, before: dict, after: dict) -> tuple[set[str], set[str]]:
        """(attributes the update wrote, attributes whose content really changed); with
        `options=forcedUpdate` every attribute written counts as changed."""
        touched, changed = set(), set()
        forced = is_forced(after)
        for change in attribute_changes(before, after):
            touched.add(change.attr)
            if forced or change.before is None or change.after is None or \
                    _content(change.before, self.metadata_counts) != _content(change.after, self.metadata_counts):
                changed.add(change.attr)
        return touched, changed

    def _fired_attrs(self, before: dict | None, after: dict | None) -> set[str] | None:
        """The attributes this change fires the subscription for; None when it does not fire."""
        if before is None and after is not None:
            if "entityCreate" not in self.alterations:
                return None
            names = set(after["attrs"])
        elif after is None and before is not None:
            return set(before["attrs"]) if "entityDelete" in self.alterations else None
        elif before is not None and after is not None:
            touched, changed = self._changed_attrs(before, after)
            if "entityUpdate" in self.alterations:
                names = touched
            elif "entityChange" in self.alterations:
                names = changed
            else:
                return None
            if not names:
                return None
        else:
            return None
        if self.condition_attrs is not None and not names & self.condition_attrs:
            return None
        return names

    def matches(self, tenant: str, before: dict | None, after: dict | None) -> bool:
        state = after if after is not None else before
        if state is None or tenant != self.tenant or not self.is_active():
            return False
        if not self.selects(state) or self._fired_attrs(before, after) is None:
            return False
        return self.jexl_condition is None or self._jexl_holds(before, after)

    def _jexl_holds(self, before: dict | None, after: dict | None) -> bool:
        """`condition.jexlExpression`: the notification goes only when it evaluates to `true`."""
        state = after if after is not None else before
        scopes = state.get("scope") or []
        context = jexl_context(self._context_values(state, before, after), self.tenant,
                               scopes[0] if scopes else "/")
        return evaluate_or_none(self.jexl_condition, context) is True

    # -- notifications --------------------------------------------------------------------------

    def _written(self, before: dict | None, after: dict | None) -> set[str]:
        """The attributes the change wrote (all of a created entity's)."""
        if before is None or after is None:
            return set(after["attrs"]) if after is not None else set()
        return self._changed_attrs(before, after)[0]

    def _alteration(self, before: dict | None, after: dict | None) -> str:
        changed = self._changed_attrs(before, after)[1] if before is not None and after is not None else set()
        return alteration_type(before, after, changed)

    def notification_entity(self, before: dict | None, after: dict | None, *,
                            deleted_at: str | None = None) -> dict:
        """What one notified entity needs: its v2 rendering, all its values (for macros), its service
        path, the correlator of the change."""
        state = after if after is not None else before
        metadata = self.params.get("metadata") or None
        user = mapping.selected_attrs(state, self.names, None, metadata)
        values = {"id": state["id"], "type": mapping.entity_type(state, self.names)}
        values.update((n, a["value"]) for n, a in user)
        pairs = self._notified_attrs(state, user, before, after)
        if metadata:
            pairs = with_change_metadata(pairs, before, after, self._written(before, after), metadata, self.names)
        entity = {"id": values["id"], "type": values["type"], **dict(pairs)}
        scopes = state.get("scope") or []
        return {"entity": entity, "values": values, "servicePath": scopes[0] if scopes else "/",
                "correlator": correlator_of(after),
                "metadata": self._context_values(state, before, after)["metadata"] if self._custom() else {}}

    def _context_values(self, state: dict, before: dict | None, after: dict | None) -> dict:
        """What a JEXL context takes from the entity: id, type, the attributes' values and, under
        `metadata`, each attribute's metadata values (user metadata, dateCreated / dateModified and
        the change's actionType / previousValue: the manual's "Metadata support")."""
        pairs = mapping.selected_attrs(state, self.names, None, CONTEXT_METADATA)
        pairs = with_change_metadata(pairs, before, after, self._written(before, after),
                                     [ACTION_TYPE, PREVIOUS_VALUE], self.names)
        values: dict[str, Any] = {"id": state["id"], "type": mapping.entity_type(state, self.names)}
        values.update((n, a["value"]) for n, a in pairs)
        values["metadata"] = {n: {m: md.get("value") for m, md in (a.get("metadata") or {}).items()}
                              for n, a in pairs}
        return values

    def _notified_attrs(self, state: dict, user: list[tuple[str, dict]], before: dict | None,
                        after: dict | None) -> list[tuple[str, dict]]:
        """The (name, attribute) pairs to notify: `attrs` (or `exceptAttrs`), then `onlyChangedAttrs`."""
        params = self.params
        pairs = user
        if params.get("attrs"):
            pairs = self._listed(state, user, params["attrs"], before, after)
        elif params.get("exceptAttrs"):
            pairs = [(n, a) for n, a in user if n not in params["exceptAttrs"]]
        if params.get("onlyChangedAttrs") and before is not None and after is not None:
            changed = {self.names.compact_iri(iri) for iri in self._fired_attrs(before, after) or set()}
            pairs = [(n, a) for n, a in pairs if n in changed or n in KEPT_WITH_ONLY_CHANGED]
        return pairs

    def _listed(self, state: dict, user: list[tuple[str, dict]], wanted: list[str], before: dict | None,
                after: dict | None) -> list[tuple[str, dict]]:
        """`notification.attrs` in its order: `*` for every user attribute, builtins by name, `covered`."""
        by_name = dict(user)
        builtins = [n for n in wanted if n not in by_name and n not in ("*", ALTERATION_TYPE)]
        by_name.update(mapping.selected_attrs(state, self.names, builtins, self.params.get("metadata")))
        if ALTERATION_TYPE in wanted and ALTERATION_TYPE not in by_name:
            by_name[ALTERATION_TYPE] = alteration_attribute(self._alteration(before, after))
        names = mapping.listed_names(wanted, [name for name, _ in user])
        if self.params.get("covered"):
            return [(n, by_name.get(n, dict(MISSING_ATTRIBUTE))) for n in names]
        return [(n, by_name[n]) for n in names if n in by_name]

    def _custom(self) -> tuple[str, dict] | None:
        for channel in ("httpCustom", "mqttCustom"):
            if channel in self.params:
                return channel, self.params[channel]
        return None

    def notification_body(self, entities: list[dict], *, notification_id: str, now: str) -> Any:
        """The JSON body ({"subscriptionId", "data"}, or the entity alone for the simplified formats),
        or the custom payload (a string for `payload`)."""
        if self.doc.get("status") == "oneshot":  # one notification, then inactive (as Orion)
            self.doc["status"] = "inactive"
            self.statistics_dirty = self.deactivated = True
        custom = self._custom()
        first = entities[0] if entities else {"entity": {}, "values": {}, "servicePath": "/"}
        rendered = [item["entity"] for item in entities]
        if custom is not None:
            spec = custom[1]
            if _text_payload(spec):
                if spec["payload"] is None:
                    return ""
                return unquote(substitute(spec["payload"], _item_context(first, self.tenant), "null"))
            if "json" in spec:
                return substitute_json(spec["json"], _item_context(first, self.tenant))
            if "ngsi" in spec:
                rendered = [self._patched(item["entity"], item["values"], spec["ngsi"],
                                          _item_context(item, self.tenant)) for item in entities]
        form = self.params.get("attrsFormat", "normalized")
        if custom is not None and "ngsi" in custom[1] and not form.startswith("simplified"):
            form = "normalized"  # Orion renders a patched entity normalized, whatever attrsFormat says
        if form == "legacy":
            return _legacy(self.id, rendered)
        data = [_formatted(e, form) for e in rendered]
        if form.startswith("simplified"):
            return data[0] if data else {}
        return {"subscriptionId": self.id, "data": data}

    def notification(self, tenant: str, entities: list[dict], *, notification_id: str, now: str,
                     number: int = 1) -> tuple[dict, Any]:
        """Where and how to send the notification of `entities` (toshi/notify/kinds.py), and its body."""
        body = self.notification_body(entities, notification_id=notification_id, now=now)
        return self._endpoint(tenant, entities, number), body

    def _endpoint(self, tenant: str, entities: list[dict], number: int) -> dict:
        """URL (with qs), method, headers, timeout; MQTT topic and QoS. `number`: the notification's place among
        those of its change (`cbnotif` of the correlator)."""
        first = entities[0] if entities else {"values": {}, "servicePath": "/"}
        macros = _item_context(first, tenant)
        custom = self._custom()
        spec = custom[1] if custom else next(self.params[c] for c in ("http", "mqtt")
                                             if c in self.params)
        url = substitute(spec["url"], macros) if custom else spec["url"]
        if "topic" in spec:
            parts = urlsplit(url)
            if "user" in spec:  # quoted: a password may hold '@', ':' or '/'
                auth = quote(spec["user"], safe="") + ":" + quote(spec["passwd"], safe="")
                parts = parts._replace(netloc=f"{auth}@{parts.netloc}")
            topic = substitute(spec["topic"], macros) if custom else spec["topic"]
            return {"uri": urlunsplit(parts), "topic": topic, "qos": spec.get("qos", 0),
                    "retain": spec.get("retain", False),
                    "raw": custom is not None and _text_payload(spec), "attempts": ATTEMPTS}
        raw = bool(custom) and _text_payload(spec)
        empty = raw and spec["payload"] is None
        if custom:
            qs = {substitute(k, macros): substitute(v, macros) for k, v in (spec.get("qs") or {}).items()}
            qs = {k: v for k, v in qs.items() if k and v}
            if qs:
                url += ("&" if "?" in url else "?") + urlencode(qs)
        headers = orion_headers(
            url, tenant=tenant, service_path=first["servicePath"],
            content_type=None if empty else "text/plain" if raw else "application/json",
            correlator=f"{first.get('correlator') or uuid.uuid4()}; cbnotif={number}",
            attrs_format=self._attrs_format_header(spec if custom else None),
            custom={substitute(k, macros): unquote(substitute(v, macros))
                    for k, v in (spec.get("headers") or {}).items()} if custom else {})
        endpoint = {"uri": url, "method": spec.get("method", "POST") if custom else "POST",
                    "headers": headers, "raw": raw, "exact_headers": True,
                    "any_status_delivers": True,  # Orion: any HTTP answer is a sent notification (lastSuccessCode)
                    "attempts": ATTEMPTS}
        if spec.get("timeout"):  # milliseconds; 0 or absent: the server's default (Orion's -httpTimeout)
            endpoint["timeout"] = spec["timeout"] / 1000
        return endpoint

    def _patched(self, entity: dict, values: dict, ngsi: dict, context: dict) -> dict:
        """httpCustom.ngsi: the notified entity patched (update or append) with the given id, type and
        attributes, as Orion does it: attributes are evaluated in the order of their `evalPriority`
        metadata (1 first, 100000 when absent; ties in the template's order), each result joining the
        context of the later ones unless the entity has an attribute of that name; the patched
        attributes come first; `notification.attrs` / `exceptAttrs` then filter them, and a listed
        `notification.attrs` without `*` orders them; `id` and `type` are always text (the entity's own
        when their macro gives null)."""
        patched: dict[str, dict] = {}
        for name, attr in sorted(((n, a) for n, a in ngsi.items() if n not in ("id", "type")),
                                 key=lambda pair: _priority(pair[1])):
            value = substitute_json(attr.get("value"), context)
            if name not in values:
                context[name] = value
            if self._keeps(name):
                metadata = {n: {"type": m.get("type") or mapping.infer_type(m.get("value")), "value": m.get("value")}
                            for n, m in (attr.get("metadata") or {}).items()}  # evalPriority only (validated)
                patched[name] = {"type": attr.get("type") or mapping.infer_type(value), "value": value,
                                 "metadata": metadata}
        out = {"id": _ngsi_text(ngsi.get("id"), context, entity.get("id")),
               "type": _ngsi_text(ngsi.get("type"), context, entity.get("type")), **patched}
        out.update((k, v) for k, v in entity.items() if k not in out)
        wanted = self.params.get("attrs") or ["*"]
        if "*" in wanted:
            return out
        return {"id": out["id"], "type": out["type"], **{name: out[name] for name in wanted if name in out}}

    def _keeps(self, name: str) -> bool:
        """Whether `notification.attrs` / `exceptAttrs` let an attribute of that name through."""
        if self.params.get("attrs"):
            return name in self.params["attrs"] or "*" in self.params["attrs"]
        return name not in (self.params.get("exceptAttrs") or [])

    def _attrs_format_header(self, custom: dict | None) -> str | None:
        """`Ngsiv2-AttrsFormat`: `custom` for a text or JSON template, none for `legacy` (Orion sends it
        only with NGSIv2 bodies), else the subscription's attrsFormat."""
        if custom is not None and (_text_payload(custom) or "json" in custom):
            return "custom"
        form = self.params.get("attrsFormat", "normalized")
        return None if form == "legacy" else form


def _text_payload(custom: dict) -> bool:
    """Whether a custom notification sends `payload` as text: `null` is an empty body, `""` (like no
    payload at all) the normal NGSIv2 body."""
    return "payload" in custom and custom["payload"] != ""


def orion_headers(url: str, *, tenant: str, service_path: str, content_type: str | None, correlator: str,
                  attrs_format: str | None, custom: dict[str, str]) -> dict[str, str]:
    """The headers of an HTTP notification as Orion sends them, in its order: User-Agent, Host,
    Fiware-Service (not for the default tenant), Fiware-ServicePath, Accept, Content-Type (with
    `; charset=utf-8` for JSON and text), Fiware-Correlator, Ngsiv2-AttrsFormat (Content-Length is the
    sender's). httpCustom.headers replace the default of the same name (any case) or are added after
    them; an empty value removes the header; Fiware-Correlator and Ngsiv2-AttrsFormat cannot be changed."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
    headers = {"User-Agent": user_agent(), "Host": f"{host}:{port}"}
    if tenant:
        headers["Fiware-Service"] = tenant
    headers["Fiware-ServicePath"] = service_path or "/"
    headers["Accept"] = "application/json"
    if content_type is not None:
        headers["Content-Type"] = f"{content_type}; charset=utf-8"
    by_lower = {name.lower(): name for name in headers}
    for name, value in custom.items():
        lower = name.lower()
        if not name or lower in FIXED_HEADERS or lower == "content-length":
            continue
        name = by_lower.get(lower, name)
        if value:
            headers[name] = value
        else:
            headers.pop(name, None)
    headers["Fiware-Correlator"] = correlator
    if attrs_format is not None:
        headers["Ngsiv2-AttrsFormat"] = attrs_format
    return headers


def _content(inst: dict, with_metadata: bool) -> dict:
    """An instance without its system times (and without its metadata unless they count)."""
    out = {k: v for k, v in inst.items() if k not in TIMES}
    if not with_metadata:
        for key in METADATA_KEYS:
            out.pop(key, None)
    elif "sub" in out:
        out["sub"] = {name: _content(sub, True) for name, sub in out["sub"].items()}
    return out


def _formatted(entity: dict, form: str) -> Any:
    if form in ("keyValues", "simplifiedKeyValues"):
        return {k: (v if k in ("id", "type") else v["value"]) for k, v in entity.items()}
    if form == "values":
        return [v["value"] for k, v in entity.items() if k not in ("id", "type")]
    return entity


def _legacy(subscription_id: str, entities: list[dict]) -> dict:
    """attrsFormat `legacy`: Orion's NGSIv1 notification (`contextResponses` of `contextElement`s)."""
    responses = []
    for entity in entities:
        attributes = []
        for name, attr in entity.items():
            if name in ("id", "type"):
                continue
            item = {"name": name, "type": attr.get("type"), "value": attr.get("value")}
            metadata = attr.get("metadata") or {}
            if metadata:
                item["metadatas"] = [{"name": n, "type": m.get("type"), "value": m.get("value")}
                                     for n, m in metadata.items()]
            attributes.append(item)
        element = {"attributes": attributes, "type": entity.get("type"), "isPattern": "false",
                   "id": entity.get("id")}
        responses.append({"contextElement": element, "statusCode": {"code": "200", "reasonPhrase": "OK"}})
    return {"subscriptionId": subscription_id, "originator": "localhost", "contextResponses": responses}


def jexl_context(values: dict, tenant: str, service_path: str) -> dict:
    """The context of the JEXL expressions of one notified entity (the manual's "Macro substitution"
    and "Metadata support"): id, type, service, servicePath, authToken (always empty: Toshi keeps no
    X-Auth-Token), every attribute's value (an attribute named like one of those wins) and `metadata`
    (attribute name -> metadata name -> value), which wins over an attribute named `metadata`."""
    context = {"id": values.get("id"), "type": values.get("type"), "service": tenant,
               "servicePath": service_path, "authToken": ""}
    context.update((k, v) for k, v in values.items() if k not in ("id", "type", "metadata"))
    context["metadata"] = values.get("metadata") or {}
    return context


def _item_context(item: dict, tenant: str) -> dict:
    return jexl_context({**item.get("values", {}), "metadata": item.get("metadata") or {}}, tenant,
                        item.get("servicePath") or "/")


def _priority(attr: Any) -> float:
    """An `ngsi` attribute's `evalPriority` metadata (1 ... 100000, the default)."""
    metadata = attr.get("metadata") if isinstance(attr, dict) else None
    priority = (metadata or {}).get(EVAL_PRIORITY)
    value = priority.get("value") if isinstance(priority, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return DEFAULT_PRIORITY
    return value


def _ngsi_text(template: Any, context: dict, default: Any) -> Any:
    """`ngsi.id` / `ngsi.type`: the macro's result as text; the entity's own when absent or null."""
    if not isinstance(template, str) or not template:
        return default
    if _whole_macro(template):
        value = evaluate_or_none(template[2:-1], context)
        return default if value is None else _as_text(value)
    return substitute(template, context, "null")


def _whole_macro(text: str) -> bool:
    """One macro covering the whole string: it starts with the only `${` and ends with `}` (Orion's
    test; the expression may then hold `}`, as object literals do)."""
    return text.rfind("${") == 0 and text.endswith("}")


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(as_json(value)).decode()


def substitute(text: str, context: dict, missing: str = "") -> str:
    """Every `${expression}` (up to the first `}`) replaced by its JEXL value over `context`: strings as
    they are, other values as JSON; `missing` when the expression fails or is null (Orion: "" in url,
    qs, headers and topic, "null" in text payloads and inside JSON strings). A `${` without a closing
    `}` leaves the text as it is."""
    out, i = [], 0
    while True:
        start = text.find("${", i)
        end = text.find("}", start + 2) if start >= 0 else -1
        if start < 0 or end < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:start])
        value = evaluate_or_none(text[start + 2:end], context)
        out.append(missing if value is None else _as_text(value))
        i = end + 1


def substitute_json(value: Any, context: dict) -> Any:
    """Macros in every string of a JSON template (`json`, `ngsi` values): a string that is one macro
    from its start to its end becomes the JSON value of the expression (null when it fails); macros
    inside a longer string are replaced as text (`null` when they fail). Keys are left as they are."""
    if isinstance(value, str):
        if _whole_macro(value):
            return evaluate_or_none(value[2:-1], context)
        return substitute(value, context, "null")
    if isinstance(value, list):
        return [substitute_json(v, context) for v in value]
    if isinstance(value, dict):
        return {k: substitute_json(v, context) for k, v in value.items()}
    return value
