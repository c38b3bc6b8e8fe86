"""The CKAN Action API subset that CKAN clients (ckanapi, ckanr) and harvesters (ckanext-harvest,
ckanext-dcat) use, answering as CKAN 2.10 does: `{"help", "success", "result"}`, and on failure
`{"help", "success": false, "error": {"__type", ...}}` with CKAN's status codes (404 Not Found
Error, 409 Validation Error, 400 Search Query Error and bad requests). Every action is
side-effect-free, so GET (parameters in the query string) and POST (a JSON object) both work.
Only open datasets are listed: the catalogue is what the public may read."""

from __future__ import annotations

import uuid

import orjson
from starlette.requests import Request
from starlette.responses import Response

from toshi import __version__
from toshi.catalogue import ckan_search
from toshi.catalogue.datasets import LICENCES, Dataset, Datasets
from toshi.catalogue.distributions import FORMATS
from toshi.catalogue.standards import STANDARDS

ROWS_DEFAULT, ROWS_MAX = 10, 1000
NAMESPACE = uuid.UUID("9f7e3c52-5b1e-4d0a-9a55-7a7c1f6d3c10")  # stable ids for organisations and resources
SORTS = {"metadata_modified": "metadata_modified", "metadata_created": "metadata_created", "name": "name",
         "title_string": "title", "score": "metadata_modified"}


class NotFound(Exception):
    pass


class ValidationError(Exception):
    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


def ckan_time(iso: str) -> str:
    """CKAN writes UTC times without a zone: 2024-04-01T09:00:00.000000."""
    return iso.rstrip("Z")


# -- dictization ------------------------------------------------------------------------------------

def organisation_dict(dataset: Dataset) -> dict:
    name = dataset.organisation
    return {"id": str(uuid.uuid5(NAMESPACE, "org:" + name)), "name": name,
            "title": dataset.publisher or name, "type": "organization", "description": "", "image_url": "",
            "created": ckan_time(dataset.created), "is_organization": True, "approval_status": "approved",
            "state": "active"}


def resources_of(dataset: Dataset, base: str) -> list[dict]:
    made = []
    for position, fmt in enumerate(FORMATS.values()):
        made.append(_resource(dataset, position, f"{dataset.name}.{fmt.key}", fmt.label, fmt.media.split(";")[0],
                              f"{base}/catalogue/datasets/{dataset.name}.{fmt.key}", "download"))
    api = f"{base}/ngsi-ld/v1/entities?type={dataset.type}" + (f"&attrs={','.join(dataset.attrs)}" if dataset.attrs else "")
    api += f"&q={dataset.q}" if dataset.q else ""
    made.append(_resource(dataset, len(made), "NGSI-LD API", "NGSI-LD", "application/ld+json", api, "api",
                          "The live entities through the NGSI-LD API (ETSI GS CIM 009)"
                          + (f"; send the header NGSILD-Tenant: {dataset.tenant}" if dataset.tenant else "")))
    return made


def _resource(dataset: Dataset, position: int, name: str, fmt: str, media: str, url: str, kind: str,
              description: str = "") -> dict:
    return {"id": str(uuid.uuid5(NAMESPACE, f"resource:{dataset.id}:{kind}:{fmt}")), "package_id": dataset.id,
            "name": name, "description": description or f"{dataset.title.get('ja') or dataset.name} ({fmt})",
            "format": fmt, "mimetype": media, "url": url, "url_type": None, "resource_type": kind,
            "created": ckan_time(dataset.created), "last_modified": ckan_time(dataset.modified),
            "metadata_modified": ckan_time(dataset.modified), "position": position, "state": "active",
            "size": None, "hash": "", "cache_url": None, "datastore_active": False}


