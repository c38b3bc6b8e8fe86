"""The builtins only notifications have (Orion manual, "Builtin Attributes" and "Builtin Metadata").

* Attribute `alterationType` (type `Text`), when listed in `notification.attrs`: `entityCreate`,
  `entityUpdate` (an update that changed nothing), `entityChange` (an actual change, or
  `options=forcedUpdate`), `entityDelete`.
* Metadata `actionType` (type `Text`) and `previousValue`, when listed in `notification.metadata`, on
  the attributes the triggering request wrote: `actionType` is `append` for an attribute the entity did
  not have (every attribute of a created entity) and `update` otherwise, except after a replace of all
  attributes (PUT /attrs, op/update `replace`), where every written attribute is `update`, as Orion
  (its replace goes through updateContextAttributeItem, which always says `update`); `previousValue` is the value
  (and type) the attribute had before the request. Attributes the request did not write get neither;
  nor do deleted entities (Orion does not implement the `delete` action type).
"""

from __future__ import annotations

from toshi.ngsiv2 import mapping
from toshi.ngsiv2.edits import is_replace

ALTERATION_TYPE = "alterationType"
ACTION_TYPE = "actionType"
PREVIOUS_VALUE = "previousValue"


def alteration_type(before: dict | None, after: dict | None, changed: set[str]) -> str:
    """The alteration of one change; `changed`: the attributes whose content really changed."""
    if before is None:
        return "entityCreate"
    if after is None:
        return "entityDelete"
    return "entityChange" if changed else "entityUpdate"


def alteration_attribute(kind: str) -> dict:
    return {"type": "Text", "value": kind, "metadata": {}}


def with_change_metadata(pairs: list[tuple[str, dict]], before: dict | None, after: dict | None,
                         written: set[str], wanted: list[str], ctx) -> list[tuple[str, dict]]:
    """`pairs` (name, v2 attribute) with the `actionType` / `previousValue` metadata `wanted` asks for,
    on the attributes in `written` (expanded names)."""
    wanted_here = [name for name in (ACTION_TYPE, PREVIOUS_VALUE) if name in wanted]
    if not wanted_here or after is None:
        return pairs
    old_attrs = before["attrs"] if before is not None else {}
    replaced = before is not None and is_replace(after)
    out = []
    for name, attr in pairs:
        iri = ctx.expand_term(name)
        if iri in written and iri in after["attrs"]:
            extra = _change_metadata(old_attrs.get(iri), wanted_here, ctx, replaced)
            attr = {**attr, "metadata": {**attr.get("metadata", {}), **extra}}
        out.append((name, attr))
    return out


def _change_metadata(old_instances: list[dict] | None, wanted: list[str], ctx, replaced: bool) -> dict[str, dict]:
    extra: dict[str, dict] = {}
    if ACTION_TYPE in wanted:
        extra[ACTION_TYPE] = {"type": "Text", "value": "update" if old_instances or replaced else "append"}
    if PREVIOUS_VALUE in wanted and old_instances:
        old = mapping.main_instance(old_instances)
        extra[PREVIOUS_VALUE] = {"type": mapping.v2_type(old), "value": mapping.v2_value(old, ctx)}
    return extra
