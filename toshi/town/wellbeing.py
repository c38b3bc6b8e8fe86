"""Health linkage and the local currency in the demo town.

Set-up (administrator's key, public APIs only, as the town office and the health centre would):
the check-up types are declared as personal data (toshi.health.DECLARATIONS), the health service gets
an account (consumer + provider), residents aged 40–74 who took the specific health check-up
(特定健診) and consented to the health service (a share drawn from the seed) get a synthetic
`HealthCheckup`; the service computes their indicators (`POST /health-linkage/indicators`). The
currency office opens wallets for the shops and for the residents with a check-up, and grants each
of them check-up points (`POST /currency/grants`, idempotent by the check-up). A university studying
the check-ups gets an account; the share of the examined residents who also consent to its study
(`health-research`) goes into one research extract (`POST /research/extracts`: pseudonyms instead of
ids, quasi-identifiers generalised, k-anonymous), which the town office saves for the university as
its CSV and signed manifest.

The day: between 09:00 and 18:00 residents pay at the shops with their points (idempotent
payments; one refused now and then for a balance too low, as a real till would see), and at the end
of each simulated hour the office reconciles the ledger (`POST /currency/reconciliations`, shown as
the `LocalCurrencyLedger` entity; the ledger stamps payments with the real time, so the day it reports
is today's, while its whole-ledger checks cover every payment)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from toshi.health import DECLARATIONS, PURPOSE
from toshi.town import loader
from toshi.town.client import Api, ApiError
from toshi.town.entities import urn
from toshi.town.generate import Town

CHECKUP_SHARE = 0.05      # of residents aged 40-74: checked up and consenting to the health service
CHECKUP_POINTS = 500
SHOPS = ["道の駅とよの", "吉川商店", "東能勢ストア", "ときわ台ベーカリー", "希望ヶ丘マーケット"]
PAYMENTS_PER_HOUR = 6
CONSENT = ["personal", "sensitive"]
RESEARCH_PURPOSE = "health-research"
RESEARCH_SHARE = 0.6      # of the examined: consenting to the university's study as well
EXTRACT = {"purpose": RESEARCH_PURPOSE, "type": "HealthCheckup", "k": 5,
           "quasiIdentifiers": {"sex": "exact", "checkedOn": "month"},
           "attributes": ["waist", "systolic", "diastolic", "fastingGlucose", "triglycerides", "hdl"],
           "description": "特定健診 2026 の大学との共同研究 (joint study of the 2026 check-ups)"}


def examined(town: Town) -> list:
    rng = random.Random(town.seed * 32_452_843)
    return [r for r in town.residents if 40 <= r.age < 75 and rng.random() < CHECKUP_SHARE]


def checkup(resident, rng: random.Random) -> dict:
    male = resident.sex == "M"  # the generator writes M or F
    values = {"sex": "male" if male else "female",
              "waist": round(rng.gauss(85 if male else 81, 9), 1),
              "systolic": round(rng.gauss(126 + (resident.age - 40) * 0.4, 15)),
              "diastolic": round(rng.gauss(78, 10)),
              "fastingGlucose": round(rng.gauss(98 + (resident.age - 40) * 0.3, 14)),
              "triglycerides": max(30, round(rng.gauss(120 if male else 95, 55))),
              "hdl": max(20, round(rng.gauss(55 if male else 66, 14))),
              "checkedOn": "2026-06-15"}
    return {"id": urn("HealthCheckup", f"{resident.id}-2026"), "type": "HealthCheckup",
            "resident": {"type": "Relationship", "object": urn("Resident", resident.id)},
            **{k: {"type": "Property", "value": v} for k, v in values.items()}}


async def set_up(admin: Api, town: Town, base: str, checkpoint=None, tenant_role: str = "default") -> dict:
    """The health service's account, check-ups and consents, then the wallets and check-up points.
    Runs again after an interruption without doubling anything: the account is found by its name,
    consents are granted to those who do not hold them yet, each wallet is kept in the state as soon
    as it is opened, and the points are granted under an Idempotency-Key."""
    checkpoint = checkpoint or loader.Checkpoint({})
    resuming = checkpoint.begin("wellbeing")
    for declaration in DECLARATIONS:
        await admin.call("PUT", f"/consent/declarations/{declaration['id']}", declaration)
    await admin.call("POST", "/admin/auth/policies", {
        "id": "town-health-own", "effect": "allow", "principals": ["authenticated"], "actions": ["read"],
        "tenant": tenant_role, "types": ["HealthRiskIndicator"]}, ok=(201, 409))  # the consent layer decides whose
    await admin.call("POST", "/admin/auth/policies", {
        "id": "town-currency-open", "effect": "allow", "principals": ["*"], "actions": ["read"],
        "tenant": tenant_role, "types": ["LocalCurrencyLedger"]}, ok=(201, 409))  # totals only
    health = await loader.ensure_account(admin, "town-health", [f"{tenant_role}:consumer", f"{tenant_role}:provider"],
                                         checkpoint.get("wellbeing.health"))
    loader.reached("account:health")
    checkpoint.keep("wellbeing.health", health)
    rng = random.Random(town.seed * 49_979_687)
    people = examined(town)
    await admin.upsert([checkup(r, rng) for r in people])
    ids = [urn("Resident", r.id) for r in people]
    await loader.grant_missing(admin, ids, health["id"], PURPOSE, CONSENT, resuming=resuming,
                               recipient_key=health["key"], step="wellbeing")
    service = Api(base, health["key"], purpose=PURPOSE)
    try:
        indicators = (await service.call("POST", "/health-linkage/indicators")).json()
    finally:
        await service.close()
    shops = checkpoint.get("wellbeing.shops", {})
    for name in SHOPS:
        if name not in shops:
            shops[name] = await _open_wallet(admin, name, "shop")
            checkpoint.keep("wellbeing.shops", shops)
    wallets = checkpoint.get("wellbeing.wallets", {})
    for resident_id in ids:  # the check-up's points, granted by the health service's programme
        if resident_id not in wallets:
            wallets[resident_id] = await _open_wallet(admin, resident_id, "resident")
            checkpoint.keep("wellbeing.wallets", wallets)
        await admin.call("POST", "/currency/grants", {"to": wallets[resident_id], "amount": CHECKUP_POINTS,
                                                      "memo": "特定健診ポイント"},
                         headers={"Idempotency-Key": f"checkup-{resident_id}-2026"}, ok=(200, 201))
        loader.reached("wellbeing:points")
    checkpoint.finish("wellbeing")
    return {"health": health, "checkups": len(people), "indicators": indicators.get("levels", {}),
            "shops": [shops[name] for name in SHOPS], "wallets": wallets}


async def extract_for_research(admin: Api, town: Town, save_to: Path, checkpoint=None,
                               tenant_role: str = "default") -> dict:
    """The university's account and its study's consents, then one research extract of their
    check-ups, saved as CSV and signed manifest under `save_to`. Made once: a resumed load that
    finds the extract's manifest in the checkpoint does not ask for a second one."""
    checkpoint = checkpoint or loader.Checkpoint({})
    resuming = checkpoint.begin("research")
    university = await loader.ensure_account(admin, "town-university", [f"{tenant_role}:consumer"],
                                             checkpoint.get("research.university"))
    loader.reached("account:research")
    checkpoint.keep("research.university", university)
    rng = random.Random(town.seed * 15_485_863)
    ids = [urn("Resident", r.id) for r in examined(town) if rng.random() < RESEARCH_SHARE]
    await loader.grant_missing(admin, ids, university["id"], RESEARCH_PURPOSE, CONSENT, resuming=resuming,
                               recipient_key=university["key"], step="research")
    manifest = checkpoint.get("research.manifest")
    if manifest is None:
        made = (await admin.call("POST", "/research/extracts", {**EXTRACT, "recipient": university["id"]})).json()
        manifest = made["manifest"]
        save_to.mkdir(parents=True, exist_ok=True)
        (save_to / f"{_file_name(manifest)}.csv").write_text(made["csv"], encoding="utf-8")
        (save_to / f"{_file_name(manifest)}.jws").write_text(made["jws"], encoding="ascii")
        checkpoint.keep("research.manifest", manifest)
    checkpoint.finish("research")
    return {"university": university, "consenting": len(ids), "extract": manifest["id"],
            "counts": manifest["counts"], "k": manifest.get("k", EXTRACT["k"]), "savedIn": str(save_to)}


