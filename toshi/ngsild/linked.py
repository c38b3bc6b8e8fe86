"""Linked entity retrieval (v1.8 clause 4.5.23): `join=inline|flat` and `joinLevel` on retrieve and query.

The entities a Relationship (or ListRelationship) points to are retrieved too, up to `joinLevel`
relationships away from the entities asked for:

- inline: each relationship instance carries the entity it points to as `entity` (`entityList` for a
  ListRelationship or a Relationship with several objects), recursively; in keyValues the
  relationship's value (the object's id) is replaced by the linked entity.
- flat: the linked entities are returned beside the ones asked for, each once, nearest first (a
  retrieve whose entity links to none found stays one object).

Only relationships the answer shows are followed: `pick` and `omit` decide at every level
(`locatedAt{name}` picks, or omits, `name` of the entities `locatedAt` points to; under pick a
relationship not picked is neither shown nor followed). The linked entities are read through the read
path (a hidden or expired entity is not linked), rendered in the same form, with the same sysAttrs
and lang, and without `attrs` (which selects the attributes of the entities asked for).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from toshi.core.expiry import is_expired
from toshi.formats.ngsild_params import Output, Projection
from toshi.formats.ngsild_render import render_entity

LINKS = {"Relationship": "object", "ListRelationship": "objectList"}

Load = Callable[[str], Awaitable[dict | None]]


def loader(store, tenant: str) -> Load:
    """entity id -> the entity as this request may see it (None: not there, hidden or expired); each
    id is read once per answer."""
    seen: dict[str, dict | None] = {}

    async def load(entity_id: str) -> dict | None:
        if entity_id not in seen:
            found = await store.get_entity(tenant, entity_id)
            seen[entity_id] = None if found is None or is_expired(found) else found
        return seen[entity_id]
    return load


async def inline(entities: list[dict], output: Output, ctx, load: Load) -> list[dict]:
    """The bodies of `entities`, each linked entity inside the relationship that points to it."""
    return [await _inline(e, output, ctx, load, output.projection, 0) for e in entities]


async def flat(entities: list[dict], output: Output, ctx, load: Load) -> tuple[list[dict], list[dict]]:
    """The bodies of `entities`, and those of the entities they link to (each once, nearest first)."""
    bodies = [_render(e, output, ctx, output.projection, top=True) for e in entities]
    placed = {e["id"] for e in entities}
    linked: list[dict] = []
    level = [(e, body, output.projection) for e, body in zip(entities, bodies, strict=True)]
    for _ in range(output.join_level):
        following = []
        for entity, body, projection in level:
            for target_id, child in _links(entity, body, ctx, projection):
                if target_id in placed:
                    continue
                target = await load(target_id)
                if target is None:
                    continue
                placed.add(target_id)
                target_body = _render(target, output, ctx, child, top=False)
                linked.append(target_body)
                following.append((target, target_body, child))
        level = following
    return bodies, linked


async def _inline(entity: dict, output: Output, ctx, load: Load, projection: Projection | None,
                  depth: int) -> dict:
    body = _render(entity, output, ctx, projection, top=depth == 0)
    if depth >= output.join_level:
        return body
    for iri, instances in entity["attrs"].items():
        name = ctx.compact_iri(iri)
        if name not in body or not any(inst.get("type") in LINKS for inst in instances):
            continue
        child = _child(projection, iri)

        async def linked(target_id: Any, child: Projection | None = child) -> dict | None:
            target = await load(target_id) if isinstance(target_id, str) else None
            return None if target is None else await _inline(target, output, ctx, load, child, depth + 1)

        body[name] = await _attach(body[name], instances, output.form, linked)
    return body


async def _attach(rendered: Any, instances: list[dict], form: str,
                  linked: Callable[[Any], Awaitable[dict | None]]) -> Any:
    """The rendered attribute with the entities its instances link to."""
    if form == "keyValues":
        if len(instances) == 1:
            return await _replaced(rendered, linked)
        if isinstance(rendered, dict) and isinstance(rendered.get("dataset"), dict):
            return {"dataset": {k: await _replaced(v, linked) for k, v in rendered["dataset"].items()}}
        return rendered
    items = rendered if isinstance(rendered, list) else [rendered]
    for item, inst in zip(items, instances, strict=False):
        key = LINKS.get(inst.get("type"))
        if key is None or not isinstance(item, dict):
            continue
        target = inst.get(key)
        if isinstance(target, list):
            found = [e for e in [await linked(t) for t in target] if e is not None]
            if found:
                item["entityList"] = found
        elif (found := await linked(target)) is not None:
            item["entity"] = found
    return rendered


async def _replaced(value: Any, linked: Callable[[Any], Awaitable[dict | None]]) -> Any:
    """A keyValues relationship value (an id, or a list of ids) with each id found replaced by its entity."""
    if isinstance(value, list):
        return [(await linked(v)) or v for v in value]
    return (await linked(value)) or value


def _links(entity: dict, body: dict, ctx, projection: Projection | None) -> list[tuple[str, Projection | None]]:
    """(object id, projection inside it) of each relationship the rendered body shows."""
    out = []
    for iri, instances in entity["attrs"].items():
        if ctx.compact_iri(iri) not in body:
            continue
        child = _child(projection, iri)
        for inst in instances:
            key = LINKS.get(inst.get("type"))
            target = inst.get(key) if key else None
            for target_id in target if isinstance(target, list) else [target]:
                if isinstance(target_id, str):
                    out.append((target_id, child))
    return out


def _child(projection: Projection | None, iri: str) -> Projection | None:
    """The projection inside the entities relationship `iri` links to: its braces, else everything."""
    return None if projection is None else projection.nested.get(iri)


def _render(entity: dict, output: Output, ctx, projection: Projection | None, *, top: bool) -> dict:
    pick = omit = None
    if projection is not None:
        pick, omit = (projection.kept, None) if projection.kind == "pick" else (None, projection.kept)
    return render_entity(entity, ctx, form=output.form, sys_attrs=output.sys_attrs,
                         attrs=output.attrs if top else None, pick=pick, omit=omit, lang=output.lang,
                         dataset_id=output.dataset_ids if top else None)


async def answer(store, tenant: str, entities: list[dict], output: Output, ctx, *, one: bool) -> Any:
    """The body of a retrieve (`one`: an object, or with join=flat and linked entities found, an
    array) or of a query (an array) with its linked entities."""
    load = loader(store, tenant)
    if output.join == "inline":
        bodies = await inline(entities, output, ctx, load)
        return bodies[0] if one else bodies
    bodies, linked = await flat(entities, output, ctx, load)
    if one and not linked:
        return bodies[0]
    return bodies + linked
