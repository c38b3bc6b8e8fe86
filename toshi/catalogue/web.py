"""The catalogue's HTTP side: the public catalogue (DCAT at /catalog, the CKAN Action API at
/api/3/action/, distributions at /catalogue/datasets/<name>.<csv|geojson|jsonld>) and the admin API
under /catalogue/admin/ (datasets, open/close, CSV import), which needs the admin role in the tenant
named by the NGSILD-Tenant header."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from toshi.catalogue import ckan
from toshi.catalogue.csv_import import ImportRefused
from toshi.catalogue.datasets import Datasets, checked
from toshi.catalogue.distributions import FORMATS, STREAMS, validators
from toshi.catalogue.importing import run_import
from toshi.catalogue.opening import OpenRefused, close_dataset, open_dataset
from toshi.catalogue.saved_query import query_of
from toshi.core.errors import AlreadyExists, BadRequestData, ResourceNotFound
from toshi.formats.ngsild_http import tenant_of

MAX_UPLOAD = 512 * 1024 * 1024
TURTLE, JSON_LD = "text/turtle", "application/ld+json"


def _services(request: Request):
    return request.app.state.toshi


def _json(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


# -- public --------------------------------------------------------------------------------------

def _open_dataset(request: Request):
    found = Datasets(_services(request).store).get(request.path_params["name"])
    if found is None or not found.open:
        raise ResourceNotFound(f"No open dataset {request.path_params['name']}")
    return found


async def distribution(request: Request) -> Response:
    fmt = request.path_params["fmt"]
    if fmt not in FORMATS:
        raise ResourceNotFound(f"No distribution .{fmt} (there are {', '.join('.' + f for f in FORMATS)})")
    dataset = _open_dataset(request)
    etag, modified = await validators(_services(request), dataset, fmt)
    headers = {"ETag": etag, "Last-Modified": modified, "Cache-Control": "no-cache",
               "Content-Disposition": f'attachment; filename="{dataset.name}.{fmt}"'}
    wanted = request.headers.get("if-none-match")
    if wanted is not None and (wanted.strip() == "*" or etag in [t.strip() for t in wanted.split(",")]):
        return Response(status_code=304, headers={"ETag": etag, "Last-Modified": modified})
    return StreamingResponse(STREAMS[fmt](_services(request), dataset), media_type=FORMATS[fmt].media,
                             headers=headers)


async def landing(request: Request) -> Response:
    dataset = _open_dataset(request)
    return _json(ckan.package_dict(dataset, str(request.base_url).rstrip("/")))


async def catalogue(request: Request) -> Response:
    path = request.url.path
    if path.endswith(".ttl"):
        media = TURTLE
    elif path.endswith(".jsonld"):
        media = JSON_LD
    else:
        accept = request.headers.get("accept", "")
        media = TURTLE if "text/turtle" in accept and "ld+json" not in accept else JSON_LD
    from toshi.catalogue import dcat  # rdflib: when the catalogue is asked for, not at import (start-up)

    datasets = [d for d in Datasets(_services(request).store).all() if d.open]
    graph = dcat.catalogue_graph(datasets, str(request.base_url).rstrip("/"))
    return Response(dcat.serialise(graph, media), media_type=media + ("; charset=utf-8" if media == TURTLE else ""))


# -- admin ---------------------------------------------------------------------------------------

async def _body(request: Request) -> dict:
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise BadRequestData(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequestData("the body is a JSON object")
    return data


def _mine(request: Request):
    tenant = tenant_of(request)
    found = Datasets(_services(request).store).get(request.path_params["name"])
    if found is None or found.tenant != tenant:
        raise ResourceNotFound(f"No dataset {request.path_params['name']} in this tenant")
    return found


def _valid(doc: dict, existing=None):
    try:
        dataset = checked(doc, existing=existing)
        query_of(dataset)
    except ValueError as exc:
        raise BadRequestData(str(exc)) from None
    return dataset


async def list_datasets(request: Request) -> Response:
    tenant = tenant_of(request)
    return _json([d.doc() for d in Datasets(_services(request).store).all() if d.tenant == tenant])


async def create_dataset(request: Request) -> Response:
    doc = await _body(request)
    dataset = _valid({**doc, "tenant": tenant_of(request)})
    datasets = Datasets(_services(request).store)
    if datasets.get(dataset.name) is not None:
        raise AlreadyExists(f"Dataset {dataset.name} already exists")
    saved = datasets.save(dataset)
    return _json(saved.doc(), 201, {"Location": f"/catalogue/admin/datasets/{saved.name}"})


async def show_dataset(request: Request) -> Response:
    return _json(_mine(request).doc())


async def update_dataset(request: Request) -> Response:
    existing = _mine(request)
    doc = await _body(request)
    if "tenant" in doc and doc["tenant"] != existing.tenant:
        raise BadRequestData("a dataset's tenant cannot change")
    dataset = _valid(doc, existing)
    services = _services(request)
    try:
        saved = open_dataset(services, services.store, dataset) if dataset.open else Datasets(services.store).save(dataset)
    except OpenRefused as exc:
        raise BadRequestData(str(exc)) from None
    return _json(saved.doc())


async def delete_dataset(request: Request) -> Response:
    dataset = _mine(request)
    store = _services(request).store
    if dataset.open:
        close_dataset(store, dataset)
    Datasets(store).delete(dataset.name)
    return Response(status_code=204)


async def open_it(request: Request) -> Response:
    services = _services(request)
    try:
        return _json(open_dataset(services, services.store, _mine(request)).doc())
    except OpenRefused as exc:
        raise BadRequestData(str(exc)) from None


async def close_it(request: Request) -> Response:
    return _json(close_dataset(_services(request).store, _mine(request)).doc())


async def import_csv(request: Request) -> Response:
    """POST the CSV file as the body: without ?confirm=true it is only checked; with it, written when
    every row is valid (400 with the same report when not). ?prune=true deletes vanished rows."""
    data = await request.body()
    if not data or len(data) > MAX_UPLOAD:
        raise BadRequestData("send the CSV file as the request body" if not data else "the file is too large")
    params = request.query_params
    confirm, prune = params.get("confirm") == "true", params.get("prune") == "true"
    try:
        report = await run_import(_services(request), tenant_of(request), request.path_params["name"], data,
                                  confirm=confirm, prune=prune)
    except (ImportRefused, LookupError) as exc:
        raise BadRequestData(str(exc)) from None
    return _json(report, 400 if confirm and not report["valid"] else 200)


def routes() -> list:
    return [
        Route("/catalog", catalogue, methods=["GET"]),
        Route("/catalog.ttl", catalogue, methods=["GET"]),
        Route("/catalog.jsonld", catalogue, methods=["GET"]),
        Route("/api/3/action/{action}", ckan.action, methods=["GET", "POST"]),
        Route("/api/action/{action}", ckan.action, methods=["GET", "POST"]),
        Route("/catalogue/datasets/{name}.{fmt}", distribution, methods=["GET"]),
        Route("/catalogue/datasets/{name}", landing, methods=["GET"]),
        Route("/catalogue/admin/datasets", list_datasets, methods=["GET"]),
        Route("/catalogue/admin/datasets", create_dataset, methods=["POST"]),
        Route("/catalogue/admin/datasets/{name}", show_dataset, methods=["GET"]),
        Route("/catalogue/admin/datasets/{name}", update_dataset, methods=["PATCH"]),
        Route("/catalogue/admin/datasets/{name}", delete_dataset, methods=["DELETE"]),
        Route("/catalogue/admin/datasets/{name}/open", open_it, methods=["POST"]),
        Route("/catalogue/admin/datasets/{name}/close", close_it, methods=["POST"]),
        Route("/catalogue/admin/datasets/{name}/import", import_csv, methods=["POST"]),
    ]
