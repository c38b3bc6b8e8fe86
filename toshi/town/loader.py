"""Setting the demo town up on a running Toshi, through its public APIs only.

As the town office would (with the administrator's key): publish the town's @context, declare what is
personal data, make the services' accounts, open the public types as open data, load the entities
(batch upsert) and record the consents the synthetic residents chose (the office records them for
the residents, as from the forms gathered at a counter: POST /consent/grants, many residents per
request, each with a signed record of their own).

Every step can be run again after an interruption at any point and leaves the same town: declarations
and entities are PUT / upserted, rules answer 409 when they exist, the @context is looked for before
it is published, an account is found by its name (and given a new key when its key was lost with the
interruption), and a consent is granted only to the residents who do not hold it yet. `Checkpoint`
keeps, in the demo's state file, which steps are done and what a step has made so far."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from importlib import resources

import orjson

from toshi.town.client import LD, Api
from toshi.town.entities import urn
from toshi.town.generate import Town

# What is personal in the town's data, whose it is and of which category (docs/demo.md).
DECLARATIONS = [
    {"id": "town-residents", "type": "Resident", "subject": "@id", "entityPersonal": True,
     "attributes": {"age": "personal", "sex": "personal", "household": "personal", "address": "location",
                    "homeNode": "location", "location": "location", "needsSupport": "sensitive",
                    "district": "personal"}},
    {"id": "town-households", "type": "Household", "subject": "head", "entityPersonal": True,
     "attributes": {"head": "personal", "members": "personal", "address": "location", "homeNode": "location",
                    "location": "location", "district": "personal"}},
    {"id": "town-guidance", "type": "EvacuationGuidance", "subject": "resident", "entityPersonal": True,
     "attributes": {"resident": "personal", "shelter": "location", "distance": "location",
                    "walkingMinutes": "location", "status": "personal", "order": "personal",
                    "guidedAt": "personal", "arrivedAt": "personal", "reason": "personal"}},
]
OPEN_TYPES = ["EvacuationShelter", "EvacuationOrder", "TownService", "District", "FloodMonitoring",
              "WeatherObserved", "GtfsStop", "PointOfInterest", "Vehicle", "PhotovoltaicMeasurement"]
# The services' accounts: what each may do (docs/demo.md lists what each reads and why).
ACCOUNTS = {"evacuation": ["provider", "consumer"]}
CONSENTS = {"evacuation-guidance": ("evacuation", ["personal", "location"])}
GRANT_CHUNK = 5_000  # residents per bulk grant request (~200 kB of ids)
# Batch upserts in flight at once during the load (each ≤ client.MAX_BATCH_BYTES, under the server's
# 1 MB limit). The server's CPU is the limit (one process on SQLite; it group-commits batches that
# arrive together): 2 overlaps one batch's parsing with the other's SQL, more gained nothing clear
# (BENCHMARKS.md, demo town).
UPLOAD_PARALLEL = 2


def town_context() -> dict:
    return orjson.loads((resources.files("toshi.town") / "context.jsonld").read_bytes())


def reached(point: str) -> None:
    """Called at each point of the load where an interruption would leave it part-way (after the
    server did something, before the state file says so). Nothing by default; the tests replace it
    to interrupt the load there."""


class Checkpoint:
    """Which steps of the load are done, and what the unfinished ones have made so far, kept in the
    demo's state (`save` writes it to the state file)."""

    def __init__(self, state: dict, save: Callable[[], None] = lambda: None):
        self.state, self.save = state, save
        self.state.setdefault("steps", [])
        self.state.setdefault("begun", [])
        self.state.setdefault("partial", {})

    def done(self, step: str) -> bool:
        return step in self.state["steps"]

    def begin(self, step: str) -> bool:
        """Mark `step` begun; True when it had been begun before (an interrupted load being resumed:
        the step checks what the server already has)."""
        if step in self.state["begun"]:
            return True
        self.state["begun"].append(step)
        self.save()
        return False

    def finish(self, step: str) -> None:
        reached(step)
        self.state["steps"].append(step)
        self.save()

    def get(self, key: str, default=None):
        return self.state["partial"].get(key, default)

    def keep(self, key: str, value) -> None:
        self.state["partial"][key] = value
        self.save()


async def publish_context(admin: Api, resuming: bool = True) -> str:
    """The town's @context: the hosted one with the same content if the server has it already."""
    body = town_context()
    base = str(admin.http.base_url).rstrip("/")
    if resuming:
        for url in (await admin.call("GET", f"{LD}/jsonldContexts", params={"kind": "Hosted"})).json():
            path = url[len(base):] if url.startswith(base) else url
            found = await admin.call("GET", path, ok=(200, 404))
            if found.status_code == 200 and found.json().get("@context") == body.get("@context"):
                return url if url.startswith("http") else base + url
    response = await admin.call("POST", f"{LD}/jsonldContexts", body, ok=(201,))
    location = response.headers["Location"]
    return location if location.startswith("http") else base + location


async def ensure_account(admin: Api, name: str, roles: list[str], known: dict | None) -> dict:
    """The service account `name` ({id, key}): the one known, or the one of that name on the server
    with a new key (its key was lost when the load was interrupted), or a new one."""
    accounts = (await admin.call("GET", "/admin/auth/accounts")).json()
    found = next((a for a in accounts if a.get("name") == name), None)
    if found is not None:
        if known is not None and known.get("id") == found["id"]:
            return known
        made = (await admin.call("POST", f"/admin/auth/accounts/{found['id']}/keys", {}, ok=(201,))).json()
        return {"id": found["id"], "key": made["apiKey"]}
    made = (await admin.call("POST", "/admin/auth/accounts", {"name": name, "roles": roles}, ok=(201,))).json()
    return {"id": made["account"]["id"], "key": made["apiKey"]}


