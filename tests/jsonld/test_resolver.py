from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from pyld import jsonld

from toshi.core.errors import BadRequestData, InvalidContext, LdContextNotAvailable
from toshi.jsonld import context as context_module
from toshi.jsonld.context import CORE_URL, CORE_URLS, DEFAULT_VOCAB, core_context
from toshi.jsonld.registry import ContextRegistry, InMemoryContextStore
from toshi.jsonld.resolver import ContextResolver

NGSI = "https://uri.etsi.org/ngsi-ld/"
SDM = "https://smartdatamodels.org/"
PARKING = "https://smartdatamodels.org/dataModel.Parking/"


@pytest.fixture
async def registry() -> ContextRegistry:
    registry = ContextRegistry(InMemoryContextStore(), base_url="http://toshi.test:1026")
    await registry.load()
    return registry


@pytest.fixture
async def resolver(registry: ContextRegistry):
    resolver = ContextResolver(registry, fetch_timeout=1.0, max_size=100_000)
    yield resolver
    await resolver.aclose()


async def test_none_is_core(resolver: ContextResolver) -> None:
    assert await resolver.resolve(None) is core_context()


async def test_sdm_context_round_trip(resolver, registry, context_server) -> None:
    url = context_server.url("/sdm/context.jsonld")
    ctx = await resolver.resolve(url)
    assert ctx.link_url == url and ctx.source == url
    assert ctx.expand_term("OffStreetParking") == PARKING + "OffStreetParking"
    assert ctx.expand_term("availableSpotNumber") == PARKING + "availableSpotNumber"
    assert ctx.expand_term("name") == SDM + "name"
    assert ctx.expand_term("schema:openingHours") == "https://schema.org/openingHours"
    assert ctx.expand_term("unknownThing") == DEFAULT_VOCAB + "unknownThing"
    assert ctx.expand_term("location") == NGSI + "location"
    for term in ["OffStreetParking", "availableSpotNumber", "name", "category", "unknownThing", "location"]:
        assert ctx.compact_iri(ctx.expand_term(term)) == term
    assert ctx.expand_value("free") == PARKING + "free"
    assert ctx.compact_value(PARKING + "free") == "free"
    [record] = registry.records("Cached")[1:]
    assert record["url"] == url and record["kind"] == "Cached"


async def test_cache_hit_fetches_once_and_counts_usage(resolver, registry, context_server) -> None:
    url = context_server.url("/sdm/context.jsonld")
    first = await resolver.resolve(url)
    for _ in range(5):
        assert await resolver.resolve(url) is first
    assert context_server.hits_for(url) == 1
    assert registry.metadata(registry.get(url))["numberOfHits"] == 6
    await registry.flush()
    assert registry.get(url)["numberOfHits"] == 6
    assert registry.get(url)["lastUsage"]


async def test_cached_document_survives_restart(registry, context_server) -> None:
    url = context_server.url("/sdm/context.jsonld")
    first = ContextResolver(registry)
    await first.resolve(url)
    await first.aclose()
    second_registry = ContextRegistry(registry.store)
    await second_registry.load()
    second = ContextResolver(second_registry)
    ctx = await second.resolve(url)
    await second.aclose()
    assert ctx.expand_term("free") == PARKING + "free"
    assert context_server.hits_for(url) == 1


async def test_concurrent_resolves_fetch_once(resolver, context_server) -> None:
    url = context_server.url("/slowish.jsonld")
    results = await asyncio.gather(*(resolver.resolve(url) for _ in range(20)))
    assert all(r is results[0] for r in results)
    assert context_server.hits_for(url) == 1


async def test_concurrent_different_contexts_share_one_download(resolver, context_server) -> None:
    url = context_server.url("/slowish.jsonld")
    values = [url, [url, CORE_URL], [url, {"a": "https://example.org/a"}], {"@import": url}]
    results = await asyncio.gather(*(resolver.resolve(v) for v in values))
    assert all(r.expand_term("slowish") == "https://example.org/slowish" for r in results)
    assert context_server.hits_for(url) == 1


async def test_nested_relative_context_resolves_through_cache(resolver, registry, context_server) -> None:
    sdm = context_server.url("/sdm/context.jsonld", fresh=False)
    await resolver.resolve(sdm)
    before = context_server.hits_for(sdm)
    ctx = await resolver.resolve(context_server.url("/nested.jsonld"))
    assert ctx.expand_term("extra") == "https://example.org/extra"
    assert ctx.expand_term("availableSpotNumber") == PARKING + "availableSpotNumber"
    assert context_server.hits_for(sdm) == before  # the nested URL came from the cache
    assert set(ctx.urls) >= {sdm}


async def test_import(resolver, context_server) -> None:
    url = context_server.url("/sdm/context.jsonld")
    ctx = await resolver.resolve({"@version": 1.1, "@import": url, "mine": "https://example.org/mine"})
    assert ctx.expand_term("mine") == "https://example.org/mine"
    assert ctx.expand_term("free") == PARKING + "free"


async def test_vocab_override_from_remote_context(resolver, context_server) -> None:
    ctx = await resolver.resolve(context_server.url("/vocab.jsonld"))
    assert ctx.expand_term("speed") == "https://example.org/vocab#speed"
    assert ctx.compact_iri("https://example.org/vocab#speed") == "speed"


async def test_link_url(resolver, registry, context_server) -> None:
    url = context_server.url("/sdm/context.jsonld")
    assert (await resolver.resolve([url, CORE_URL])).link_url == url
    assert (await resolver.resolve([CORE_URL])).link_url == CORE_URL
    inline = await resolver.resolve({"a": "https://example.org/a"})
    assert inline.link_url is None
    hosted = await resolver.link_url(inline)
    assert hosted.startswith("http://toshi.test:1026/ngsi-ld/v1/jsonldContexts/")
    assert await resolver.link_url(inline) == hosted
    [record] = registry.records("ImplicitlyCreated")
    assert registry.url_of(record) == hosted and record["context"] == {"a": "https://example.org/a"}
    # the hosted URL resolves locally, without any download
    ctx = await resolver.resolve(hosted)
    assert ctx.expand_term("a") == "https://example.org/a"


