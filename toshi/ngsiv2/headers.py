"""Fiware-Service (the tenant) and Fiware-ServicePath (NGSI-LD scopes), validated as Orion does.

Fiware-Service is the tenant NGSI-LD names with NGSILD-Tenant (lower-cased, as Orion stores it).
A service path `/A/B` is the NGSI-LD scope `/A/B`; the root path `/` is "no scope". Writes take one
path (default `/`); queries take up to 10 comma-separated paths, each optionally ending in `/#`
(the path and everything below it), and default to `/#` (everything).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

from toshi.ngsiv2.errors import bad_request

SERVICE = "fiware-service"
SERVICE_PATH = "fiware-servicepath"
MAX_SERVICE_LENGTH = 50
MAX_LEVELS = 10
MAX_LEVEL_LENGTH = 50
MAX_QUERY_PATHS = 10


def tenant_of(request: Request) -> str:
    tenant = request.headers.get(SERVICE, "").strip().lower()
    if len(tenant) > MAX_SERVICE_LENGTH:
        raise bad_request(f"bad length - a tenant name can be max {MAX_SERVICE_LENGTH} characters long")
    if not all(_name_char(c) for c in tenant):
        raise bad_request("bad character in tenant name - only underscore and alphanumeric characters are allowed")
    return tenant


def _given(request: Request) -> str | None:
    """The Fiware-ServicePath header, None when absent or empty: Orion's servicePathSplit reads an
    empty (or blank) header as no header, i.e. the default path."""
    raw = request.headers.get(SERVICE_PATH)
    return raw if raw is not None and raw.strip() else None


def write_scope(request: Request) -> list[str]:
    """The scope of an entity created with this request's service path ([] for the root)."""
    raw = _given(request)
    if raw is None:
        return []
    paths = [p.strip() for p in raw.split(",")]
    if len(paths) > 1:
        raise bad_request("more than one service path in context update request")
    path = _checked(paths[0])
    if path.endswith("/#"):
        raise bad_request("a service path cannot contain '#' in an update request")
    return [] if path == "/" else [path]


def given_path(request: Request) -> bool:
    return _given(request) is not None


def query_paths(request: Request) -> list[str] | None:
    """The request's query service paths, checked (None without the header)."""
    raw = _given(request)
    if raw is None:
        return None
    paths = [_checked(p.strip()) for p in raw.split(",")]
    if len(paths) > MAX_QUERY_PATHS:
        raise bad_request("too many service paths - a maximum of ten service paths is allowed")
    return paths


def query_filter(request: Request) -> Callable[[dict], bool] | None:
    """A predicate on entities for the request's query service path(s); None when all match."""
    paths = query_paths(request)
    if paths is None or "/#" in paths:
        return None
    return lambda entity: any(path_matches(p, entity.get("scope") or []) for p in paths)


def path_matches(path: str, scopes: list[str]) -> bool:
    """Whether an entity with these scopes is in the query service path `path`."""
    if path == "/":
        return not scopes
    if path.endswith("/#"):
        base = path[:-2]
        return any(s == base or s.startswith(base + "/") for s in scopes)
    return path in scopes


def _checked(path: str) -> str:
    """The path as Orion reads it (trailing slashes discarded, the root kept: `/A/B/` is `/A/B`), checked."""
    if path.startswith("/"):
        path = path.rstrip("/") or "/"
    if not path.startswith("/"):
        raise bad_request("Only /absolute/ Service Paths allowed [a service path must begin with /]")
    if path == "/" or path == "/#":
        return path
    body = path[1:-2] if path.endswith("/#") else path[1:]
    levels = body.split("/")
    if len(levels) > MAX_LEVELS:
        raise bad_request("too many components in ServicePath")
    for level in levels:
        if len(level) > MAX_LEVEL_LENGTH:
            raise bad_request("component-name too long in ServicePath")
        if not level or not all(_name_char(c) for c in level):
            raise bad_request("a component of ServicePath contains an illegal character")
    return path


def _name_char(c: str) -> bool:
    return c == "_" or (c.isascii() and c.isalnum())