async def holders(admin: Api, residents: list[str], recipient: str, purpose: str, *,
                  recipient_key: str | None = None, parallel: int = 8) -> set[str]:
    """Which of `residents` hold an active consent to `recipient` for `purpose`: the recipient's own
    list (GET /consent/held) when its key is known, else each resident's consents as the office sees
    them."""
    def holds(record: dict) -> bool:
        return (record.get("recipient") == recipient and record.get("purpose") == purpose
                and record.get("status") in ("active", "pending"))

    if recipient_key is not None:
        held = Api(str(admin.http.base_url), recipient_key, timeout=120)
        try:
            records = (await held.call("GET", "/consent/held")).json()
        finally:
            await held.close()
        wanted = set(residents)
        return {r["subject"] for r in records if holds(r) and r["subject"] in wanted}
    found: set[str] = set()
    gate = asyncio.Semaphore(parallel)

    async def one(resident: str) -> None:
        async with gate:
            records = (await admin.call("GET", f"/consent/residents/{resident}/consents")).json()
        if any(holds(r) for r in records):
            found.add(resident)

    await asyncio.gather(*(one(r) for r in residents))
    return found


async def grant_missing(admin: Api, residents: list[str], recipient: str, purpose: str, categories: list[str], *,
                        resuming: bool, recipient_key: str | None = None, chunk: int = 1000, progress=None,
                        step: str = "consents") -> int:
    """Bulk grants (POST /consent/grants) of `purpose` to `recipient` for the residents who do not
    hold one yet (all of them on a first run: `resuming` False asks the server nothing)."""
    if resuming:
        have = await holders(admin, residents, recipient, purpose, recipient_key=recipient_key)
        residents = [r for r in residents if r not in have]
    for start in range(0, len(residents), chunk):
        part = residents[start:start + chunk]
        await admin.call("POST", "/consent/grants", {"residents": part, "recipient": recipient, "purpose": purpose,
                                                     "categories": categories}, ok=(201,))
        reached(f"{step}:{purpose}")
        if progress is not None:
            progress(step, start + len(part), len(residents))
    return len(residents)


async def prepare(admin: Api, checkpoint: Checkpoint, tenant_role: str = "default") -> dict:
    """Declarations, open-data rules and service accounts; returns {service: {id, key}}."""
    for declaration in DECLARATIONS:
        await admin.call("PUT", f"/consent/declarations/{declaration['id']}", declaration)
    await admin.call("POST", "/admin/auth/policies", {"id": "town-open-data", "effect": "allow",
                                                      "principals": ["*"], "actions": ["read"], "tenant": tenant_role,
                                                      "types": OPEN_TYPES}, ok=(201, 409))
    accounts = checkpoint.get("accounts", {})
    for name, roles in ACCOUNTS.items():
        accounts[name] = await ensure_account(admin, f"town-{name}", [f"{tenant_role}:{role}" for role in roles],
                                              accounts.get(name))
        reached(f"account:{name}")
        checkpoint.keep("accounts", accounts)
    return accounts


async def load(admin: Api, town: Town, checkpoint: Checkpoint, *, progress=None) -> dict:
    """The town's first load, step by step (context, prepare, entities, consents), each step skipped
    when the state says it is done and able to run again after an interruption. Returns the figures
    (seconds, counts); `progress(step, done, total)` hears how far each has got
    (toshi/core/progress.py)."""
    state, figures = checkpoint.state, {}
    if not checkpoint.done("context"):
        state["context"] = await publish_context(admin, checkpoint.begin("context"))
        checkpoint.finish("context")
    admin.context = state["context"]
    if not checkpoint.done("prepare"):
        checkpoint.begin("prepare")
        state["accounts"] = await prepare(admin, checkpoint)
        checkpoint.finish("prepare")
    if not checkpoint.done("entities"):
        checkpoint.begin("entities")
        started = time.perf_counter()
        entities = town.entities()
        generated = time.perf_counter()
        figures["batchRequests"] = await admin.upsert(entities, progress, parallel=UPLOAD_PARALLEL)
        figures.update(entities=len(entities), entitiesSeconds=round(generated - started, 2),
                       loadSeconds=round(time.perf_counter() - generated, 2))
        checkpoint.finish("entities")
    if not checkpoint.done("consents"):
        started = time.perf_counter()
        figures["consents"] = await record_consents(admin, town, state["accounts"], resuming=checkpoint.begin("consents"),
                                                    progress=progress)
        figures["consentSeconds"] = round(time.perf_counter() - started, 2)
        checkpoint.finish("consents")
    return figures


async def record_consents(admin: Api, town: Town, accounts: dict, *, resuming: bool, progress=None) -> int:
    """The residents' consents, recorded by the town office: one bulk grant (POST /consent/grants, a
    record and signed receipt per resident, one transaction) per purpose and chunk of residents, to
    those who do not hold it yet."""
    by_purpose: dict[str, list[str]] = {}
    for resident in town.residents:
        for purpose in resident.consents:
            if purpose in CONSENTS:
                by_purpose.setdefault(purpose, []).append(urn("Resident", resident.id))
    granted = 0
    for purpose, ids in by_purpose.items():
        service, categories = CONSENTS[purpose]
        granted += await grant_missing(admin, ids, accounts[service]["id"], purpose, categories, resuming=resuming,
                                       recipient_key=accounts[service]["key"], chunk=GRANT_CHUNK, progress=progress)
    return granted
