"""Whether an entity change fires a subscription (ETSI GS CIM 009 v1.8, clauses 5.8.6 and 5.11).

A `CompiledSubscription` is a stored subscription (toshi.subscriptions.model) with its patterns,
type selections and queries parsed once, plus the ActiveContext it is read with (its `jsonldContext`):
the notifier keeps one per subscription and asks it about every change (the interface is
toshi.notify's CompiledSubscription; toshi.subscriptions.kind compiles them).

Triggers: creating an entity fires `entityCreated` and `attributeCreated` (its attributes are created
with it, so the default triggers notify creations); deleting one fires only `entityDeleted`; an update
fires `entityUpdated` plus `attributeCreated` / `attributeUpdated` / `attributeDeleted` per attribute
instance (toshi.core.diff says when an instance counts as updated). With watchedAttributes,
only changes of those attributes count, also for the entity-level triggers. Only the subscription's
own notificationTrigger values are reported.
"""

from __future__ import annotations

from typing import Any

from toshi.core.diff import CREATED, DELETED, UPDATED, attribute_changes, entity_members_changed
from toshi.core.times import now_iso
from toshi.formats.ngsild_parse import GEOMETRY_TYPES
from toshi.formats.ngsild_render import render_feature_collection
from toshi.query.geo import LOCATION, geoq_from_body
from toshi.query.planner import EntityQuery
from toshi.query.qparse import parse_q
from toshi.query.regex import compile_pattern
from toshi.query.scope import parse_scope_q
from toshi.query.typeexpr import parse_type_expr
from toshi.subscriptions import model
from toshi.subscriptions.notification import View, notified_entity
from toshi.subscriptions.sending import outgoing

GEO_JSON = "application/geo+json"
_ATTRIBUTE_TRIGGERS = {CREATED: "attributeCreated", UPDATED: "attributeUpdated", DELETED: "attributeDeleted"}


class _Selector:
    """One `entities` item: type selection, and id or idPattern (id wins when both are given)."""

    def __init__(self, selector: dict):
        self.types = parse_type_expr(selector["type"], lambda name: name)  # names are stored expanded
        self.id = selector.get("id")
        self.pattern = compile_pattern(selector["idPattern"]) if "idPattern" in selector else None

    def matches(self, entity: dict) -> bool:
        if self.id is not None and entity["id"] != self.id:
            return False
        if self.id is None and self.pattern is not None and not self.pattern.search(entity["id"]):
            return False
        return self.types.matches(entity["type"])


