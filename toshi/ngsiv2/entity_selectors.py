"""Entity selectors (`{"id" | "idPattern", "type" | "typePattern"}`) of subscription subjects and
registrations' `dataProvided`, checked as Orion's parser of entity vectors checks them, in its order and
with its texts (400 BadRequest)."""

from __future__ import annotations

from toshi.ngsiv2.errors import bad_request
from toshi.ngsiv2.mapping import MAX_NAME, bad_characters
from toshi.query.regex import compile_pattern


def selectors(items: object) -> list[dict]:
    """A list of selectors; repeated ones are kept once. Members other than `id`, `idPattern`, `type`,
    `typePattern` are ignored, as Orion's parseEntitiesVector does (it asks only for those)."""
    if not isinstance(items, list):
        raise bad_request("/entities/ is not an array")
    out: list[dict] = []
    for item in items:
        entity = selector(item)
        if entity not in out:
            out.append(entity)
    return out


def selector(item: object) -> dict:
    if not isinstance(item, dict):
        raise bad_request("/entities/ vector item is not an object")
    if "id" not in item and "idPattern" not in item:
        raise bad_request("/entities/ vector item does not have /id/ nor /idPattern/")
    if "id" in item and "idPattern" in item:
        raise bad_request("/entities/ vector item has both /id/ and /idPattern/")
    if "type" in item and "typePattern" in item:
        raise bad_request("/entities/ element has both /type/ and /typePattern/")
    out: dict = {}
    if "id" in item:
        out["id"] = _identifier(item["id"], "/entities/ vector item /id/", "/entities/ element id is empty",
                                "max id length exceeded in /entities/ vector item /id/")
    if "idPattern" in item:
        out["idPattern"] = _pattern(item["idPattern"], "idPattern", "Invalid regex for entity idPattern")
    if "type" in item:
        out["type"] = _identifier(item["type"], "/entities/ vector item type",
                                  "entity type length: 0, min length supported: 1",
                                  "max type length exceeded in /entities/ vector item /type/", "/type/")
    if "typePattern" in item:
        out["typePattern"] = _pattern(item["typePattern"], "typePattern", "Invalid regex for entity typePattern")
    return out


def _identifier(value: object, what: str, empty: str, too_long: str, field: str = "/id/") -> str:
    if not isinstance(value, str):
        raise bad_request(f"{what} is not a string")
    if not value and field == "/id/":
        raise bad_request(empty)
    if bad_characters(value):
        raise bad_request(f"forbidden characters in /entities/ vector item {field}")
    if len(value) > MAX_NAME:
        raise bad_request(too_long)
    if not value:
        raise bad_request(empty)
    return value


def _pattern(value: object, key: str, invalid: str) -> str:
    if not isinstance(value, str):
        raise bad_request(f"/entities/ vector item /{key}/ is not a string")
    if not value:
        raise bad_request(f"/entities/ vector item /{key}/ is empty")
    try:
        compile_pattern(value)
    except Exception:
        raise bad_request(invalid) from None
    return value


