"""Harvest in: a dataset another catalogue publishes through the CKAN Action API (another Toshi, a
CKAN portal) or describes in DCAT (DCAT-AP as Turtle, JSON-LD or RDF/XML, read with rdflib), pulled
into this town's entities. The package is read with `package_show`, its CSV
resource downloaded (every connection through the outbound policy: no internal address unless the
town allows it), and the file imported as `toshi import` imports one: a standard dataset recognised by
its headers, or an existing dataset's mapping; every row validated; written only when all are valid.
Harvesting again updates what changed (and, with `prune`, removes what vanished)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from toshi.catalogue.csv_import import ImportRefused
from toshi.catalogue.importing import run_import
from toshi.core.outbound import OutboundRefused, outbound_policy
from toshi.core.progress import Progress

if TYPE_CHECKING:
    import httpx

MAX_BYTES = 200 * 1024 * 1024  # a CSV larger than this is refused, not read into memory
TIMEOUT = 60.0


class HarvestRefused(ValueError):
    """The source cannot be harvested (unreachable, not CKAN, no CSV, too large); nothing was written."""


async def harvest(services, source: str, package: str, tenant: str, name: str, *, confirm: bool = True,
                  prune: bool = False, progress: Progress | None = None) -> dict:
    """The import's report (toshi/catalogue/importing.py) with where the data came from."""
    base = source.rstrip("/")
    if base.endswith("/api/3/action"):
        base = base.removesuffix("/api/3/action")
    policy = outbound_policy(services.settings)
    shown = await _get(policy, f"{base}/api/3/action/package_show", {"id": package}, "the package")
    try:
        answer = shown.json()
    except ValueError:
        raise HarvestRefused(f"{base} does not answer as a CKAN Action API (package_show gave no JSON)") from None
    if not isinstance(answer, dict) or not answer.get("success") or not isinstance(answer.get("result"), dict):
        error = answer.get("error", {}) if isinstance(answer, dict) else {}
        raise HarvestRefused(f"{base} has no package {package!r} ({error.get('message') or error or 'no result'})")
    resource = csv_resource(answer["result"])
    if resource is None:
        raise HarvestRefused(f"the package {package!r} of {base} has no CSV resource to harvest")
    data = (await _get(policy, resource["url"], None, "its CSV resource")).content
    try:
        report = await run_import(services, tenant, name, data, confirm=confirm, prune=prune, progress=progress)
    except ImportRefused as exc:
        raise HarvestRefused(f"the CSV of {package!r} cannot be imported: {exc}") from None
    report["source"] = {"catalogue": base, "package": answer["result"].get("name") or package,
                        "resource": resource["url"]}
    return report


RDF_MEDIA = {"text/turtle": "turtle", "application/ld+json": "json-ld", "application/json": "json-ld",
             "application/rdf+xml": "xml", "application/n-triples": "nt"}
RDF_SUFFIX = {".ttl": "turtle", ".jsonld": "json-ld", ".json": "json-ld", ".rdf": "xml", ".xml": "xml", ".nt": "nt"}