class CompiledSubscription:
    def __init__(self, doc: dict, ctx, *, tenant: str | None = None):
        self.hosted_context_url: str | None = None
        self.since_seq = 0  # the notifier sets it: changes up to this sequence number predate the subscription
        self.doc = doc
        self.ctx = ctx
        self.id: str = doc["id"]
        self.tenant: str = doc.get("tenant", "") if tenant is None else tenant
        self.selectors = [_Selector(s) for s in doc.get("entities", [])]
        self.entity_ids = [s.id for s in self.selectors] if self.selectors and all(
            s.id is not None for s in self.selectors) else None
        self.throttling: float | None = doc.get("throttling")
        self.time_interval: float | None = doc.get("timeInterval")
        self.watched = frozenset(doc["watchedAttributes"]) if "watchedAttributes" in doc else None
        self.trigger_set = frozenset(doc["notificationTrigger"])
        self.q = parse_q(doc["q"], ctx.expand_term) if "q" in doc else None
        self.geo = geoq_from_body(doc["geoQ"], ctx.expand_term) if "geoQ" in doc else None
        self.scope = parse_scope_q(doc["scopeQ"]) if "scopeQ" in doc else None
        self.dataset_ids = frozenset(doc["datasetId"]) if "datasetId" in doc else None
        self.view = _view(doc)
        self.statistics_dirty = False

    @property
    def context_url(self) -> str | None:
        """The @context URL for a notification's Link header (None when the context has no URL,
        unless the notifier gave it a hosted one)."""
        return self.hosted_context_url or self.ctx.link_url

    # -- state ----------------------------------------------------------------------------------

    def is_active(self, now: str | None = None) -> bool:
        return model.subscription_status(self.doc, now or now_iso()) == "active"

    def record_delivery(self, ok: bool, now: str, error: str | None = None, code: int | None = None) -> None:
        """Count a delivery attempt in the subscription's statistics (persisted by the notifier); the
        HTTP status `code` is not kept in NGSI-LD."""
        model.record_delivery(self.doc, ok, now)
        self.statistics_dirty = True

    def statistics_onto(self, stored: dict) -> dict:
        """The stored subscription with this one's delivery statistics (and nothing else of it: the
        stored one may have been changed since, through another process)."""
        for key in model.STATISTICS:
            if key in self.doc:
                stored[key] = self.doc[key]
        return stored

    # -- selection ------------------------------------------------------------------------------

    def selects(self, entity: dict) -> bool:
        """Whether the entity is one the subscription is about: entities, q, geoQ and scopeQ."""
        if self.selectors and not any(s.matches(entity) for s in self.selectors):
            return False
        if self.q is not None and not self.q.matches(entity):
            return False
        if self.geo is not None and not self.geo.matches(entity):
            return False
        return self.scope is None or self.scope.matches(entity.get("scope") or [])

    def entity_query(self, limit: int) -> EntityQuery:
        """The entities a periodic (timeInterval) notification carries, as a store query."""
        query = EntityQuery(q=self.q, geo=self.geo, scope=self.scope, limit=limit)
        if len(self.selectors) == 1:
            selector = self.selectors[0]
            query.types = selector.types
            if selector.id is not None:
                query.ids = [selector.id]
            elif selector.pattern is not None:
                query.id_pattern = self.doc["entities"][0]["idPattern"]
        elif self.selectors:
            query.extra.append(lambda entity: any(s.matches(entity) for s in self.selectors))
        return query

    def triggers(self, before: dict | None, after: dict | None) -> list[str]:
        """The subscription's notificationTrigger values this change fires (in the spec's order)."""
        changes = attribute_changes(before, after, names=self.watched, dataset_ids=self.dataset_ids)
        fired = {_ATTRIBUTE_TRIGGERS[c.kind] for c in changes}
        if before is None and after is not None:
            if self.watched is None or changes:
                fired.add("entityCreated")
        elif after is None and before is not None:
            fired = {"entityDeleted"} if self.watched is None or changes else set()
        elif before is not None and after is not None and (
                changes or (self.watched is None and entity_members_changed(before, after))):
            fired.add("entityUpdated")
        return [t for t in model.TRIGGERS if t in fired and t in self.trigger_set]

    def matches(self, tenant: str, before: dict | None, after: dict | None) -> bool:
        """Whether this change of an entity of `tenant` is to be notified (timeInterval subscriptions
        notify periodically instead). Filters see the new state, or the old one for a deletion."""
        state = after if after is not None else before
        if state is None or tenant != self.tenant or "timeInterval" in self.doc or not self.is_active():
            return False
        return self.selects(state) and bool(self.triggers(before, after))

    # -- notifications --------------------------------------------------------------------------

    def notification_entity(self, before: dict | None, after: dict | None, *,
                            deleted_at: str | None = None) -> dict:
        """The entity as notified (a GeoJSON Feature when the endpoint accepts application/geo+json);
        `deleted_at` is when a deleted entity was deleted (default: now)."""
        entity = notified_entity(before, after, self.ctx, self.view, deleted_at=deleted_at or now_iso())
        if self.doc["notification"]["endpoint"]["accept"] == GEO_JSON:
            return _feature(entity, after if after is not None else before)
        return entity

    def notification_body(self, entities: list[dict], *, notification_id: str, now: str) -> dict:
        """A Notification (clause 5.3.1); `data` is a FeatureCollection for application/geo+json."""
        geo = self.doc["notification"]["endpoint"]["accept"] == GEO_JSON
        data: Any = render_feature_collection(entities) if geo else entities
        return {"id": notification_id, "type": "Notification", "subscriptionId": self.id,
                "notifiedAt": now, "data": data}

    def notification(self, tenant: str, entities: list[dict], *, notification_id: str, now: str,
                     number: int = 1) -> tuple[dict, dict]:
        """Where and how to send the Notification of `entities`, and its body (toshi.subscriptions.sending)."""
        body = self.notification_body(entities, notification_id=notification_id, now=now)
        return outgoing(self.doc["notification"]["endpoint"], tenant, body, self.context_url, self.ctx.source)


def _view(doc: dict) -> View:
    params = doc["notification"]
    return View(form=params["format"], sys_attrs=params["sysAttrs"],
                attrs=frozenset(params["attributes"]) if "attributes" in params else None,
                pick=frozenset(params["pick"]) if "pick" in params else None,
                omit=frozenset(params["omit"]) if "omit" in params else None,
                lang=doc.get("lang"),
                dataset_id=frozenset(doc["datasetId"]) if "datasetId" in doc else None,
                show_changes=params["showChanges"])


def _feature(rendered: dict, state: dict | None) -> dict:
    """A GeoJSON Feature of a rendered entity (clause 4.5.16), its geometry from `location`."""
    properties = {key: value for key, value in rendered.items() if key != "id"}
    return {"id": rendered["id"], "type": "Feature", "geometry": _geometry(state), "properties": properties}


def _geometry(state: dict | None) -> dict | None:
    """The value of the default (else the first) `location` instance, if it is a GeoJSON geometry."""
    instances = (state or {}).get("attrs", {}).get(LOCATION) or [{}]
    value = next((i for i in instances if "datasetId" not in i), instances[0]).get("value")
    return value if isinstance(value, dict) and value.get("type") in GEOMETRY_TYPES else None
