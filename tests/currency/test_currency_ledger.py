"""The local currency through the real app with authentication on: wallets, idempotent payments,
balances never below zero, points granted by a service, and the daily reconciliation."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.auth.apikeys import api_keys_of
from toshi.auth.issuer import issue_token

TENANT = "toyono"


class Money:
    def __init__(self, client: TestClient):
        self.client = client
        keys = api_keys_of(client.app.state.toshi.store)
        self.office = self._key(keys, "currency-office", [f"{TENANT}:admin"])
        self.health = self._key(keys, "health-service", [f"{TENANT}:provider"])
        root = self._key(keys, "root", ["*:admin"])
        r = client.post("/admin/auth/policies", headers=root, json={  # residents read (their own) data
            "id": "residents-read", "effect": "allow", "principals": ["authenticated"], "actions": ["read"],
            "tenant": TENANT})
        assert r.status_code == 201, r.text

    @staticmethod
    def _key(keys, name, roles):
        account = keys.create_account(name, roles, ())
        _, secret = keys.create_key(account["id"])
        return {"Authorization": f"Bearer {secret}", "NGSILD-Tenant": TENANT}

    def open(self, owner: str, kind: str = "resident", key: str | None = None):
        return self.client.post("/currency/wallets", json={"owner": owner, "kind": kind},
                                headers={**self.office, "Idempotency-Key": key or f"open-{kind}-{owner}"})

    def wallet(self, owner: str, kind: str = "resident") -> str:
        r = self.open(owner, kind)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def resident(self, resident_id: str) -> dict:
        security = self.client.app.state.auth.security
        s = security.settings
        token = issue_token(security.signing_key, s.auth_issuer, resident_id, [], audience=s.auth_audience)
        return {"Authorization": f"Bearer {token}", "NGSILD-Tenant": TENANT}

    def balance(self, wallet: str) -> int:
        r = self.client.get(f"/currency/wallets/{wallet}", headers=self.office)
        assert r.status_code == 200, r.text
        return r.json()["balance"]

    def grant(self, wallet: str, amount: int, key: str):
        return self.client.post("/currency/grants", json={"to": wallet, "amount": amount, "memo": "健診ポイント"},
                                headers={**self.health, "Idempotency-Key": key})

    def pay(self, payer: str, payee: str, amount: int, key: str):
        return self.client.post("/currency/payments", json={"from": payer, "to": payee, "amount": amount},
                                headers={**self.office, "Idempotency-Key": key})

    def reconcile(self) -> dict:
        r = self.client.post("/currency/reconciliations", json={"day": datetime.now(UTC).strftime("%Y-%m-%d")},
                             headers=self.office)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def money(settings):
    with TestClient(create_app(dataclasses.replace(settings, auth=True))) as client:
        yield Money(client)


def test_a_service_grants_points_from_the_issuer(money):
    resident = money.wallet("urn:ngsi-ld:Resident:1")
    r = money.grant(resident, 500, "checkup-1")
    assert r.status_code == 201, r.text
    assert (r.json()["from"], r.json()["amount"]) == ("issuer", 500)
    assert money.balance(resident) == 500


def test_a_payment_moves_the_amount_between_wallets(money):
    resident, shop = money.wallet("urn:ngsi-ld:Resident:1"), money.wallet("shop-1", "shop")
    money.grant(resident, 500, "g1")
    assert money.pay(resident, shop, 120, "pay-1").status_code == 201
    assert (money.balance(resident), money.balance(shop)) == (380, 120)


def test_a_retried_payment_is_applied_once(money):
    resident, shop = money.wallet("urn:ngsi-ld:Resident:1"), money.wallet("shop-1", "shop")
    money.grant(resident, 500, "g1")
    first, again = money.pay(resident, shop, 120, "pay-1"), money.pay(resident, shop, 120, "pay-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert (money.balance(resident), money.balance(shop)) == (380, 120)


def test_a_key_reused_for_other_terms_is_refused(money):
    resident, shop = money.wallet("urn:ngsi-ld:Resident:1"), money.wallet("shop-1", "shop")
    money.grant(resident, 500, "g1")
    money.pay(resident, shop, 120, "pay-1")
    r = money.pay(resident, shop, 300, "pay-1")
    assert r.status_code == 409
    assert r.json()["detail"] == "this Idempotency-Key was used for another payment"
    assert (money.balance(resident), money.balance(shop)) == (380, 120)


def test_a_payment_beyond_the_balance_is_refused_and_changes_nothing(money):
    resident, shop = money.wallet("urn:ngsi-ld:Resident:1"), money.wallet("shop-1", "shop")
    money.grant(resident, 100, "g1")
    r = money.pay(resident, shop, 101, "pay-1")
    assert r.status_code == 409
    assert r.json()["detail"] == "the payer's balance is too low: balances never go below zero"
    assert (money.balance(resident), money.balance(shop)) == (100, 0)
    assert money.pay(resident, shop, 100, "pay-1").status_code == 201  # the refused key was not used up


def test_malformed_payments_are_refused(money):
    resident, shop = money.wallet("urn:ngsi-ld:Resident:1"), money.wallet("shop-1", "shop")
    assert money.pay(resident, shop, 0, "k").json()["detail"] == "amount must be a whole number from 1 to 10000000"
    r = money.client.post("/currency/payments", json={"from": resident, "to": shop, "amount": 1},
                          headers=money.office)
    assert (r.status_code, r.json()["detail"]) == \
        (400, "an Idempotency-Key header (at most 200 characters) is required")
    assert money.pay(resident, "w-nothing", 1, "k2").status_code == 404
    assert money.pay("issuer", shop, 1, "k3").json()["detail"] == \
        "only grants (POST /currency/grants) draw on the issuer wallet"


def test_the_reconciliation_balances_and_is_shown_as_an_entity(money):
    resident, shop = money.wallet("urn:ngsi-ld:Resident:1"), money.wallet("shop-1", "shop")
    money.grant(resident, 500, "g1")
    money.pay(resident, shop, 120, "pay-1")
    money.pay(resident, shop, 120, "pay-1")
    report = money.reconcile()
    assert {k: report[k] for k in ("payments", "volume", "granted", "wallets", "inCirculation", "entriesSum",
                                   "unpairedPayments", "mismatchedWallets", "negativeWallets", "balanced")} == \
        {"payments": 2, "volume": 620, "granted": 500, "wallets": 2, "inCirculation": 500, "entriesSum": 0,
         "unpairedPayments": 0, "mismatchedWallets": [], "negativeWallets": [], "balanced": True}
    entity = money.client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:LocalCurrencyLedger:town",
                              params={"options": "keyValues"}, headers=money.office).json()
    assert (entity["balanced"], entity["inCirculation"]) == (True, 500)


def test_only_the_office_pays_and_opens_wallets(money):
    r = money.client.post("/currency/wallets", json={"owner": "x", "kind": "shop"},
                          headers={**money.health, "Idempotency-Key": "k"})
    assert r.status_code == 403


def test_a_retried_wallet_creation_makes_one_wallet(money):
    first, again = money.open("urn:ngsi-ld:Resident:1", key="open-1"), money.open("urn:ngsi-ld:Resident:1", key="open-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert money.reconcile()["wallets"] == 1


def test_a_wallet_key_reused_for_another_owner_is_refused(money):
    money.open("urn:ngsi-ld:Resident:1", key="open-1")
    r = money.open("urn:ngsi-ld:Resident:2", key="open-1")
    assert (r.status_code, r.json()["detail"]) == (409, "this Idempotency-Key was used for another wallet")
    assert money.reconcile()["wallets"] == 1


def test_a_wallet_creation_without_a_key_is_refused(money):
    r = money.client.post("/currency/wallets", json={"owner": "x", "kind": "shop"}, headers=money.office)
    assert (r.status_code, r.json()["detail"]) == \
        (400, "an Idempotency-Key header (at most 200 characters) is required")
    assert money.reconcile()["wallets"] == 0


def test_a_resident_reads_their_own_wallet(money):
    wallet = money.wallet("urn:ngsi-ld:Resident:1")
    money.grant(wallet, 300, "g1")
    r = money.client.get(f"/currency/wallets/{wallet}", headers=money.resident("urn:ngsi-ld:Resident:1"))
    assert (r.status_code, r.json()["balance"], r.json()["owner"]) == (200, 300, "urn:ngsi-ld:Resident:1")


def test_another_resident_does_not_learn_the_wallet_exists(money):
    wallet = money.wallet("urn:ngsi-ld:Resident:1")
    theirs = money.client.get(f"/currency/wallets/{wallet}", headers=money.resident("urn:ngsi-ld:Resident:2"))
    none = money.client.get("/currency/wallets/w-nothing", headers=money.resident("urn:ngsi-ld:Resident:2"))
    assert (theirs.status_code, theirs.json()) == (404, {**none.json(), "detail": f"no wallet {wallet}"})


def test_a_resident_cannot_open_a_wallet(money):
    r = money.client.post("/currency/wallets", json={"owner": "urn:ngsi-ld:Resident:1", "kind": "resident"},
                          headers={**money.resident("urn:ngsi-ld:Resident:1"), "Idempotency-Key": "k"})
    assert r.status_code == 403
