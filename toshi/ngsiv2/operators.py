"""Update operators for attribute values (Orion manual, "Update operators for attribute values").

A value that is exactly one operator object — `{"$inc": 2}`, `{"$push": {"$each": [1, 2]}}`, or `$set`
together with `$unset` — means "compute the new value from the current one". The edit functions
(toshi.ngsiv2.edits) call `resolved` inside the write transaction with the attribute's current instance,
so two clients incrementing at once both count.

Where there is no current value (entity creation, replace, an attribute the entity lacks) the manual's
references are used: 0 for the numeric operators, the epoch for `$min` / `$max` of a DateTime, `{}` for
`$set`, `[]` for `$push` / `$addToSet`; `$pull`, `$pullAll` and `$unset` then leave the attribute
out (`DROPPED`). Orion passes operators to MongoDB, whose errors it answers as 500 InternalServerError;
the same cases answer so here, with MongoDB's messages.
"""

from __future__ import annotations

from typing import Any

import orjson

from toshi.core.times import instant_key, is_datetime
from toshi.ngsiv2.dates import canonical_datetime
from toshi.ngsiv2.errors import V2Error
from toshi.ngsiv2.mapping import infer_type, whole_numbers

OPERATORS = frozenset({"$inc", "$mul", "$min", "$max", "$push", "$addToSet", "$pull", "$pullAll", "$set",
                       "$unset"})
EPOCH = "1970-01-01T00:00:00.000Z"
DROPPED = object()  # the attribute is not created
_ABSENT = object()  # no current value


def operation_of(value: Any) -> dict | None:
    """The operator object a value is, or None for an ordinary value."""
    if not isinstance(value, dict) or not value or not set(value) <= OPERATORS:
        return None
    return value if len(value) == 1 or set(value) == {"$set", "$unset"} else None


def resolved(inst: dict, old: dict | None) -> dict | object:
    """The instance to store for `inst` given the attribute's current instance `old` (None: it has
    none): `inst` itself unless its value is an operator; DROPPED when nothing is to be stored."""
    operation = operation_of(inst.get("value")) if inst.get("type") == "Property" else None
    if operation is None:
        return inst
    current = old.get("value", _ABSENT) if old is not None and old.get("type") == "Property" else _ABSENT
    date = inst.get("v2Type") == "DateTime"
    value = _apply(operation, current, date)
    if value is DROPPED:
        return DROPPED
    if date and isinstance(value, str):
        value = canonical_datetime(value) or value  # DateTimes are stored as Orion renders them
    out = {**inst, "value": value}
    if out.get("v2Type") == infer_type(value):
        out.pop("v2Type")
    return out