def package_dict(dataset: Dataset, base: str) -> dict:
    title_ja, title_en = dataset.title.get("ja", ""), dataset.title.get("en", "")
    licence_title, licence_url = LICENCES[dataset.licence]
    resources = resources_of(dataset, base)
    tags = [{"id": str(uuid.uuid5(NAMESPACE, "tag:" + k)), "name": k, "display_name": k, "state": "active",
             "vocabulary_id": None} for k in dataset.keywords]
    extras = {"title_en": title_en, "notes_en": dataset.description.get("en", ""), "frequency": dataset.frequency,
              "spatial_text": dataset.spatial, "temporal_start": dataset.temporal_start,
              "temporal_end": dataset.temporal_end, "standard": dataset.standard,
              "standard_title": STANDARDS[dataset.standard].title_ja if dataset.standard else "",
              "entity_type": dataset.type, "tenant": dataset.organisation}
    if bbox := _bbox(dataset.spatial):
        extras["spatial"] = orjson.dumps(bbox).decode()
    organisation = organisation_dict(dataset)
    return {
        "id": dataset.id, "name": dataset.name, "title": title_ja or title_en or dataset.name,
        "notes": dataset.description.get("ja") or dataset.description.get("en") or "",
        "author": dataset.publisher or None, "author_email": None, "maintainer": dataset.publisher or None,
        "maintainer_email": None, "license_id": dataset.licence, "license_title": licence_title,
        "license_url": licence_url, "isopen": True, "url": f"{base}/catalogue/datasets/{dataset.name}",
        "version": None, "state": "active", "type": "dataset", "private": False, "creator_user_id": None,
        "metadata_created": ckan_time(dataset.created), "metadata_modified": ckan_time(dataset.modified),
        "organization": organisation, "owner_org": organisation["id"], "groups": [], "tags": tags,
        "num_tags": len(tags), "resources": resources, "num_resources": len(resources),
        "extras": [{"key": k, "value": v} for k, v in extras.items() if v],
        "relationships_as_object": [], "relationships_as_subject": [],
    }


def _bbox(spatial: str) -> dict | None:
    """A "west,south,east,north" bounding box as a GeoJSON polygon (ckanext-spatial's `spatial` extra)."""
    try:
        west, south, east, north = (float(p) for p in spatial.split(","))
    except ValueError:
        return None
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north],
                                                 [west, south]]]}


# -- actions ----------------------------------------------------------------------------------------

def _open(request: Request) -> list[Dataset]:
    return [d for d in Datasets(request.app.state.toshi.store).all() if d.open]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _int(data: dict, key: str, default: int | None, *, maximum: int | None = None) -> int | None:
    raw = data.get(key)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationError({key: ["Invalid integer"]}) from None
    if value < 0:
        raise ValidationError({key: ["Must be a natural number"]})
    return min(value, maximum) if maximum is not None else value


def _flag(data: dict, key: str) -> bool:
    return str(data.get(key, "")).lower() in ("true", "1", "yes", "on")


def _find(request: Request, data: dict, key: str = "id") -> Dataset:
    wanted = data.get(key) or data.get("name_or_id")
    if not wanted:
        raise ValidationError({"name_or_id" if key == "id" else key: ["Missing value"]})
    found = next((d for d in _open(request) if wanted in (d.name, d.id)), None)
    if found is None:
        raise NotFound()
    return found


def package_list(request: Request, data: dict):
    names = sorted(d.name for d in _open(request))
    offset = _int(data, "offset", 0)
    limit = _int(data, "limit", None)
    return names[offset:offset + limit if limit is not None else None]


def package_show(request: Request, data: dict):
    return package_dict(_find(request, data), _base(request))


def resource_show(request: Request, data: dict):
    wanted = data.get("id")
    if not wanted:
        raise ValidationError({"id": ["Missing value"]})
    base = _base(request)
    for dataset in _open(request):
        for resource in resources_of(dataset, base):
            if resource["id"] == wanted:
                return resource
    raise NotFound("Resource was not found.")


def package_search(request: Request, data: dict):
    rows = _int(data, "rows", ROWS_DEFAULT, maximum=ROWS_MAX)
    start = _int(data, "start", 0)
    query = ckan_search.compile_query(str(data.get("q") or ""))
    filters = data.get("fq_list") or []
    filters = [filters] if isinstance(filters, str) else list(filters)
    wanted = [ckan_search.compile_query(str(f)) for f in (str(data.get("fq") or ""), *filters)]
    base = _base(request)
    packages = [package_dict(d, base) for d in _open(request)]
    found = [p for p in packages if (doc := ckan_search.document(p)) and query(doc) and all(f(doc) for f in wanted)]
    sort = str(data.get("sort") or "score desc, metadata_modified desc")
    for key, direction in reversed(_sort_keys(sort)):
        found.sort(key=lambda p, key=key: p[key] or "", reverse=direction == "desc")
    facets, search_facets = _facets(found, data.get("facet.field"))
    return {"count": len(found), "facets": facets, "results": found[start:start + rows], "sort": sort,
            "search_facets": search_facets}


