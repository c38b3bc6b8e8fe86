"""The catalogue in DCAT (W3C DCAT 2, with the classes and properties DCAT-AP asks for), as JSON-LD
or Turtle, built with rdflib. For Japanese portals (DCAT-AP-JP practice): every text in Japanese
and English with language tags, the licence on the dataset as well as on each distribution, and the
standard dataset it implements as dct:conformsTo."""

from __future__ import annotations

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, XSD

from toshi.catalogue.ckan import resources_of
from toshi.catalogue.datasets import LICENCES, Dataset
from toshi.catalogue.distributions import FORMATS
from toshi.catalogue.standards import STANDARDS

FREQUENCY = Namespace("http://publications.europa.eu/resource/authority/frequency/")
FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
MEDIA = Namespace("http://www.iana.org/assignments/media-types/")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
STANDARD_PAGE = "https://www.digital.go.jp/resources/open_data/municipal-standard-data-set-test"
FILE_TYPES = {"csv": "CSV", "geojson": "GEOJSON", "jsonld": "JSON_LD"}
CONTEXT = {"dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "rdfs": str(RDFS), "xsd": str(XSD),
           "gsp": str(GSP)}


def catalogue_graph(datasets: list[Dataset], base: str) -> Graph:
    graph = Graph()
    for prefix, namespace in CONTEXT.items():
        graph.bind(prefix, namespace)
    catalogue = URIRef(f"{base}/catalog")
    graph.add((catalogue, RDF.type, DCAT.Catalog))
    graph.add((catalogue, DCTERMS.title, Literal("Toshi オープンデータカタログ", lang="ja")))
    graph.add((catalogue, DCTERMS.title, Literal("Toshi open data catalogue", lang="en")))
    graph.add((catalogue, DCTERMS.description, Literal("都市OSの公開データ（常に最新の状態）", lang="ja")))
    graph.add((catalogue, DCTERMS.description, Literal("The open data of the City OS, always live", lang="en")))
    graph.add((catalogue, FOAF.homepage, URIRef(f"{base}/catalog")))
    service = URIRef(f"{base}/ngsi-ld/v1")
    graph.add((service, RDF.type, DCAT.DataService))
    graph.add((service, DCTERMS.title, Literal("NGSI-LD API", lang="en")))
    graph.add((service, DCAT.endpointURL, service))
    graph.add((service, DCTERMS.conformsTo, URIRef("https://www.etsi.org/deliver/etsi_gs/CIM/001_099/009/")))
    graph.add((catalogue, DCAT.service, service))
    publishers = {}
    for dataset in datasets:
        node = _dataset(graph, dataset, base, service, publishers)
        graph.add((catalogue, DCAT.dataset, node))
        graph.add((service, DCAT.servesDataset, node))
    if datasets:
        graph.add((catalogue, DCTERMS.modified, Literal(max(d.modified for d in datasets), datatype=XSD.dateTime)))
    return graph


def _dataset(graph: Graph, dataset: Dataset, base: str, service: URIRef, publishers: dict) -> URIRef:
    node = URIRef(f"{base}/catalogue/datasets/{dataset.name}")
    add = graph.add
    add((node, RDF.type, DCAT.Dataset))
    add((node, DCTERMS.identifier, Literal(dataset.id)))
    for language, text in dataset.title.items():
        add((node, DCTERMS.title, Literal(text, lang=language)))
    for language, text in dataset.description.items():
        add((node, DCTERMS.description, Literal(text, lang=language)))
    for keyword in dataset.keywords:
        add((node, DCAT.keyword, Literal(keyword, lang="ja")))
    add((node, DCTERMS.issued, Literal(dataset.created, datatype=XSD.dateTime)))
    add((node, DCTERMS.modified, Literal(dataset.modified, datatype=XSD.dateTime)))
    add((node, DCTERMS.accrualPeriodicity, FREQUENCY[dataset.frequency]))
    licence = URIRef(LICENCES[dataset.licence][1])
    add((node, DCTERMS.license, licence))
    add((node, DCAT.landingPage, node))
    add((node, DCTERMS.publisher, _publisher(graph, dataset, base, publishers)))
    if dataset.standard:
        standard_node = URIRef(f"{STANDARD_PAGE}#{dataset.standard}")
        add((standard_node, RDF.type, DCTERMS.Standard))
        add((standard_node, DCTERMS.title, Literal(STANDARDS[dataset.standard].title_ja, lang="ja")))
        add((standard_node, DCTERMS.title, Literal(STANDARDS[dataset.standard].title_en, lang="en")))
        add((node, DCTERMS.conformsTo, standard_node))
    if dataset.spatial:
        place = BNode()
        add((place, RDF.type, DCTERMS.Location))
        bbox = _wkt(dataset.spatial)
        if bbox:
            add((place, DCAT.bbox, Literal(bbox, datatype=GSP.wktLiteral)))
        else:
            add((place, RDFS.label, Literal(dataset.spatial, lang="ja")))
        add((node, DCTERMS.spatial, place))
    if dataset.temporal_start or dataset.temporal_end:
        period = BNode()
        add((period, RDF.type, DCTERMS.PeriodOfTime))
        if dataset.temporal_start:
            add((period, DCAT.startDate, Literal(dataset.temporal_start, datatype=XSD.date)))
        if dataset.temporal_end:
            add((period, DCAT.endDate, Literal(dataset.temporal_end, datatype=XSD.date)))
        add((node, DCTERMS.temporal, period))
    for resource in resources_of(dataset, base):
        _distribution(graph, node, resource, licence, service)
    return node


def _publisher(graph: Graph, dataset: Dataset, base: str, publishers: dict) -> URIRef:
    agent = publishers.get(dataset.organisation)
    if agent is None:
        agent = publishers[dataset.organisation] = URIRef(f"{base}/catalogue/publishers/{dataset.organisation}")
        graph.add((agent, RDF.type, FOAF.Agent))
        graph.add((agent, FOAF.name, Literal(dataset.publisher or dataset.organisation, lang="ja")))
    return agent


def _distribution(graph: Graph, dataset_node: URIRef, resource: dict, licence: URIRef, service: URIRef) -> None:
    add = graph.add
    node = URIRef(f"{dataset_node}#{resource['format'].lower()}")
    add((dataset_node, DCAT.distribution, node))
    add((node, RDF.type, DCAT.Distribution))
    add((node, DCTERMS.title, Literal(resource["name"])))
    add((node, DCAT.accessURL, URIRef(resource["url"])))
    add((node, DCTERMS.license, licence))
    add((node, DCAT.mediaType, MEDIA[resource["mimetype"]]))
    key = next((k for k, f in FORMATS.items() if f.label == resource["format"]), None)
    if key is not None:
        add((node, DCAT.downloadURL, URIRef(resource["url"])))
        add((node, DCTERMS.format, FILE_TYPE[FILE_TYPES[key]]))
    else:
        add((node, DCAT.accessService, service))
        add((node, DCTERMS.description, Literal(resource["description"], lang="en")))


def _wkt(spatial: str) -> str | None:
    try:
        west, south, east, north = (float(p) for p in spatial.split(","))
    except ValueError:
        return None
    return f"POLYGON(({west} {south},{east} {south},{east} {north},{west} {north},{west} {south}))"


def serialise(graph: Graph, media: str) -> bytes:
    if media == "text/turtle":
        return graph.serialize(format="turtle").encode()
    return graph.serialize(format="json-ld", context=CONTEXT, auto_compact=True).encode()