def _file_name(manifest: dict) -> str:
    return "extract-" + manifest["id"].rsplit(":", 1)[-1]


async def _open_wallet(admin: Api, owner: str, kind: str) -> str:
    """The owner's wallet, opened under a key of the owner: a load resumed after an interruption
    gets the same wallet back instead of a second, empty one."""
    return (await admin.call("POST", "/currency/wallets", {"owner": owner, "kind": kind},
                             headers={"Idempotency-Key": f"wallet-{kind}-{quote(owner)}"}, ok=(200, 201))).json()["id"]


class CurrencyWorld:
    """Residents paying at the shops with their points, and the office's daily reconciliation."""

    def __init__(self, town: Town, setup: dict):
        self.rng = random.Random(town.seed * 86_028_121)
        self.shops, self.wallets = setup["shops"], list(setup["wallets"].values())
        self.hour: str | None = None
        self.paid = self.refused = 0

    async def provision(self, admin: Api) -> None:
        """Nothing to provision."""

    async def step(self, admin: Api, now: datetime, dt: timedelta) -> None:
        stamp = now.strftime("%Y-%m-%dT%H")
        if stamp != self.hour:  # every simulated hour: the ledger's payments are stamped with the real day
            self.hour = stamp
            await admin.call("POST", "/currency/reconciliations")
        hour = now.hour + now.minute / 60
        if not self.wallets or not 9 <= hour < 18:
            return
        for _ in range(self._count(PAYMENTS_PER_HOUR * dt.total_seconds() / 3600)):
            wallet, shop = self.rng.choice(self.wallets), self.rng.choice(self.shops)
            amount = self.rng.choice((100, 150, 200, 300))
            key = f"till-{now:%Y%m%d%H%M%S}-{self.paid + self.refused}"
            try:
                await admin.call("POST", "/currency/payments", {"from": wallet, "to": shop, "amount": amount,
                                                                "memo": "買い物"}, headers={"Idempotency-Key": key})
                self.paid += 1
            except ApiError as exc:
                if exc.status != 409:
                    raise
                self.refused += 1  # the balance was too low: the till says so

    def _count(self, expected: float) -> int:
        whole = int(expected)
        return whole + (1 if self.rng.random() < expected - whole else 0)
