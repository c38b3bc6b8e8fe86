"""The merge of an entity from the local one and the context sources' ones (ETSI GS CIM 009 v1.8
4.3.6.4), by registration mode:

* `inclusive` — the source's attributes are merged with the local ones; `exclusive` — the attributes
  it registers for that entity come only from the source (local ones are dropped); `redirect` — the
  same for everything it registers (all attributes when it lists none); `auxiliary` — used only for
  attributes (and datasetIds) nobody else has.
* Instances are matched by attribute name and datasetId; of two, the one with the most recent
  `observedAt` stays, else the one met first (local, then exclusive/redirect, inclusive, auxiliary
  sources in registration order).
"""

from __future__ import annotations

from toshi.csources.matching import Target, info_matches, provided_attrs


def covered(registration: dict, entity_id: str, types: list[str]) -> set[str] | None | bool:
    """What a registration (any mode) registers of an entity: the attribute names, None for all of
    them, False for nothing."""
    taken: set[str] = set()
    target = Target(ids=[entity_id], types=set(types) or None)
    for info in registration["information"]:
        if not info_matches(info, target):
            continue
        names = provided_attrs(info)
        if names is None:
            return None
        taken |= names
    return taken or False


def _owned(registration: dict, entity_id: str, types: list[str]) -> set[str] | None | bool:
    """What an exclusive/redirect registration takes over of an entity: the attribute names, None
    for all of them, False for nothing."""
    if registration["mode"] not in ("exclusive", "redirect"):
        return False
    return covered(registration, entity_id, types)


def _newer(candidate: dict, kept: dict) -> bool:
    new, old = candidate.get("observedAt"), kept.get("observedAt")
    return new is not None and old is not None and new > old


def merge(local: dict | None, remote: list[tuple[dict, dict]], registrations: list[dict]) -> dict | None:
    """One entity from the local one and the sources' ones (see the module's docstring)."""
    if local is None and not remote:
        return None
    if local is None and len(remote) == 1:
        return remote[0][1]  # as the source gave it: the same object keeps its rendering (RenderCache)
    if not remote and not any(r["mode"] in ("exclusive", "redirect") for r in registrations):
        return local
    entity_id = local["id"] if local else remote[0][1]["id"]
    types = list(local["type"]) if local else []
    for _, entity in remote:
        types += [t for t in entity.get("type", []) if t not in types]
    attrs: dict[str, list[dict]] = {}
    if local is not None:
        attrs = {name: list(instances) for name, instances in local["attrs"].items()}
        for registration in registrations:
            owned = _owned(registration, entity_id, types)
            if owned is None:
                attrs = {}
            elif owned:
                for name in owned:
                    attrs.pop(name, None)
    scope = list((local or {}).get("scope") or [])
    for registration, entity in remote:
        auxiliary = registration["mode"] == "auxiliary"
        for name, instances in entity["attrs"].items():
            if auxiliary and name in attrs:
                continue
            kept = attrs.setdefault(name, [])
            for instance in instances:
                same = next((i for i, k in enumerate(kept) if k.get("datasetId") == instance.get("datasetId")), None)
                if same is None:
                    kept.append(instance)
                elif not auxiliary and _newer(instance, kept[same]):
                    kept[same] = instance
        scope += [s for s in entity.get("scope") or [] if s not in scope]
    base = local or remote[0][1]
    merged = {**base, "type": types, "attrs": attrs}
    if scope:
        merged["scope"] = scope
    return merged
