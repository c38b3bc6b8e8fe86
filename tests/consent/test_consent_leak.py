"""A randomised leak test: many residents, random consents and revocations, random recipients and
purposes reading through several outlets of both APIs. Not one non-consented value may reach a
recipient, every consented one must, and each resident's access log must list exactly the reads
that released their data."""

from __future__ import annotations

import random
from collections import Counter

from consent_town import LD

RESIDENTS, PROVIDERS, REQUESTS = 30, 5, 5000
PURPOSES = ["care-planning", "watch-over", None]
CATEGORIES = {"diagnosis": "sensitive", "phone": "personal", "home": "location"}
DECLARATION = {"id": "records", "type": "CareRecord", "subject": "resident",
               "attributes": {**CATEGORIES, "resident": "personal"}}


def record(n: int) -> dict:
    return {"id": f"urn:ngsi-ld:CareRecord:{n}", "type": "CareRecord",
            "resident": {"type": "Relationship", "object": f"urn:ngsi-ld:Person:{n}"},
            "ward": {"type": "Property", "value": f"ward-{n}"},
            **{name: {"type": "Property", "value": secret(n, name)} for name in CATEGORIES}}


def secret(n: int, name: str) -> str:
    return f"{name}-of-resident-{n}-x"


def outlets(c, entity_id: str):
    return [
        lambda h: c.get(f"{LD}/entities/{entity_id}", headers=h["ld"]),
        lambda h: c.get(f"{LD}/entities?type=CareRecord&limit=100", headers=h["ld"]),
        lambda h: c.post(f"{LD}/entityOperations/query?limit=100", json={"type": "Query", "entities": [{"type": "CareRecord"}]},
                         headers=h["ld"]),
        lambda h: c.get(f"{LD}/entities?type=CareRecord&limit=100", headers={**h["ld"], "Accept": "application/geo+json"}),
        lambda h: c.get(f"{LD}/temporal/entities/{entity_id}?timeproperty=modifiedAt", headers=h["ld"]),
        lambda h: c.get(f"/v2/entities/{entity_id}", headers=h["v2"]),
        lambda h: c.get("/v2/entities?type=CareRecord&limit=100", headers=h["v2"]),
        lambda h: c.post("/v2/op/query?limit=100", json={"entities": [{"idPattern": ".*", "type": "CareRecord"}]},
                         headers=h["v2"]),
    ]


def test_no_value_reaches_a_recipient_without_consent(town):
    rng = random.Random(16)
    c = town.client
    assert c.post("/consent/declarations", json=DECLARATION, headers=town.ld(town.admin)).status_code == 201
    town.create(*(record(n) for n in range(RESIDENTS)))
    residents = [town.resident(n) for n in range(RESIDENTS)]
    providers = [town.provider(f"service-{p}") for p in range(PROVIDERS)]
    # (resident, provider, purpose) -> (the ids of its consents, the categories they cover together)
    consents: dict[tuple[int, int, str], tuple[list[str], set[str]]] = {}
    expected_log: Counter = Counter()
    checked = 0
    for _ in range(REQUESTS):
        roll = rng.random()
        if roll < 0.1:
            n, p, purpose = rng.randrange(RESIDENTS), rng.randrange(PROVIDERS), rng.choice(PURPOSES[:2])
            categories = set(rng.sample(sorted(set(CATEGORIES.values())), rng.randint(1, 3)))
            body = {"recipient": providers[p]["_id"], "purpose": purpose, "categories": sorted(categories)}
            r = c.post("/consent/me/consents", json=body, headers=town.ld(residents[n]))
            assert r.status_code == 201, r.text
            ids, covered = consents.get((n, p, purpose), ([], set()))  # several consents: the union shows
            consents[(n, p, purpose)] = ([*ids, r.json()["id"]], covered | categories)
            continue
        if roll < 0.2 and consents:
            key = rng.choice(sorted(consents))
            for consent_id in consents[key][0]:
                r = c.delete(f"/consent/me/consents/{consent_id}", headers=town.ld(residents[key[0]]))
                assert r.status_code == 204
            del consents[key]
            continue
        p, purpose, n = rng.randrange(PROVIDERS), rng.choice(PURPOSES), rng.randrange(RESIDENTS)
        ld, v2 = town.ld(providers[p], purpose), town.v2(providers[p], purpose)
        outlet = rng.randrange(8)
        answer = outlets(c, f"urn:ngsi-ld:CareRecord:{n}")[outlet]({"ld": ld, "v2": v2})
        assert answer.status_code == 200, answer.text
        text = answer.text
        shown = [n] if outlet in (0, 4, 5) else range(RESIDENTS)
        for m in shown:
            assert f"ward-{m}\"" in text, (outlet, m)
            allowed = consents.get((m, p, purpose), (None, set()))[1] if purpose else set()
            for name, category in CATEGORIES.items():
                assert (secret(m, name) in text) == (category in allowed), (outlet, m, name, allowed)
            if allowed:
                expected_log[(m, providers[p]["_id"])] += 1
        checked += 1
    assert checked > REQUESTS * 0.7
    for n in range(RESIDENTS):
        log, after = [], 0
        while page := c.get(f"/consent/me/access-log?after={after}&limit=1000", headers=town.ld(residents[n])).json():
            log.extend(page)
            after = page[-1]["seq"]
        got = Counter((n, entry["reader"]) for entry in log)
        assert got == Counter({k: v for k, v in expected_log.items() if k[0] == n}), n
        assert len({entry["request_id"] for entry in log}) == len(log)


def test_tenant_header_is_the_declarations_scope(town):
    """A declaration of one tenant does not hide anything in another."""
    assert town.client.post("/consent/declarations", json=DECLARATION, headers=town.ld(town.admin)).status_code == 201
    other = {**town.ld(town.admin), "NGSILD-Tenant": "elsewhere"}
    assert town.client.post(f"{LD}/entities", json=record(1), headers=other).status_code == 201
    reader = town.key("elsewhere-reader", ["elsewhere:consumer"])
    body = town.client.get(f"{LD}/entities/urn:ngsi-ld:CareRecord:1",
                           headers={**town.ld(reader), "NGSILD-Tenant": "elsewhere"}).json()
    assert body["diagnosis"]["value"] == secret(1, "diagnosis")