async def harvest_dcat(services, source: str, package: str, tenant: str, name: str, *, confirm: bool = True,
                       prune: bool = False, progress: Progress | None = None) -> dict:
    """As `harvest`, from a DCAT catalogue document at `source`: the dcat:Dataset whose
    dct:identifier or IRI is `package`, its CSV distribution's downloadURL (else accessURL)."""
    from rdflib import Graph

    policy = outbound_policy(services.settings)
    answer = await _get(policy, source, None, "the catalogue",
                        {"Accept": "text/turtle, application/ld+json;q=0.9, application/rdf+xml;q=0.8"})
    media = answer.headers.get("content-type", "").split(";")[0].strip().lower()
    syntax = RDF_MEDIA.get(media) or next((f for x, f in RDF_SUFFIX.items() if source.split("?")[0].endswith(x)), None)
    if syntax is None:
        raise HarvestRefused(f"{source} is not a DCAT catalogue (it answered {media or 'no media type'}; "
                             "Turtle, JSON-LD or RDF/XML are read)")
    graph = Graph()
    try:
        graph.parse(data=answer.content, format=syntax, publicID=source)
    except Exception as exc:  # rdflib's parsers raise many kinds
        raise HarvestRefused(f"{source} cannot be read as {syntax} ({type(exc).__name__}: {exc})") from None
    node = dcat_dataset(graph, package)
    if node is None:
        raise HarvestRefused(f"the DCAT catalogue {source} has no dataset {package!r} (by dct:identifier or IRI)")
    url = dcat_csv(graph, node)
    if url is None:
        raise HarvestRefused(f"the dataset {package!r} of {source} has no CSV distribution to harvest")
    data = (await _get(policy, url, None, "its CSV distribution")).content
    try:
        report = await run_import(services, tenant, name, data, confirm=confirm, prune=prune, progress=progress)
    except ImportRefused as exc:
        raise HarvestRefused(f"the CSV of {package!r} cannot be imported: {exc}") from None
    report["source"] = {"catalogue": source, "dataset": str(node), "distribution": url}
    return report


def dcat_dataset(graph, package: str):
    """The dcat:Dataset whose IRI or dct:identifier is `package` (None when there is none)."""
    from rdflib import Literal, URIRef
    from rdflib.namespace import DCAT, DCTERMS, RDF

    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    if URIRef(package) in datasets:
        return URIRef(package)
    found = sorted((d for d in datasets if any(str(i) == package for i in graph.objects(d, DCTERMS.identifier)
                                               if isinstance(i, Literal | URIRef))), key=str)
    return found[0] if found else None


def dcat_csv(graph, dataset) -> str | None:
    """The downloadURL (else accessURL) of the dataset's first CSV distribution (by dcat:mediaType,
    else dct:format: an IANA or EU file-type IRI, or a plain literal)."""
    from rdflib.namespace import DCAT, DCTERMS

    def last(term) -> str:
        return str(term).rstrip("/").rsplit("/", 1)[-1].lower()

    def is_csv(distribution) -> bool:
        if any(str(m).lower().endswith("text/csv") for m in graph.objects(distribution, DCAT.mediaType)):
            return True
        return any(last(f) == "csv" for f in graph.objects(distribution, DCTERMS.format))

    for distribution in sorted(graph.objects(dataset, DCAT.distribution), key=str):
        if is_csv(distribution):
            url = graph.value(distribution, DCAT.downloadURL) or graph.value(distribution, DCAT.accessURL)
            if url is not None:
                return str(url)
    return None


def csv_resource(package: dict) -> dict | None:
    """The package's first CSV resource (by format, else by media type) that has a URL."""
    resources = [r for r in package.get("resources") or () if isinstance(r, dict) and r.get("url")]
    for matches in (lambda r: str(r.get("format", "")).strip().lower() == "csv",
                    lambda r: str(r.get("mimetype") or "").split(";")[0].strip().lower() == "text/csv"):
        found = next((r for r in resources if matches(r)), None)
        if found is not None:
            return found
    return None


async def _get(policy, url: str, params: dict | None, what: str, headers: dict | None = None) -> httpx.Response:
    import httpx

    try:
        await policy.check(url)
        target, host, extensions = await policy.pinned(url)
    except OutboundRefused as exc:
        raise HarvestRefused(f"{what} at {url} may not be fetched: {exc}") from None
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client, \
                client.stream("GET", target, params=params, headers={**(headers or {}), **host},
                              extensions=extensions) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise HarvestRefused(f"{what} at {url} is larger than {MAX_BYTES // 2**20} MB")
    except httpx.HTTPError as exc:
        raise HarvestRefused(f"cannot fetch {what} at {url} ({exc or type(exc).__name__}): check the "
                             "address and that the catalogue is reachable from this machine") from None
    if response.status_code != 200 and not (what == "the package" and response.status_code in (404, 409)):
        raise HarvestRefused(f"{what} at {url} answered HTTP {response.status_code}")
    return httpx.Response(response.status_code, headers=response.headers, content=bytes(body))
