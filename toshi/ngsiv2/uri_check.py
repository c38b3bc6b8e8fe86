"""Orion's check of forbidden characters in the URL, before any route runs (its `urlCheck` and URI
parameter check): `<>"'=;()` in the path is 400 "invalid character in URI"; in a URI parameter's name
or value 400 "invalid character in URI parameter", except in `q`, `mq`, `idPattern`, `typePattern`
(their languages need them), `georel` / `geometry` (which may hold `=` and `;`) and `coords` (`;`).
A URI parameter without a value (`?attrs=`, `?attrs`) is 400 "Empty right-hand-side for URI param
/attrs/", checked first, parameter by parameter, as Orion reads them; `options` is checked where it
stands (request.check_options: an unknown option or a conflicting pair is 400), on every request.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from toshi.ngsiv2.errors import bad_request
from toshi.ngsiv2.mapping import FORBIDDEN, bad_characters
from toshi.ngsiv2.request import check_options, option_items

FREE_PARAMS = {"q", "mq", "idPattern", "typePattern"}
ALLOWED_IN = {"georel": set("=;"), "geometry": set("=;"), "coords": set(";")}


def _forbidden(text: str, allowed: set[str] = frozenset()) -> bool:
    return any(c in FORBIDDEN and c not in allowed for c in text)


def check_uri(path: str, query_string: str) -> None:
    """400 BadRequest when the (decoded) path or a URI parameter holds a forbidden character."""
    if _forbidden(path):
        raise bad_request("invalid character in URI")
    options: set[str] = set()
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        if not value:
            raise bad_request(f"Empty right-hand-side for URI param /{key}/")
        if key == "options":  # repeated `options` add up, as in Orion's uriParamOptions
            options |= option_items(value)
            check_options(options)
        if key in FREE_PARAMS:
            continue
        allowed = ALLOWED_IN.get(key, set())
        if _forbidden(key) or _forbidden(value, allowed):
            raise bad_request("invalid character in URI parameter")
    check_empty_names(path)


def check_empty_names(path: str) -> None:
    """An empty entity id or attribute name in an entity URL (`/v2/entities//attrs`,
    `/v2/entities/E/attrs//value`) is 400 with the length text of the payload checks, as Orion's
    compErrorDetect answers (other empty components are an unknown URL)."""
    parts = path.rstrip("/").split("/")[1:]
    if len(parts) < 4 or parts[:2] != ["v2", "entities"] or parts[3] != "attrs":
        return
    shape_ok = len(parts) == 4 or len(parts) == 5 or (len(parts) == 6 and parts[5] == "value")
    if not shape_ok:
        return
    if parts[2] == "":
        raise bad_request("entity id length: 0, min length supported: 1")
    if len(parts) > 4 and parts[4] == "":
        raise bad_request("attribute name length: 0, min length supported: 1")


def uri_checked(app):
    """ASGI wrapper: `check_uri` on every HTTP request (raised errors go to the v2 error boundary)."""
    async def wrapped(scope, receive, send):
        if scope["type"] == "http":
            check_uri(scope.get("path", ""), scope.get("query_string", b"").decode("latin-1"))
        await app(scope, receive, send)
    return wrapped


def path_name(value: str) -> str:
    """An entity id or attribute name taken from the URL path: Orion's identifier characters, else
    400 "invalid character in URI" (the text Orion gives for ids in URLs, not the payload's)."""
    if bad_characters(value):
        raise bad_request("invalid character in URI")
    return value
