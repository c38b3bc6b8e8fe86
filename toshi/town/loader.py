"""Setting the demo town up on a running Toshi, through its public APIs only.

As the town office would (with the administrator's key): publish the town's @context, declare what is
personal data, make the services' accounts, open the public types as open data, load the entities
(batch upsert) and record the consents the synthetic residents chose (the office records them for
the residents, as from the forms gathered at a counter: POST /consent/grants, many residents per
request, each with a signed record of their own)."""

from __future__ import annotations

import time
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


def town_context() -> dict:
    return orjson.loads((resources.files("toshi.town") / "context.jsonld").read_bytes())


async def publish_context(admin: Api) -> str:
    response = await admin.call("POST", f"{LD}/jsonldContexts", town_context(), ok=(201,))
    location = response.headers["Location"]
    return location if location.startswith("http") else str(admin.http.base_url).rstrip("/") + location


async def prepare(admin: Api, tenant_role: str = "default") -> dict:
    """Declarations, open-data rules and service accounts; returns {service: {id, key}}."""
    for declaration in DECLARATIONS:
        await admin.call("PUT", f"/consent/declarations/{declaration['id']}", declaration)
    await admin.call("POST", "/admin/auth/policies", {"id": "town-open-data", "effect": "allow",
                                                      "principals": ["*"], "actions": ["read"], "tenant": tenant_role,
                                                      "types": OPEN_TYPES}, ok=(201, 409))
    accounts = {}
    for name, roles in ACCOUNTS.items():
        body = {"name": f"town-{name}", "roles": [f"{tenant_role}:{role}" for role in roles]}
        made = (await admin.call("POST", "/admin/auth/accounts", body, ok=(201,))).json()
        accounts[name] = {"id": made["account"]["id"], "key": made["apiKey"]}
    return accounts


async def load(admin: Api, town: Town, accounts: dict, *, parallel: int = 4, progress=None) -> dict:
    """Entities, then the residents' consents. Returns the figures (seconds, counts); `progress(step,
    done, total)` hears how far each has got (toshi/core/progress.py)."""
    started = time.perf_counter()
    entities = town.entities()
    generated = time.perf_counter()
    requests = await admin.upsert(entities, progress)
    loaded = time.perf_counter()
    consents = await record_consents(admin, town, accounts, parallel=parallel, progress=progress)
    return {"entities": len(entities), "batchRequests": requests, "entitiesSeconds": round(generated - started, 2),
            "loadSeconds": round(loaded - generated, 2), "consents": consents,
            "consentSeconds": round(time.perf_counter() - loaded, 2)}


async def record_consents(admin: Api, town: Town, accounts: dict, *, parallel: int = 4, progress=None) -> int:
    """The residents' consents, recorded by the town office: one bulk grant (POST /consent/grants, a
    record and signed receipt per resident, one transaction) per purpose and chunk of residents."""
    by_purpose: dict[str, list[str]] = {}
    for resident in town.residents:
        for purpose in resident.consents:
            if purpose in CONSENTS:
                by_purpose.setdefault(purpose, []).append(urn("Resident", resident.id))
    total = sum(len(ids) for ids in by_purpose.values())
    recorded = 0
    for purpose, ids in by_purpose.items():
        service, categories = CONSENTS[purpose]
        for start in range(0, len(ids), GRANT_CHUNK):
            chunk = ids[start:start + GRANT_CHUNK]
            await admin.call("POST", "/consent/grants", {"residents": chunk, "recipient": accounts[service]["id"],
                                                         "purpose": purpose, "categories": categories}, ok=(201,))
            recorded += len(chunk)
            if progress is not None:
                progress("consents", recorded, total)
    return total
