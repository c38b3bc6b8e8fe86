"""ngsildclient 0.5.2, unmodified, against a real `toshi serve`: every operation it offers that the
spec allows (its `flush_all` calls `purge` with a wrong argument and its `contexts.cleanup` deletes the
core @context, which the spec forbids; both fail on any broker)."""

from __future__ import annotations

import pytest

ngsildclient = pytest.importorskip("ngsildclient")


@pytest.fixture
def ld(server):
    port = int(server.url.rsplit(":", 1)[1])
    client = ngsildclient.Client(hostname="127.0.0.1", port=port, port_temporal=port)
    yield client
    client.close()


def room(n: int, temperature: float = 20.0):
    entity = ngsildclient.Entity("Room", f"Room:{n:03d}")
    entity.prop("temperature", temperature, unitcode="CEL", observedat="2022-01-01T12:00:00Z")
    entity.gprop("location", (34.82, 135.47 + n / 1000))
    entity.rel("isContainedIn", "Building:Toyono")
    return entity


def test_single_entity_operations(ld):
    assert ld.create(room(1))
    assert ld.exists("urn:ngsi-ld:Room:001")
    fetched = ld.get("urn:ngsi-ld:Room:001")
    assert fetched["temperature"]["value"] == 20.0
    assert fetched["temperature"]["observedAt"] == "2022-01-01T12:00:00Z"
    assert ld.update(room(1, 23.4))
    assert ld.get("urn:ngsi-ld:Room:001")["temperature"]["value"] == 23.4
    assert ld.upsert(room(2))
    assert ld.entities.exists("urn:ngsi-ld:Room:002")
    assert ld.delete(room(2))
    assert not ld.exists("urn:ngsi-ld:Room:002")


def test_batch_operations(ld):
    assert ld.create(room(1), room(2)).ok
    assert ld.batch.update([room(1, 30.0)]).ok
    assert ld.batch.upsert([room(3)]).ok
    assert ld.get("urn:ngsi-ld:Room:001")["temperature"]["value"] == 30.0
    assert ld.batch.delete([room(1), room(2)]).ok  # a JSON array of ids, sent as application/ld+json
    assert [ld.exists(f"urn:ngsi-ld:Room:{n:03d}") for n in (1, 2, 3)] == [False, False, True]


def test_queries_and_counts(ld):
    ld.create(room(1, 21.0), room(2, 23.0), room(3, 25.0))
    assert [e["id"] for e in ld.query(type="Room", q="temperature>22")] == ["urn:ngsi-ld:Room:002",
                                                                            "urn:ngsi-ld:Room:003"]
    assert len(ld.query_head(type="Room", n=2)) == 2
    assert len(list(ld.query_generator(type="Room"))) == 3
    seen = []
    ld.query_handle(type="Room", callback=seen.append)
    assert len(seen) == 3
    assert ld.count(type="Room") == 3  # sent as options=count
    assert ld.entities.count(type="Room", q="temperature<22") == 1
    assert ld.types.list() == ["Room"]


def test_deleting_by_query_and_type(ld):
    ld.create(room(1), room(2))
    ld.delete_where(type="Room", q="temperature==20.0")
    assert ld.count(type="Room") == 0
    ld.create(room(3))
    ld.drop("Room")
    assert ld.count(type="Room") == 0
    ld.create(room(4))
    ld.purge()
    assert ld.count(type="Room") == 0


def test_subscription_operations(ld):
    subscription = (ngsildclient.SubscriptionBuilder("http://127.0.0.1:9/notify").description("rooms")
                    .select_type("Room").watch(["temperature"]).build())
    subscription_id = ld.subscriptions.create(subscription)
    assert [s["id"] for s in ld.subscriptions.list()] == [subscription_id]
    assert ld.subscriptions.conflicts(subscription) == []
    assert ld.subscriptions.get(subscription_id)["description"] == "rooms"
    assert ld.subscriptions.exists(subscription_id)
    assert ld.subscriptions.delete("rooms")
    assert ld.subscriptions.list() == []


def test_context_operations(ld):
    ld.contexts.add({"@context": {"Room": "https://example.org/town/Room"}})  # POSTs to /jsonldContexts/
    hosted = [url for url in ld.contexts.list() if "ngsi-ld-core-context" not in url]
    assert len(hosted) == 1
    assert ld.contexts.exists(hosted[0])
    assert ld.contexts.get(hosted[0]) == {"@context": {"Room": "https://example.org/town/Room"}}
    assert ld.contexts.delete(hosted[0])
    assert not ld.contexts.exists(hosted[0])


def test_temporal_operations(ld):
    """Retrieve, query (sent with options=count,temporalValues) and aggregate the history."""
    ld.create(room(1))
    ld.update(room(1, 23.4))
    history = ld.temporal.get("urn:ngsi-ld:Room:001")
    assert [value for value, _ in history["temperature"]["values"]] == [20.0, 23.4]
    [queried] = ld.temporal.query(type="Room", attrs=["temperature"])
    assert [value for value, _ in queried["temperature"]["values"]] == [20.0, 23.4]
    aggregated = ld.temporal.aggregate(type="Room", attrs=["temperature"]).result
    assert [row[0] for row in aggregated[0]["temperature"]["avg"]] == [21.7]
