"""A randomised leak test: many residents, random consents and revocations, random recipients and
purposes reading through the outlets of both APIs — entity retrieve and query pages, batch query,
GeoJSON, temporal, NGSI-v2, the catalogue's CSV and GeoJSON downloads — and receiving, after random
writes, NGSI-LD and NGSI-v2 notifications and live-stream (SSE) events. Not one non-consented value
may reach a recipient, every consented one must, and each resident's access log must list exactly
the reads that released their data (and, for what went out in the background, exactly the
recipients and purposes that held a consent when it went).

Everything runs in this process: the app through its TestClient, the live streams as ASGI calls on
the TestClient's event loop, the notification receiver as an HTTP server thread."""

from __future__ import annotations

import random
from collections import Counter

import anyio
import orjson
from consent_town import LD
from support import Receiver, wait_until

RESIDENTS, PROVIDERS, READS = 30, 5, 10_000
PAGE = 5
GRANT, REVOKE, WRITE = 0.04, 0.04, 0.002  # the share of each kind of action (the rest: reads)
WRITES_PER_ROUND = 4
PURPOSES = ["care-planning", "watch-over", None]
CATEGORIES = {"diagnosis": "sensitive", "phone": "personal", "home": "location"}
DECLARATION = {"id": "records", "type": "CareRecord", "subject": "resident",
               "attributes": {**CATEGORIES, "resident": "personal"}}
PAGED = {1, 2, 3, 7, 8}      # outlets answering a page of entities
SINGLE = {0, 4, 5, 6}        # outlets answering the one entity asked for
CATALOGUE = {9, 10}          # the open-data downloads (anonymous)


def record(n: int) -> dict:
    return {"id": f"urn:ngsi-ld:CareRecord:{n}", "type": "CareRecord",
            "resident": {"type": "Relationship", "object": f"urn:ngsi-ld:Person:{n}"},
            "ward": {"type": "Property", "value": f"ward-{n}"},
            "status": {"type": "Property", "value": "status-0-x"},
            **{name: {"type": "Property", "value": secret(n, name)} for name in CATEGORIES}}


def secret(n: int, name: str) -> str:
    return f"{name}-of-resident-{n}-x"


def number(entity: dict) -> int:
    return int(entity["id"].rsplit(":", 1)[1])


def read(c, outlet: int, n: int, offset: int, ld: dict, v2: dict):
    """One outlet's answer: (response, the entities in it as JSON objects, or None for the downloads)."""
    page = f"limit={PAGE}&offset={offset}"
    entity = f"urn:ngsi-ld:CareRecord:{n}"
    query = {"type": "Query", "entities": [{"type": "CareRecord"}]}
    answer = [
        lambda: c.get(f"{LD}/entities/{entity}", headers=ld),
        lambda: c.get(f"{LD}/entities?type=CareRecord&{page}", headers=ld),
        lambda: c.post(f"{LD}/entityOperations/query?{page}", json=query, headers=ld),
        lambda: c.get(f"{LD}/entities?type=CareRecord&{page}", headers={**ld, "Accept": "application/geo+json"}),
        lambda: c.get(f"{LD}/temporal/entities/{entity}?timeproperty=modifiedAt", headers=ld),
        lambda: c.get(f"/v2/entities/{entity}", headers=v2),
        lambda: c.get(f"/v2/entities/{entity}?options=keyValues", headers=v2),
        lambda: c.get(f"/v2/entities?type=CareRecord&{page}", headers=v2),
        lambda: c.post(f"/v2/op/query?{page}", json={"entities": [{"idPattern": ".*", "type": "CareRecord"}]},
                       headers=v2),
        lambda: c.get("/catalogue/datasets/records.csv"),
        lambda: c.get("/catalogue/datasets/records.geojson"),
    ][outlet]()
    assert answer.status_code == 200, (outlet, answer.text)
    if outlet in CATALOGUE:
        return answer, None
    body = answer.json()
    return answer, body["features"] if outlet == 3 else body if isinstance(body, list) else [body]