def resolved_attrs(attrs: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Attributes of a new entity (or a replacement of all of them): operators against the references."""
    out = {}
    for name, instances in attrs.items():
        kept = [i for i in (resolved(inst, None) for inst in instances) if i is not DROPPED]
        if kept:
            out[name] = kept
    return out


def _apply(operation: dict, current: Any, date: bool) -> Any:
    if set(operation) == {"$set", "$unset"}:
        return _set_and_unset(operation["$set"], operation["$unset"], current)
    [(operator, operand)] = operation.items()
    result = _APPLY[operator](operand, current, date)
    return result if result is DROPPED else whole_numbers(result)  # 1.5 + 1.5 is 3, as Orion renders it


def _inc(operand: Any, current: Any, date: bool) -> Any:
    _numeric_operand("increment", operand)
    if current is _ABSENT:
        return operand
    _numeric_current("$inc", current)
    return current + operand


def _mul(operand: Any, current: Any, date: bool) -> Any:
    _numeric_operand("multiply", operand)
    if current is _ABSENT:
        return 0 * operand
    _numeric_current("$mul", current)
    return current * operand


def _min(operand: Any, current: Any, date: bool) -> Any:
    if current is _ABSENT:
        current = _reference(date)
    return operand if _order(operand) < _order(current) else current


def _max(operand: Any, current: Any, date: bool) -> Any:
    if current is _ABSENT:
        current = _reference(date)
    return operand if _order(operand) > _order(current) else current


def _push(operand: Any, current: Any, date: bool) -> list:
    items, position = _each(operand)
    array = _array("$push", current)
    if position is None:
        return array + items
    if position < 0:  # MongoDB counts a negative position from the end
        position = max(0, len(array) + position)
    return array[:position] + items + array[position:]


def _add_to_set(operand: Any, current: Any, date: bool) -> list:
    items, _ = _each(operand)
    array = _array("$addToSet", current)
    for item in items:
        if not any(_same(item, present) for present in array):
            array.append(item)
    return array


def _pull(operand: Any, current: Any, date: bool) -> Any:
    if current is _ABSENT:
        return DROPPED
    return [item for item in _array("$pull", current) if not _same(item, operand)]


def _pull_all(operand: Any, current: Any, date: bool) -> Any:
    if not isinstance(operand, list):
        raise _database_error(f"$pullAll requires an array argument but was given a {_bson_type(operand)}")
    if current is _ABSENT:
        return DROPPED
    return [item for item in _array("$pullAll", current) if not any(_same(item, o) for o in operand)]


def _set(operand: Any, current: Any, date: bool) -> Any:
    if not isinstance(operand, dict):
        return operand  # "the same effect than a regular update"
    base = {} if current is _ABSENT else current
    if not isinstance(base, dict):
        raise _database_error(f"Cannot create field in element {{value: {_bson_type(base)}}}")
    return {**base, **operand}


def _unset(operand: Any, current: Any, date: bool) -> Any:
    if current is _ABSENT:
        return DROPPED
    if not isinstance(operand, dict) or not isinstance(current, dict):
        return current  # "if the value of $unset is not an object, it will be ignored"
    return {k: v for k, v in current.items() if k not in operand}


def _set_and_unset(to_set: Any, to_unset: Any, current: Any) -> Any:
    if isinstance(to_set, dict) and isinstance(to_unset, dict):
        both = sorted(set(to_set) & set(to_unset))
        if both:
            raise _database_error(f"Updating the path 'value.{both[0]}' would create a conflict at 'value'")
    value = _set(to_set, current, False)
    return _unset(to_unset, value, False)


_APPLY = {"$inc": _inc, "$mul": _mul, "$min": _min, "$max": _max, "$push": _push, "$addToSet": _add_to_set,
          "$pull": _pull, "$pullAll": _pull_all, "$set": _set, "$unset": _unset}


# -- helpers --------------------------------------------------------------------------------------

def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numeric_operand(verb: str, operand: Any) -> None:
    if not _is_number(operand):
        raise _database_error(f"Cannot {verb} with non-numeric argument: {{value: {_shown(operand)}}}")


def _numeric_current(operator: str, current: Any) -> None:
    if not _is_number(current):
        raise _database_error(f"Cannot apply {operator} to a value of non-numeric type. "
                              f"{{value}} has the field 'value' of non-numeric type {_bson_type(current)}")


def _reference(date: bool) -> Any:
    return EPOCH if date else 0


def _each(operand: Any) -> tuple[list, int | None]:
    """The items of `$push` / `$addToSet` (one, or `$each`) and `$position`."""
    if isinstance(operand, dict) and "$each" in operand:
        items = operand["$each"]
        if not isinstance(items, list):
            raise _database_error(f"The argument to $each must be an array but was given: {_bson_type(items)}")
        position = operand.get("$position")
        if position is not None and not (isinstance(position, int) and not isinstance(position, bool)):
            raise _database_error("The value for $position must be an integer value")
        return list(items), position
    return [operand], None


def _array(operator: str, current: Any) -> list:
    if current is _ABSENT:
        return []
    if not isinstance(current, list):
        raise _database_error(f"The field 'value' must be an array but is of type {_bson_type(current)} "
                              f"in document {{{operator}}}")
    return list(current)


_RANKS = ((type(None), 1), (bool, 6), (int, 2), (float, 2), (str, 3), (dict, 4), (list, 5))


def _order(value: Any) -> tuple:
    """MongoDB's comparison order: null < numbers < strings < objects < arrays < booleans; date-times
    compare as instants."""
    rank = next(r for t, r in _RANKS if isinstance(value, t))
    if isinstance(value, str) and is_datetime(value):
        return (rank, instant_key(value) or value)
    if rank in (4, 5):
        return (rank, _shown(value))
    return (rank, value)


def _same(a: Any, b: Any) -> bool:
    """Equality as MongoDB's (1 and 1.0 are equal; true and 1 are not)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b and (_is_number(a) == _is_number(b))


def _bson_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    return {str: "string", dict: "object", list: "array"}[type(value)]


def _shown(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _database_error(message: str) -> V2Error:
    """MongoDB's refusal of an operator, answered as Orion does: 500 InternalServerError."""
    return V2Error(500, "InternalServerError", f"Database Error ({message})")
