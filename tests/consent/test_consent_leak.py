"""A randomised leak test: many residents, random consents and revocations, random recipients and
purposes reading through the outlets of both APIs — entity retrieve and query pages, batch query,
GeoJSON, temporal, NGSI-v2, the catalogue's CSV and GeoJSON downloads — and receiving, after random
writes, NGSI-LD and NGSI-v2 notifications and live-stream (SSE) events. Not one non-consented value
may reach a recipient, every consented one must, and each resident's access log must list exactly
the reads that released their data (and, for what went out in the background, exactly the
recipients and purposes that held a consent when it went).

The readers are service providers (each read under a random purpose, or none), a town official (sees
everything, logged as official) and anonymous visitors of the open-data downloads. The default run
makes at least READS reads and goes on until every outlet has answered every kind of reader in every
consent state (COVERAGE: no purpose, never consented, consented to 1, 2 or 3 categories, revoked —
notifications and live-stream events too), with more than ROUNDS rounds of writes; TOSHI_LEAK_FULL=1
makes the issue's 10,000 randomised reads.

Everything runs in this process: the app through its TestClient, the live streams as ASGI calls on
the TestClient's event loop, the notification receiver as an HTTP server thread."""

from __future__ import annotations

import os
import random
from collections import Counter

import anyio
import orjson
from consent_town import LD
from support import Receiver, wait_until

FULL = os.environ.get("TOSHI_LEAK_FULL") == "1"
RESIDENTS, PROVIDERS = 30, 5
READS = 10_000 if FULL else 400     # at least; the default run goes on until COVERAGE is complete
MAX_READS = 20_000
PAGE = 5
# the share of each kind of action (the rest: reads); writes are rarer in the full run
GRANT, REVOKE, WRITE = 0.04, 0.04, 0.002 if FULL else 0.008
OFFICIAL = 0.1                      # the share of reads a town official makes
STEER = 0.5                         # the share of reads that ask for a pair with a consent, held or revoked
WRITES_PER_ROUND, ROUNDS = 4, 10
PURPOSES = ["care-planning", "watch-over", None]
CATEGORIES = {"diagnosis": "sensitive", "phone": "personal", "home": "location"}
DECLARATION = {"id": "records", "type": "CareRecord", "subject": "resident",
               "attributes": {**CATEGORIES, "resident": "personal"}}
PAGED = {1, 2, 3, 7, 8}      # outlets answering a page of entities
SINGLE = {0, 4, 5, 6}        # outlets answering the one entity asked for
CATALOGUE = {9, 10}          # the open-data downloads (anonymous)
OUTLETS = ["LD retrieve", "LD query", "LD batch query", "LD GeoJSON", "LD temporal", "v2 retrieve",
           "v2 keyValues", "v2 list", "v2 op/query", "CSV download", "GeoJSON download"]