class LiveStream:
    """An SSE client in this process: GET /ngsi-ld/v1/live/entities called through the app's ASGI
    interface (every middleware, the gate included) on the TestClient's event loop."""

    def __init__(self, client, query: str, headers: dict):
        self.chunks: list[bytes] = []
        self._read, self._events = 0, []
        self.status = None
        self._stop = None
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": f"{LD}/live/entities", "raw_path": f"{LD}/live/entities".encode(),
                 "query_string": query.encode(), "root_path": "", "client": ("127.0.0.1", 50000),
                 "server": ("testserver", 80),
                 "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}

        async def run():
            self._stop = anyio.Event()

            async def receive():
                await self._stop.wait()
                return {"type": "http.disconnect"}

            async def send(message):
                if message["type"] == "http.response.start":
                    self.status = message["status"]
                elif message["type"] == "http.response.body":
                    self.chunks.append(message.get("body", b""))

            await client.app(scope, receive, send)

        self._portal = client.portal
        self.done = client.portal.start_task_soon(run)
        assert wait_until(lambda: self.chunks), "the live stream did not start"
        assert self.status == 200

    def events(self) -> list[dict]:
        while self._read < len(self.chunks):  # each chunk the stream sent is one whole event (or a comment)
            for line in self.chunks[self._read].decode().splitlines():
                if line.startswith("data: "):
                    self._events.append(orjson.loads(line[6:]))
            self._read += 1
        return self._events

    def close(self) -> None:
        if self._stop is not None:
            self._portal.call(self._stop.set)
        self.done.result(timeout=10)


def test_no_value_reaches_a_recipient_without_consent(town):
    streams: list[tuple[LiveStream, int, str | None]] = []
    try:
        leak_test(town, streams)
    finally:  # a stream left open would hold the app's event loop at shutdown
        for stream, _, _ in streams:
            stream.close()