async def test_hosted_url_resolves_locally_whatever_the_host(resolver, registry) -> None:
    record = await registry.add_hosted({"h": "https://example.org/h"})
    url = f"http://proxy.example:8080/ngsi-ld/v1/jsonldContexts/{record['id']}"
    assert (await resolver.resolve(url)).expand_term("h") == "https://example.org/h"


async def test_404_is_not_available(resolver, context_server) -> None:
    url = context_server.url("/missing.jsonld")
    with pytest.raises(LdContextNotAvailable) as err:
        await resolver.resolve(url)
    assert err.value.status == 503 and url in err.value.detail and "404" in err.value.detail


async def test_timeout_is_a_gateway_timeout(registry, context_server) -> None:
    resolver = ContextResolver(registry, fetch_timeout=0.2)
    url = context_server.url("/slow.jsonld")
    with pytest.raises(LdContextNotAvailable, match="timed out") as err:
        await resolver.resolve(url)
    assert err.value.status == 504  # a timeout is 504, an unreachable or failing server 503
    await resolver.aclose()


async def test_unreachable_is_not_available(resolver, unreachable_url) -> None:
    with pytest.raises(LdContextNotAvailable) as err:
        await resolver.resolve(unreachable_url)
    assert unreachable_url in err.value.detail


async def test_failed_download_is_retried_later(resolver, context_server) -> None:
    url = context_server.url("/missing.jsonld")
    for _ in range(2):
        with pytest.raises(LdContextNotAvailable):
            await resolver.resolve(url)
    assert context_server.hits_for(url) == 2


@pytest.mark.parametrize("path", ["/invalid.json", "/nocontext.json", "/array.json"])
async def test_not_a_context_document(resolver, context_server, path) -> None:
    url = context_server.url(path)
    with pytest.raises(InvalidContext) as err:
        await resolver.resolve(url)
    assert err.value.status == 400 and url in err.value.detail


async def test_invalid_term_definition(resolver, context_server) -> None:
    with pytest.raises(InvalidContext):
        await resolver.resolve(context_server.url("/badterm.jsonld"))


async def test_size_limit(resolver, context_server) -> None:
    with pytest.raises(LdContextNotAvailable, match="larger than"):
        await resolver.resolve(context_server.url("/big.jsonld"))


async def test_remote_disabled(registry, context_server) -> None:
    resolver = ContextResolver(registry, allow_remote=False)
    url = context_server.url("/sdm/context.jsonld")
    with pytest.raises(LdContextNotAvailable, match="disabled"):
        await resolver.resolve(url)
    assert context_server.hits_for(url) == 0
    assert (await resolver.resolve(CORE_URL)) is core_context()


@pytest.mark.parametrize("bad", [5, [1], [True], ["x", 3.5]])
async def test_bad_shapes(resolver, bad) -> None:
    with pytest.raises(BadRequestData):
        await resolver.resolve(bad)


async def test_relative_url_is_not_available(resolver) -> None:
    with pytest.raises(LdContextNotAvailable):
        await resolver.resolve("context.jsonld")


async def test_reload_replaces_cached_copy(resolver, registry, context_server) -> None:
    url = context_server.url("/sdm/context.jsonld")
    await resolver.resolve(url)
    record_id = registry.get(url)["id"]
    await resolver.reload(url)
    assert context_server.hits_for(url) == 2
    assert registry.get(url)["id"] == record_id


async def test_clear_cache_after_delete(resolver, registry) -> None:
    record = await registry.add_hosted({"h": "https://example.org/h"})
    url = registry.url_of(record)
    await resolver.resolve(url)
    await registry.delete(record["id"])
    resolver.clear_cache()
    with pytest.raises(LdContextNotAvailable):
        await resolver.resolve(url)


async def test_core_context_never_reaches_the_network(registry, monkeypatch) -> None:
    """Core aliases and the embedded copy: no HTTP request, no DNS lookup, no PyLD default loader."""
    requests: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        requests.append(str(request.url))
        raise httpx.ConnectError("network disabled in this test")

    real_getaddrinfo = socket.getaddrinfo

    def local_only(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1"):
            requests.append(f"dns:{host}")
            raise OSError("network disabled in this test")
        return real_getaddrinfo(host, *args, **kwargs)

    def pyld_default_loader(url, options=None):
        requests.append(f"pyld:{url}")
        raise RuntimeError("PyLD default loader used")

    monkeypatch.setattr(socket, "getaddrinfo", local_only)
    monkeypatch.setattr(jsonld, "_default_document_loader", pyld_default_loader)
    for cached in (
        context_module.core_document,
        context_module._unprotected_core,
        context_module._core_parts,
        context_module._core_processed,
        context_module.core_context,
    ):
        cached.cache_clear()
    client = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    resolver = ContextResolver(registry, http_client=client)
    for url in sorted(CORE_URLS) + ["http://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"]:
        ctx = await resolver.resolve(url)
        assert ctx.expand_term("location") == NGSI + "location"
    ctx = await resolver.resolve([{"speed": "https://example.org/speed"}, CORE_URL])
    assert ctx.expand_term("speed") == "https://example.org/speed"
    ctx = await resolver.resolve(
        ["https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.3.jsonld", {"x": "ngsi-ld:x"}]
    )
    assert ctx.expand_term("x") == NGSI + "x"
    assert requests == []
    await client.aclose()
