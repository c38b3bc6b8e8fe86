"""The API description (OpenAPI 3.1) assembled from what the features declare.

A feature's default fragment lists its routes (paths, methods, the endpoint's docstring as summary);
a feature may override `Feature.openapi()` to say more. `GET /openapi.json` serves the whole."""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.routing import BaseRoute, Route

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def paths_of(routes: Iterable[BaseRoute]) -> dict[str, dict]:
    """{path: {method: operation}} of Starlette routes (a route group's routes included)."""
    paths: dict[str, dict] = {}
    for route in _flat(routes):
        path = re.sub(r"\{(\w+)(?::\w+)?\}", r"{\1}", route.path)
        for method in sorted((route.methods or {"GET"}) - IGNORED_METHODS):
            paths.setdefault(path, {})[method.lower()] = _operation(route, path)
    return paths


def _flat(routes: Iterable[BaseRoute]) -> Iterable[Route]:
    for route in routes:
        if isinstance(route, Route):
            yield route
        elif hasattr(route, "router"):  # toshi.core.routing.Prefixed
            yield from _flat(route.router.routes)


def _operation(route: Route, path: str) -> dict:
    doc = (route.endpoint.__doc__ or "").strip()
    operation = {"summary": doc.splitlines()[0] if doc else route.name.replace("_", " "),
                 "responses": {"default": {"description": "see the API's specification"}}}
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in re.findall(r"\{(\w+)\}", path)]
    if parameters:
        operation["parameters"] = parameters
    return operation


def document(fragments: Iterable[tuple[str, dict]], version: str) -> dict:
    """The OpenAPI document of (feature name, paths) fragments; each operation tagged by its feature."""
    paths: dict[str, dict] = {}
    for name, fragment in fragments:
        for path, operations in fragment.items():
            for method, operation in operations.items():
                paths.setdefault(path, {})[method] = {"tags": [name], **operation}
    return {"openapi": "3.1.0", "info": {"title": "Toshi City OS", "version": version}, "paths": paths}