def leak_test(town, streams: list) -> None:
    rng = random.Random(16)
    c = town.client
    admin = town.ld(town.admin)
    assert c.post("/consent/declarations", json=DECLARATION, headers=admin).status_code == 201
    town.create(*(record(n) for n in range(RESIDENTS)))
    r = c.post("/catalogue/admin/datasets", json={"name": "records", "type": "CareRecord", "attrs": ["ward"]},
               headers=admin)
    assert r.status_code == 201, r.text
    assert c.post("/catalogue/admin/datasets/records/open", headers=admin).status_code == 200
    residents = [town.resident(n) for n in range(RESIDENTS)]
    providers = [town.provider(f"service-{p}") for p in range(PROVIDERS)]
    receiver = Receiver()
    subscribers: dict[str, tuple[int, str | None]] = {}  # subscription id -> (provider, purpose)
    for p in range(PROVIDERS):  # a subscription per provider and purpose (NGSI-LD or v2), a stream per provider
        for k, purpose in enumerate(PURPOSES):
            if (p + k) % 2 == 0:
                r = c.post(f"{LD}/subscriptions", headers=town.ld(providers[p], purpose), json={
                    "type": "Subscription", "entities": [{"type": "CareRecord"}],
                    "notification": {"endpoint": {"uri": receiver.url}}})
            else:
                r = c.post("/v2/subscriptions", headers=town.v2(providers[p], purpose), json={
                    "subject": {"entities": [{"idPattern": ".*", "type": "CareRecord"}]},
                    "notification": {"http": {"url": receiver.url}}})
            assert r.status_code == 201, r.text
            subscribers[r.headers["Location"].rsplit("/", 1)[-1]] = (p, purpose)
        purpose = PURPOSES[p % len(PURPOSES)]
        streams.append((LiveStream(c, "type=CareRecord", town.ld(providers[p], purpose)), p, purpose))
    store = c.app.state.toshi.store
    assert wait_until(lambda: store.outbox.pending() == 0)
    # (resident, provider, purpose) -> (the ids of its consents, the categories they cover together)
    consents: dict[tuple[int, int, str], tuple[list[str], set[str]]] = {}
    expected_log: Counter = Counter()
    answered: dict[str, tuple] = {}  # request id -> what it asked and got (to explain a failure)
    released: dict[int, set[str]] = {}  # resident -> the reads (request ids) that released their data
    background: set[tuple[int, str, str]] = set()  # (resident, reader, purpose) released in notifications/streams

    def allowed(m: int, p: int, purpose: str | None) -> set[str]:
        return consents.get((m, p, purpose), (None, set()))[1] if purpose else set()

    def check(entity: dict, p: int, purpose: str | None, where) -> int:
        m, text = number(entity), orjson.dumps(entity).decode()
        assert f"ward-{m}\"" in text, (where, m)
        shown = allowed(m, p, purpose)
        for name, category in CATEGORIES.items():
            assert (secret(m, name) in text) == (category in shown), (where, m, name, shown)
        return m

    reads = deliveries = writes = rounds = 0
    heard, streamed = len(receiver.requests), [len(s.events()) for s, _, _ in streams]
    assert not any(secret(m, name) in str(q["body"]) for q in receiver.requests for m in range(RESIDENTS)
                   for name in CATEGORIES)  # what came before any consent (v2's initial notifications)
    while reads < READS:
        roll = rng.random()
        if roll < GRANT:
            n, p, purpose = rng.randrange(RESIDENTS), rng.randrange(PROVIDERS), rng.choice(PURPOSES[:2])
            categories = set(rng.sample(sorted(set(CATEGORIES.values())), rng.randint(1, 3)))
            body = {"recipient": providers[p]["_id"], "purpose": purpose, "categories": sorted(categories)}
            r = c.post("/consent/me/consents", json=body, headers=town.ld(residents[n]))
            assert r.status_code == 201, r.text
            ids, covered = consents.get((n, p, purpose), ([], set()))  # several consents: the union shows
            consents[(n, p, purpose)] = ([*ids, r.json()["id"]], covered | categories)
            continue
        if roll < GRANT + REVOKE and consents:
            key = rng.choice(sorted(consents))
            for consent_id in consents[key][0]:
                r = c.delete(f"/consent/me/consents/{consent_id}", headers=town.ld(residents[key[0]]))
                assert r.status_code == 204
            del consents[key]
            continue
        if roll < GRANT + REVOKE + WRITE:  # writes: every subscription and stream hears of them, as consents stand
            rounds += 1
            written = {}
            for m in rng.sample(range(RESIDENTS), WRITES_PER_ROUND):
                writes += 1
                written[m] = f"status-{writes}-x"
                r = c.patch(f"{LD}/entities/urn:ngsi-ld:CareRecord:{m}/attrs", headers=admin,
                            json={"status": {"type": "Property", "value": written[m]}})
                assert r.status_code == 204, r.text
            marks = set(written.values())
            expected_heard = {(sub, mark) for sub in subscribers for mark in marks}
            assert wait_until(lambda heard=heard, marks=marks, expected_heard=expected_heard: {
                (q["body"]["subscriptionId"], mark) for q in receiver.requests[heard:] for mark in marks
                if mark in q["raw"].decode()} == expected_heard, timeout=30), marks
            assert wait_until(lambda streamed=streamed, marks=marks: all(
                marks <= {e["entity"].get("status", {}).get("value") for e in s.events()[k:]}
                for (s, _, _), k in zip(streams, streamed)), timeout=30), marks
            for q in receiver.requests[heard:]:
                p, purpose = subscribers[q["body"]["subscriptionId"]]
                for entity in q["body"]["data"]:
                    check(entity, p, purpose, ("notification", q["body"]["subscriptionId"]))
                    deliveries += 1
            for (stream, p, purpose), k in zip(streams, streamed):
                for event in stream.events()[k:]:
                    check(event["entity"], p, purpose, ("live stream", p, purpose))
                    deliveries += 1
            for m in written:
                for p in range(PROVIDERS):
                    for purpose in PURPOSES[:2]:
                        if allowed(m, p, purpose):
                            background.add((m, providers[p]["_id"], purpose))
            heard, streamed = len(receiver.requests), [len(s.events()) for s, _, _ in streams]
            continue
        p, purpose, n = rng.randrange(PROVIDERS), rng.choice(PURPOSES), rng.randrange(RESIDENTS)
        offset = rng.randrange(RESIDENTS)
        outlet = rng.randrange(11) if rng.random() < 0.05 else rng.randrange(9)  # the downloads: 1 read in 50 or so
        tag = {"X-Request-Id": f"read-{reads}"}
        answer, entities = read(c, outlet, n, offset, {**town.ld(providers[p], purpose), **tag},
                                {**town.v2(providers[p], purpose), **tag})
        reads += 1
        text = answer.text
        if outlet in CATALOGUE:  # anonymous: the open attribute of every record, nothing personal ever
            assert all(f"ward-{m}" in text for m in range(RESIDENTS)), outlet
            assert not any(secret(m, name) in text for m in range(RESIDENTS) for name in CATEGORIES), outlet
            continue
        expected = [n] if outlet in SINGLE else list(range(offset, min(offset + PAGE, RESIDENTS)))
        shown = [check(entity, p, purpose, ("read", outlet)) for entity in entities]
        answered[f"read-{reads - 1}"] = (outlet, n, offset, p, purpose, shown, {m: allowed(m, p, purpose) for m in shown})
        assert shown == expected, (outlet, shown, expected)
        for m in set(range(RESIDENTS)) - set(shown):
            assert not any(secret(m, name) in text for name in CATEGORIES), (outlet, m)
        for m in shown:
            if allowed(m, p, purpose):
                expected_log[(m, providers[p]["_id"])] += 1
                released.setdefault(m, set()).add(f"read-{reads - 1}")
    assert rounds > 10 and deliveries >= rounds * WRITES_PER_ROUND * (len(subscribers) + len(streams))
    for n in range(RESIDENTS):
        log, after = [], 0
        while page := c.get(f"/consent/me/access-log?after={after}&limit=1000", headers=town.ld(residents[n])).json():
            log.extend(page)
            after = page[-1]["seq"]
        asked = [entry for entry in log if entry["request_id"] is not None]
        assert {entry["request_id"] for entry in asked} == released.get(n, set()), [
            (e, answered.get(e["request_id"])) for e in asked if e["request_id"] not in released.get(n, set())]
        got = Counter((n, entry["reader"]) for entry in asked)
        assert got == Counter({k: v for k, v in expected_log.items() if k[0] == n}), n
        assert len({entry["request_id"] for entry in asked}) == len(asked)
        sent = {(n, entry["reader"], entry["purpose"]) for entry in log if entry["request_id"] is None}
        assert sent == {k for k in background if k[0] == n}, n


def test_tenant_header_is_the_declarations_scope(town):
    """A declaration of one tenant does not hide anything in another."""
    assert town.client.post("/consent/declarations", json=DECLARATION, headers=town.ld(town.admin)).status_code == 201
    other = {**town.ld(town.admin), "NGSILD-Tenant": "elsewhere"}
    assert town.client.post(f"{LD}/entities", json=record(1), headers=other).status_code == 201
    reader = town.key("elsewhere-reader", ["elsewhere:consumer"])
    body = town.client.get(f"{LD}/entities/urn:ngsi-ld:CareRecord:1",
                           headers={**town.ld(reader), "NGSILD-Tenant": "elsewhere"}).json()
    assert body["diagnosis"]["value"] == secret(1, "diagnosis")