def _sort_keys(sort: str) -> list[tuple[str, str]]:
    keys = []
    for part in sort.split(","):
        field, _, direction = part.strip().partition(" ")
        if field not in SORTS or direction.strip() not in ("asc", "desc", ""):
            raise ckan_search.SearchQueryError(f"cannot sort by {part.strip()!r}")
        keys.append((SORTS[field], direction.strip() or "asc"))
    return keys


def _facets(packages: list[dict], fields) -> tuple[dict, dict]:
    if not fields:
        return {}, {}
    if isinstance(fields, str):
        try:
            fields = orjson.loads(fields)
        except orjson.JSONDecodeError:
            fields = [fields]
    facets, search_facets = {}, {}
    for field in fields:
        counts: dict[str, int] = {}
        for package in packages:
            for value in ckan_search.document(package).get(field, ()):
                counts[value] = counts.get(value, 0) + 1
        facets[field] = counts
        search_facets[field] = {"title": field, "items": [{"name": k, "display_name": k, "count": v}
                                                          for k, v in sorted(counts.items(), key=lambda i: -i[1])]}
    return facets, search_facets


def organization_list(request: Request, data: dict):
    organisations = {}
    for dataset in _open(request):
        org = organisations.setdefault(dataset.organisation, {**organisation_dict(dataset), "package_count": 0})
        org["package_count"] += 1
    listed = sorted(organisations.values(), key=lambda o: o["name"])
    if data.get("organizations"):
        wanted = data["organizations"]
        wanted = wanted.split(",") if isinstance(wanted, str) else wanted
        listed = [o for o in listed if o["name"] in wanted]
    return listed if _flag(data, "all_fields") else [o["name"] for o in listed]


def tag_list(request: Request, data: dict):
    names = sorted({k for d in _open(request) for k in d.keywords})
    if query := str(data.get("query") or ""):
        names = [n for n in names if query.lower() in n.lower()]
    if _flag(data, "all_fields"):
        return [{"id": str(uuid.uuid5(NAMESPACE, "tag:" + n)), "name": n, "vocabulary_id": None} for n in names]
    return names


def status_show(request: Request, data: dict):
    return {"site_title": "Toshi", "site_description": "Toshi City OS open data catalogue",
            "site_url": _base(request), "ckan_version": "2.10.4", "error_emails_to": None,
            "locale_default": "ja", "extensions": ["toshi-catalogue"], "toshi_version": __version__}


ACTIONS = {f.__name__: f for f in (package_list, package_show, package_search, organization_list, tag_list,
                                   resource_show, status_show)}


async def action(request: Request) -> Response:
    name = request.path_params["action"]
    help_url = f"{_base(request)}/api/3/action/help_show?name={name}"
    function = ACTIONS.get(name)
    if function is None:
        return _answer(400, f"Bad request - Action name not known: {name}")
    try:
        data = await _request_data(request)
    except ValueError as exc:
        return _answer(400, f"Bad request - JSON Error: {exc}")
    answer = {"help": help_url}
    try:
        answer.update(success=True, result=function(request, data))
        return _answer(200, answer)
    except NotFound as exc:
        message = "Not found" + (f": {exc}" if str(exc) else "")
        return _answer(404, {**answer, "success": False, "error": {"__type": "Not Found Error", "message": message}})
    except ValidationError as exc:
        return _answer(409, {**answer, "success": False, "error": {**exc.errors, "__type": "Validation Error"}})
    except ckan_search.SearchQueryError as exc:
        return _answer(400, {**answer, "success": False,
                             "error": {"__type": "Search Query Error", "message": f"Search Query is invalid: {exc}"}})


async def _request_data(request: Request) -> dict:
    """CKAN's request data: a JSON object body (POST), form fields, or the query string (GET)."""
    if request.method == "POST":
        body = await request.body()
        if body.strip():
            if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                form = await request.form()
                return {k: form.getlist(k)[0] if len(form.getlist(k)) == 1 else form.getlist(k) for k in form}
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise ValueError(str(exc)) from None
            if not isinstance(data, dict):
                raise ValueError(f"Request data JSON decoded to {data!r} but it needs to be a dictionary.")
            return data
    params = request.query_params
    return {k: params.getlist(k)[0] if len(params.getlist(k)) == 1 else params.getlist(k) for k in params}


def _answer(status: int, body) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json;charset=utf-8")