STATES = ["no purpose", "never consented", "1 category", "2 categories", "3 categories", "revoked"]
# (outlet, reader kind, consent state) that a run must have checked at least once
COVERAGE = {*((outlet, "provider", state) for outlet in [*OUTLETS[:9], "LD notification", "v2 notification",
                                                           "live stream"] for state in STATES),
            *((outlet, "official", "official") for outlet in OUTLETS[:9]),
            *((outlet, "anonymous", "open data") for outlet in OUTLETS[9:])}


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
            subscribers[r.headers["Location"].rsplit("/", 1)[-1]] = (p, purpose, "LD notification" if (p + k) % 2 == 0
                                                                    else "v2 notification")
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
    revoked: set[tuple[int, int, str]] = set()  # consents revoked and not granted again
    covered: set[tuple[str, str, str]] = set()  # (outlet, reader kind, consent state) checked

    def allowed(m: int, p: int | None, purpose: str | None) -> set[str]:
        if p is None:  # the official
            return set(CATEGORIES.values())
        return consents.get((m, p, purpose), (None, set()))[1] if purpose else set()

    def state(m: int, p: int | None, purpose: str | None) -> tuple[str, str]:
        if p is None:
            return "official", "official"
        if purpose is None:
            return "provider", "no purpose"
        held = consents.get((m, p, purpose))
        if held:
            return "provider", STATES[1 + len(held[1])]
        return "provider", "revoked" if (m, p, purpose) in revoked else "never consented"

    def check(entity: dict, p: int | None, purpose: str | None, outlet: str, where) -> int:
        m, text = number(entity), orjson.dumps(entity).decode()
        assert f"ward-{m}\"" in text, (where, m)
        shown = allowed(m, p, purpose)
        for name, category in CATEGORIES.items():
            assert (secret(m, name) in text) == (category in shown), (where, m, name, shown)
        covered.add((outlet, *state(m, p, purpose)))
        return m

    def aim() -> tuple[int, int, int | None, str | None] | None:
        """(outlet, resident, provider or None for the official, purpose) of a read not covered yet
        that the consents as they stand allow, None if there is none (grants and revokes go on)."""
        keys = [*sorted(consents), *sorted(revoked), *((m, q, k) for m in range(RESIDENTS) for q in range(PROVIDERS)
                                                      for k in PURPOSES)]
        for outlet_name, kind, wanted in sorted(COVERAGE - covered):
            if outlet_name not in OUTLETS[:9]:
                continue  # the downloads come by chance; notifications and streams with the writes
            if kind == "official":
                return OUTLETS.index(outlet_name), rng.randrange(RESIDENTS), None, rng.choice(PURPOSES)
            for key in keys:
                if state(*key)[1] == wanted:
                    return OUTLETS.index(outlet_name), *key
        return None

    listening = {(kind, p, purpose) for p, purpose, kind in subscribers.values()} | {
        ("live stream", p, purpose) for _, p, purpose in streams}

    def aim_writes() -> list[int]:
        """Residents whose change would show a delivery (notification kind or stream) a consent state
        not covered yet."""
        found = []
        for outlet_name, _, wanted in sorted(COVERAGE - covered):
            for m, p, purpose in [*sorted(consents), *sorted(revoked)]:
                if (outlet_name, p, purpose) in listening and state(m, p, purpose)[1] == wanted:
                    if m not in found:
                        found.append(m)
                    break
        return found

    reads = deliveries = writes = rounds = 0
    heard, streamed = len(receiver.requests), [len(s.events()) for s, _, _ in streams]
    assert not any(secret(m, name) in str(q["body"]) for q in receiver.requests for m in range(RESIDENTS)
                   for name in CATEGORIES)  # what came before any consent (v2's initial notifications)
    while reads < READS or rounds <= ROUNDS or not covered >= COVERAGE:
        assert reads < MAX_READS, ("not covered", sorted(COVERAGE - covered))
        roll = rng.random()
        if roll < GRANT:
            n, p, purpose = rng.randrange(RESIDENTS), rng.randrange(PROVIDERS), rng.choice(PURPOSES[:2])
            categories = set(rng.sample(sorted(set(CATEGORIES.values())), rng.randint(1, 3)))
            body = {"recipient": providers[p]["_id"], "purpose": purpose, "categories": sorted(categories)}
            r = c.post("/consent/me/consents", json=body, headers=town.ld(residents[n]))
            assert r.status_code == 201, r.text
            ids, held = consents.get((n, p, purpose), ([], set()))  # several consents: the union shows
            consents[(n, p, purpose)] = ([*ids, r.json()["id"]], held | categories)
            revoked.discard((n, p, purpose))
            continue
        if roll < GRANT + REVOKE and consents:
            key = rng.choice(sorted(consents))
            for consent_id in consents[key][0]:
                r = c.delete(f"/consent/me/consents/{consent_id}", headers=town.ld(residents[key[0]]))
                assert r.status_code == 204
            del consents[key]
            revoked.add(key)
            continue
        if roll < GRANT + REVOKE + WRITE:  # writes: every subscription and stream hears of them, as consents stand
            rounds += 1
            written = {}
            chosen = aim_writes()[:WRITES_PER_ROUND - 1]  # residents whose release no delivery has shown yet
            held = sorted({key[0] for key in [*consents, *revoked]} - set(chosen))  # and residents with a consent
            chosen += rng.sample(held, min(len(held), max(0, WRITES_PER_ROUND // 2 - len(chosen))))
            chosen += rng.sample(sorted(set(range(RESIDENTS)) - set(chosen)), WRITES_PER_ROUND - len(chosen))
            for m in chosen:
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
                p, purpose, kind = subscribers[q["body"]["subscriptionId"]]
                for entity in q["body"]["data"]:
                    check(entity, p, purpose, kind, ("notification", q["body"]["subscriptionId"]))
                    deliveries += 1
            for (stream, p, purpose), k in zip(streams, streamed):
                for event in stream.events()[k:]:
                    if event["operation"] in ("removed", "changed"):  # an id only (rights changed)
                        assert set(event["entity"]) == {"id"}, event
                        continue
                    check(event["entity"], p, purpose, "live stream", ("live stream", p, purpose))
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
        steered = bool(consents or revoked) and rng.random() < STEER
        if steered:  # a resident and provider with a consent (or a revoked one)
            n, p, purpose = rng.choice(sorted(consents) + sorted(revoked))
        aimed = aim() if reads >= READS else None  # past the minimum: a read of what is not covered yet
        if aimed is not None:
            outlet, n, p, purpose = aimed
        if steered or aimed is not None:
            offset = rng.randint(max(0, n - PAGE + 1), n)  # on the page
        reader = providers[p] if p is not None else town.official
        if aimed is None and rng.random() < OFFICIAL:
            p, reader = None, town.official
        tag = {"X-Request-Id": f"read-{reads}"}
        answer, entities = read(c, outlet, n, offset, {**town.ld(reader, purpose), **tag},
                                {**town.v2(reader, purpose), **tag})
        reads += 1
        text = answer.text
        if outlet in CATALOGUE:  # anonymous: the open attribute of every record, nothing personal ever
            assert all(f"ward-{m}" in text for m in range(RESIDENTS)), outlet
            assert not any(secret(m, name) in text for m in range(RESIDENTS) for name in CATEGORIES), outlet
            covered.add((OUTLETS[outlet], "anonymous", "open data"))
            continue
        expected = [n] if outlet in SINGLE else list(range(offset, min(offset + PAGE, RESIDENTS)))
        shown = [check(entity, p, purpose, OUTLETS[outlet], ("read", outlet)) for entity in entities]
        answered[f"read-{reads - 1}"] = (outlet, n, offset, p, purpose, shown, {m: allowed(m, p, purpose) for m in shown})
        assert shown == expected, (outlet, shown, expected)
        for m in set(range(RESIDENTS)) - set(shown):
            assert not any(secret(m, name) in text for name in CATEGORIES), (outlet, m)
        for m in shown:
            if allowed(m, p, purpose):
                expected_log[(m, reader["_id"])] += 1
                released.setdefault(m, set()).add(f"read-{reads - 1}")
    assert rounds > ROUNDS and covered >= COVERAGE and deliveries >= rounds * WRITES_PER_ROUND * (len(subscribers) + len(streams))
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
