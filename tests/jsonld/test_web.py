from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from toshi.core.errors import NgsiError
from toshi.jsonld.context import CORE_URL
from toshi.jsonld.registry import ContextRegistry, InMemoryContextStore
from toshi.jsonld.resolver import ContextResolver
from toshi.jsonld.web import routes

BASE = "http://toshi.test:1026"
PATH = "/ngsi-ld/v1/jsonldContexts"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
USER_CONTEXT = {"Shelter": "https://example.org/Shelter", "occupancy": "https://example.org/occupancy"}


async def render_problem(request: Request, exc: NgsiError) -> Response:
    return Response(orjson.dumps(exc.problem()), status_code=exc.status, media_type="application/json")


@pytest.fixture
async def api():
    registry = ContextRegistry(InMemoryContextStore(), base_url=BASE)
    await registry.load()
    resolver = ContextResolver(registry, fetch_timeout=1.0)
    app = Starlette(routes=routes(resolver, registry), exception_handlers={NgsiError: render_problem})
    async with httpx.AsyncClient(app=app, base_url=BASE) as client:
        client.registry, client.resolver = registry, resolver  # type: ignore[attr-defined]
        yield client
    await resolver.aclose()


async def post_context(api, body, content_type: str = "application/json") -> httpx.Response:
    return await api.post(PATH, content=orjson.dumps(body), headers={"Content-Type": content_type})


def local_path(url: str) -> str:
    assert url.startswith(BASE + PATH + "/")
    return url[len(BASE) :]


async def test_create_serve_and_delete_hosted_context(api) -> None:
    created = await post_context(api, {"@context": USER_CONTEXT})
    assert created.status_code == 201
    location = created.headers["Location"]
    served = await api.get(local_path(location))
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("application/ld+json")
    assert served.json() == {"@context": USER_CONTEXT}

    details = (await api.get(local_path(location), params={"details": "true"})).json()
    assert details["URL"] == location and details["kind"] == "Hosted"
    assert location.endswith(details["localId"])
    assert details["timestamp"].endswith("Z") and details["numberOfHits"] == 0

    assert (await api.delete(local_path(location))).status_code == 204
    gone = await api.get(local_path(location))
    assert gone.status_code == 404 and gone.json()["type"] == ERRORS + "ResourceNotFound"


async def test_create_accepts_ld_json_and_arrays(api) -> None:
    assert (await post_context(api, {"@context": [USER_CONTEXT]}, "application/ld+json")).status_code == 201
    created = await post_context(api, [USER_CONTEXT, CORE_URL])
    assert created.status_code == 201
    assert (await api.get(local_path(created.headers["Location"]))).json() == {
        "@context": [USER_CONTEXT, CORE_URL]
    }


async def test_hosted_context_is_usable_by_url(api) -> None:
    location = (await post_context(api, {"@context": USER_CONTEXT})).headers["Location"]
    ctx = await api.resolver.resolve(location)
    assert ctx.expand_term("Shelter") == "https://example.org/Shelter"
    assert ctx.link_url == location
    details = (await api.get(local_path(location), params={"details": "true"})).json()
    assert details["numberOfHits"] == 1 and "lastUsage" in details


@pytest.mark.parametrize(
    "body, status, kind",
    [
        ({"Shelter": "https://example.org/Shelter"}, 400, "BadRequestData"),  # no @context member
        ({"@context": 5}, 400, "BadRequestData"),
        ({"@context": {"broken": 5}}, 400, "BadRequestData"),
        ("just a string", 400, "BadRequestData"),
    ],
)
async def test_create_rejects_bad_payloads(api, body, status, kind) -> None:
    response = await post_context(api, body)
    assert response.status_code == status
    assert response.json()["type"] == ERRORS + kind


async def test_create_rejects_invalid_json_and_media_type(api) -> None:
    response = await api.post(PATH, content=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["type"] == ERRORS + "InvalidRequest"
    response = await api.post(PATH, content=b"{}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


async def test_create_with_unreachable_remote_reference(api, unreachable_url) -> None:
    response = await post_context(api, {"@context": [unreachable_url, USER_CONTEXT]})
    assert response.status_code == 503
    assert response.json()["type"] == ERRORS + "LdContextNotAvailable"
    assert unreachable_url in response.json()["detail"]


async def test_list_contexts_with_kinds_and_details(api, context_server) -> None:
    hosted = (await post_context(api, {"@context": USER_CONTEXT})).headers["Location"]
    cached = context_server.url("/sdm/context.jsonld")
    await api.resolver.resolve(cached)
    implicit = await api.resolver.link_url(await api.resolver.resolve({"i": "https://example.org/i"}))

    urls = (await api.get(PATH)).json()
    assert urls[0] == CORE_URL
    assert set(urls) == {CORE_URL, hosted, cached, implicit}

    assert (await api.get(PATH, params={"kind": "Hosted"})).json() == [hosted]
    assert (await api.get(PATH, params={"kind": "ImplicitlyCreated"})).json() == [implicit]
    assert (await api.get(PATH, params={"kind": "Cached"})).json() == [CORE_URL, cached]

    details = (await api.get(PATH, params={"details": "true"})).json()
    assert {d["kind"] for d in details} == {"Hosted", "Cached", "ImplicitlyCreated"}
    assert all({"URL", "localId", "kind", "timestamp", "numberOfHits"} <= d.keys() for d in details)
    sdm = next(d for d in details if d["URL"] == cached)
    assert sdm["numberOfHits"] == 1


async def test_list_rejects_bad_parameters(api) -> None:
    assert (await api.get(PATH, params={"kind": "Other"})).status_code == 400
    assert (await api.get(PATH, params={"details": "yes"})).status_code == 400


async def test_cached_context_is_not_served_but_has_details(api, context_server) -> None:
    url = context_server.url("/sdm/context.jsonld")
    await api.resolver.resolve(url)
    local_id = api.registry.get(url)["id"]
    response = await api.get(f"{PATH}/{local_id}")
    assert response.status_code == 422 and response.json()["type"] == ERRORS + "OperationNotSupported"
    details = (await api.get(f"{PATH}/{local_id}", params={"details": "true"})).json()
    assert details["URL"] == url and details["kind"] == "Cached"
    # a Cached context can also be addressed by its original URL
    by_url = await api.get(f"{PATH}/{quote(url, safe='')}", params={"details": "true"})
    assert by_url.json()["localId"] == local_id


async def test_delete_cached_context_refetches_on_next_use(api, context_server) -> None:
    url = context_server.url("/sdm/context.jsonld")
    await api.resolver.resolve(url)
    assert (await api.delete(f"{PATH}/{api.registry.get(url)['id']}")).status_code == 204
    assert api.registry.get(url) is None
    await api.resolver.resolve(url)
    assert context_server.hits_for(url) == 2


async def test_reload_cached_context(api, context_server) -> None:
    url = context_server.url("/sdm/context.jsonld")
    await api.resolver.resolve(url)
    local_id = api.registry.get(url)["id"]
    response = await api.delete(f"{PATH}/{local_id}", params={"reload": "true"})
    assert response.status_code == 204
    assert context_server.hits_for(url) == 2
    assert api.registry.get(url)["id"] == local_id


async def test_reload_failure_keeps_old_copy(api, context_server) -> None:
    url = context_server.url("/sdm/context.jsonld")
    await api.resolver.resolve(url)
    local_id = api.registry.get(url)["id"]
    original = context_server.documents["/sdm/context.jsonld"]
    context_server.documents["/sdm/context.jsonld"] = (500, b"oops", 0.0)
    try:
        response = await api.delete(f"{PATH}/{local_id}", params={"reload": "true"})
    finally:
        context_server.documents["/sdm/context.jsonld"] = original
    assert response.status_code == 503 and response.json()["type"] == ERRORS + "LdContextNotAvailable"
    assert api.registry.get(url)["id"] == local_id


async def test_reload_of_hosted_context_is_bad_request(api) -> None:
    location = (await post_context(api, {"@context": USER_CONTEXT})).headers["Location"]
    response = await api.delete(local_path(location), params={"reload": "true"})
    assert response.status_code == 400 and response.json()["type"] == ERRORS + "BadRequestData"


async def test_core_context_cannot_be_deleted(api) -> None:
    core = (await api.get(PATH, params={"details": "true", "kind": "Cached"})).json()[0]
    assert core["URL"] == CORE_URL
    for ref in (core["localId"], CORE_URL):
        response = await api.delete(f"{PATH}/{ref}")
        assert response.status_code == 400 and response.json()["type"] == ERRORS + "BadRequestData"
    assert (await api.delete(f"{PATH}/{core['localId']}", params={"reload": "true"})).status_code == 204
    assert (await api.get(f"{PATH}/{core['localId']}")).status_code == 422


async def test_unknown_context_is_404(api) -> None:
    for method in (api.get, api.delete):
        response = await method(f"{PATH}/no-such-context")
        assert response.status_code == 404 and response.json()["type"] == ERRORS + "ResourceNotFound"


async def test_delete_hosted_context_invalidates_processed_contexts(api) -> None:
    location = (await post_context(api, {"@context": USER_CONTEXT})).headers["Location"]
    await api.resolver.resolve([location, {"x": "https://example.org/x"}])
    assert (await api.delete(local_path(location))).status_code == 204
    with pytest.raises(NgsiError) as err:
        await api.resolver.resolve([location, {"x": "https://example.org/x"}])
    assert err.value.status == 503


async def test_details_carry_created_at(api) -> None:
    """v1.9 clause 5.13.3.5 names the creation time createdAt (v1.8's `timestamp` is kept beside it)."""
    location = (await post_context(api, {"@context": USER_CONTEXT})).headers["Location"]
    details = (await api.get(local_path(location), params={"details": "true"})).json()
    assert details["createdAt"] == details["timestamp"] and details["createdAt"].endswith("Z")


# -- a Hosted @context belongs to the tenant that added it (5.13.2-5.13.5 within a tenant, 5.5.10) ----

async def hosted_in(api, tenant: str) -> str:
    created = await api.post(PATH, content=orjson.dumps({"@context": USER_CONTEXT}),
                             headers={"Content-Type": "application/json", "NGSILD-Tenant": tenant})
    assert created.status_code == 201
    return created.headers["Location"].rsplit("/", 1)[-1]


async def test_a_hosted_context_is_not_served_to_another_tenant(api) -> None:
    local_id = await hosted_in(api, "osaka")
    for params in ({}, {"details": "true"}):
        other = await api.get(f"{PATH}/{local_id}", params=params, headers={"NGSILD-Tenant": "kyoto"})
        assert other.status_code == 404 and "Shelter" not in other.text
    assert (await api.get(f"{PATH}/{local_id}", headers={"NGSILD-Tenant": "osaka"})).json() == {"@context": USER_CONTEXT}


async def test_a_hosted_context_is_listed_to_its_tenant_only(api) -> None:
    local_id = await hosted_in(api, "osaka")
    for params in ({}, {"details": "true"}):
        assert local_id not in (await api.get(PATH, params=params, headers={"NGSILD-Tenant": "kyoto"})).text
        assert local_id not in (await api.get(PATH, params=params)).text
    assert local_id in (await api.get(PATH, headers={"NGSILD-Tenant": "osaka"})).text


async def test_a_hosted_context_is_not_deleted_by_another_tenant(api) -> None:
    local_id = await hosted_in(api, "osaka")
    assert (await api.delete(f"{PATH}/{local_id}", headers={"NGSILD-Tenant": "kyoto"})).status_code == 404
    assert (await api.get(f"{PATH}/{local_id}", headers={"NGSILD-Tenant": "osaka"})).status_code == 200
    assert (await api.delete(f"{PATH}/{local_id}", headers={"NGSILD-Tenant": "osaka"})).status_code == 204


async def test_a_malformed_tenant_is_bad_request_data(api) -> None:
    response = await api.get(PATH, headers={"NGSILD-Tenant": "no/slash"})
    assert response.status_code == 400 and response.json()["type"] == ERRORS + "BadRequestData"


async def test_the_list_of_an_unknown_tenant_is_nonexistent_tenant(api) -> None:
    """Reading from a tenant that does not exist is 404 NonexistentTenant, as for entities (4.14)."""
    for path in (PATH, f"{PATH}/ngsi-ld-core-context"):
        response = await api.get(path, headers={"NGSILD-Tenant": "nowhere"})
        assert response.status_code == 404 and response.json()["type"] == ERRORS + "NonexistentTenant"


async def test_a_tenant_that_added_a_context_exists_for_the_context_api(api) -> None:
    local_id = await hosted_in(api, "osaka")
    listed = await api.get(PATH, headers={"NGSILD-Tenant": "osaka"})
    assert listed.status_code == 200 and listed.json()[-1].endswith(local_id)


async def test_times_in_the_details_have_milliseconds(api) -> None:
    """createdAt is written as the broker's other timestamps (createdAt of entities: UTC, milliseconds)."""
    location = (await post_context(api, {"@context": USER_CONTEXT})).headers["Location"]
    details = (await api.get(local_path(location), params={"details": "true"})).json()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", details["createdAt"])


async def test_a_stored_time_with_microseconds_is_shown_with_milliseconds(api) -> None:
    location = (await post_context(api, {"@context": USER_CONTEXT})).headers["Location"]
    api.registry.get(location)["timestamp"] = "2026-11-24T09:00:00.123456Z"  # as records were once stored
    details = (await api.get(local_path(location), params={"details": "true"})).json()
    assert details["createdAt"] == details["timestamp"] == "2026-11-24T09:00:00.123Z"
