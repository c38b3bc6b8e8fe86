"""The ledger: wallets and double-entry payments in the feature's own tables.

Every payment is two entries of one amount (the payer's −amount, the payee's +amount), written with
the payment and both balances in one transaction, so the entries of any set of payments sum to zero
and each balance is the sum of its wallet's entries. A payment names an idempotency key: the same
key with the same terms returns the payment already made (a retried request is applied once); with
other terms it is refused. A payment that would take a wallet below zero is refused and changes
nothing. Opening a wallet names an idempotency key too: a retried create returns the wallet it made.
The tenant's issuer wallet (`issuer`) is the one wallet that goes below zero: points granted
by services are payments from it, and its negative balance is the currency in circulation."""

from __future__ import annotations

import hashlib
import secrets

import orjson

from toshi.core.times import now_iso
from toshi.store import FeatureTables, atomic

SCHEMA = """
CREATE TABLE IF NOT EXISTS currency_wallets (
    tenant TEXT NOT NULL, id TEXT NOT NULL, owner TEXT NOT NULL, kind TEXT NOT NULL, balance INTEGER NOT NULL,
    created_at TEXT NOT NULL, PRIMARY KEY (tenant, id)
);
CREATE TABLE IF NOT EXISTS currency_payments (
    tenant TEXT NOT NULL, id TEXT NOT NULL, idempotency_key TEXT NOT NULL, terms TEXT NOT NULL, payer TEXT NOT NULL,
    payee TEXT NOT NULL, amount INTEGER NOT NULL, memo TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS currency_payments_by_key ON currency_payments (tenant, idempotency_key);
CREATE TABLE IF NOT EXISTS currency_wallet_keys (
    tenant TEXT NOT NULL, idempotency_key TEXT NOT NULL, terms TEXT NOT NULL, wallet TEXT NOT NULL,
    PRIMARY KEY (tenant, idempotency_key)
);
CREATE TABLE IF NOT EXISTS currency_entries (
    tenant TEXT NOT NULL, payment TEXT NOT NULL, wallet TEXT NOT NULL, amount INTEGER NOT NULL, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS currency_entries_by_wallet ON currency_entries (tenant, wallet);
"""
ISSUER = "issuer"
KINDS = ("resident", "shop")
MAX_AMOUNT = 10_000_000


class LedgerError(ValueError):
    """A request the ledger refuses: `status` 400 (malformed), 404 (no such wallet), 409 (conflict)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class Ledger:
    def __init__(self, store):
        self._tables = FeatureTables(store, SCHEMA)

    @property
    def _db(self):
        return self._tables.db

    # -- wallets ----------------------------------------------------------------------------------

    def open_wallet(self, tenant: str, key: str | None, body: object) -> tuple[dict, bool]:
        """(the wallet, whether it was opened now); a retry with the same key returns the first."""
        _check_key(key)
        if not isinstance(body, dict) or set(body) - {"owner", "kind"}:
            raise LedgerError('a wallet is {"owner": "<resident or shop id>", "kind": "resident" | "shop"}')
        owner, kind = body.get("owner"), body.get("kind")
        if not isinstance(owner, str) or not owner.strip() or len(owner) > 300:
            raise LedgerError("owner must name the resident or shop (a string)")
        if kind not in KINDS:
            raise LedgerError(f"kind must be one of {', '.join(KINDS)}")
        terms = hashlib.sha256(orjson.dumps([owner, kind])).hexdigest()
        wallet = {"id": "w-" + secrets.token_hex(8), "owner": owner, "kind": kind, "balance": 0,
                  "createdAt": now_iso()}
        with atomic(self._db) as db:
            self._issuer(db, tenant)
            done = db.execute("SELECT terms, wallet FROM currency_wallet_keys WHERE tenant=? AND idempotency_key=?",
                              (tenant, key)).fetchone()
            if done is not None:
                if done[0] != terms:
                    raise LedgerError("this Idempotency-Key was used for another wallet", 409)
                return self.wallet(tenant, done[1]), False
            db.execute("INSERT INTO currency_wallets (tenant, id, owner, kind, balance, created_at) VALUES "
                       "(?, ?, ?, ?, 0, ?)", (tenant, wallet["id"], owner, kind, wallet["createdAt"]))
            db.execute("INSERT INTO currency_wallet_keys (tenant, idempotency_key, terms, wallet) VALUES (?, ?, ?, ?)",
                       (tenant, key, terms, wallet["id"]))
        return wallet, True

    def _issuer(self, db, tenant: str) -> None:
        db.execute("INSERT INTO currency_wallets (tenant, id, owner, kind, balance, created_at) VALUES "
                   "(?, ?, 'town', 'issuer', 0, ?) ON CONFLICT (tenant, id) DO NOTHING", (tenant, ISSUER, now_iso()))

    def wallet(self, tenant: str, wallet_id: str) -> dict:
        row = self._db.execute("SELECT id, owner, kind, balance, created_at FROM currency_wallets WHERE tenant=? "
                               "AND id=?", (tenant, wallet_id)).fetchone()
        if row is None:
            raise LedgerError(f"no wallet {wallet_id}", 404)
        return {"id": row[0], "owner": row[1], "kind": row[2], "balance": row[3], "createdAt": row[4]}

    # -- payments ---------------------------------------------------------------------------------

    def pay(self, tenant: str, key: str | None, body: object, *, grant: bool = False) -> tuple[dict, bool]:
        """(the payment, whether it was made now); a retry with the same key returns the first."""
        _check_key(key)
        allowed = {"to", "amount", "memo"} | (set() if grant else {"from"})
        if not isinstance(body, dict) or set(body) - allowed:
            raise LedgerError("a payment is {" + ", ".join(f'"{m}"' for m in sorted(allowed)) + "}")
        payer = ISSUER if grant else body.get("from")
        payee, amount, memo = body.get("to"), body.get("amount"), body.get("memo", "")
        if not isinstance(payer, str) or not isinstance(payee, str) or payer == payee:
            raise LedgerError("from and to must name two different wallets")
        if payee == ISSUER or (payer == ISSUER and not grant):
            raise LedgerError("only grants (POST /currency/grants) draw on the issuer wallet")
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
            raise LedgerError(f"amount must be a whole number from 1 to {MAX_AMOUNT}")
        if not isinstance(memo, str) or len(memo) > 500:
            raise LedgerError("memo must be text of at most 500 characters")
        terms = hashlib.sha256(orjson.dumps([payer, payee, amount, memo])).hexdigest()
        with atomic(self._db) as db:
            self._issuer(db, tenant)
            done = db.execute("SELECT id, terms, payer, payee, amount, memo, at FROM currency_payments WHERE "
                              "tenant=? AND idempotency_key=?", (tenant, key)).fetchone()
            if done is not None:
                if done[1] != terms:
                    raise LedgerError("this Idempotency-Key was used for another payment", 409)
                return _payment(done), False
            for wallet in (payer, payee):
                if db.execute("SELECT 1 FROM currency_wallets WHERE tenant=? AND id=?", (tenant, wallet)).fetchone() \
                        is None:
                    raise LedgerError(f"no wallet {wallet}", 404)
            taken = db.execute("UPDATE currency_wallets SET balance = balance - ? WHERE tenant=? AND id=? AND "
                               "(balance >= ? OR id = ?) RETURNING balance",
                               (amount, tenant, payer, amount, ISSUER)).fetchone()
            if taken is None:
                raise LedgerError("the payer's balance is too low: balances never go below zero", 409)
            db.execute("UPDATE currency_wallets SET balance = balance + ? WHERE tenant=? AND id=?",
                       (amount, tenant, payee))
            at, payment_id = now_iso(), "p-" + secrets.token_hex(8)
            db.execute("INSERT INTO currency_payments (tenant, id, idempotency_key, terms, payer, payee, amount, memo, "
                       "at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (tenant, payment_id, key, terms, payer, payee, amount, memo, at))
            for wallet, signed in ((payer, -amount), (payee, amount)):
                db.execute("INSERT INTO currency_entries (tenant, payment, wallet, amount, at) VALUES (?, ?, ?, ?, ?)",
                           (tenant, payment_id, wallet, signed, at))
        return {"id": payment_id, "from": payer, "to": payee, "amount": amount, "memo": memo, "at": at}, True

    # -- reconciliation ---------------------------------------------------------------------------

    def reconcile(self, tenant: str, day: str) -> dict:
        """The day's payments and the whole ledger checked: entries sum to zero, each payment has its two
        entries, each balance is the sum of its entries, no wallet but the issuer's below zero."""
        db = self._db
        day_rows = db.execute("SELECT count(*), coalesce(sum(amount), 0) FROM currency_payments WHERE tenant=? AND "
                              "at >= ? AND at < ?", (tenant, day, day + "T99")).fetchone()
        granted = db.execute("SELECT coalesce(sum(amount), 0) FROM currency_payments WHERE tenant=? AND payer=? AND "
                             "at >= ? AND at < ?", (tenant, ISSUER, day, day + "T99")).fetchone()[0]
        total = db.execute("SELECT coalesce(sum(amount), 0) FROM currency_entries WHERE tenant=?", (tenant,)).fetchone()[0]
        unpaired = db.execute("SELECT count(*) FROM (SELECT payment FROM currency_entries WHERE tenant=? GROUP BY "
                              "payment HAVING count(*) <> 2 OR sum(amount) <> 0) AS bad", (tenant,)).fetchone()[0]
        sums = {w: int(v) for w, v in db.execute("SELECT wallet, sum(amount) FROM currency_entries WHERE tenant=? GROUP BY wallet",
                                                 (tenant,)).fetchall()}
        wallets = db.execute("SELECT id, balance FROM currency_wallets WHERE tenant=?", (tenant,)).fetchall()
        mismatched = sorted(w for w, balance in wallets if balance != sums.get(w, 0))
        negative = sorted(w for w, balance in wallets if balance < 0 and w != ISSUER)
        issuer = next((balance for w, balance in wallets if w == ISSUER), 0)
        total, granted, unpaired = int(total), int(granted), int(unpaired)
        return {"day": day, "payments": int(day_rows[0]), "volume": int(day_rows[1]), "granted": granted,
                "wallets": sum(1 for w, _ in wallets if w != ISSUER), "inCirculation": -int(issuer),
                "entriesSum": total, "unpairedPayments": unpaired, "mismatchedWallets": mismatched,
                "negativeWallets": negative,
                "balanced": total == 0 and unpaired == 0 and not mismatched and not negative}


def _check_key(key: str | None) -> None:
    if not key or len(key) > 200:
        raise LedgerError("an Idempotency-Key header (at most 200 characters) is required")


def _payment(row) -> dict:
    return {"id": row[0], "from": row[2], "to": row[3], "amount": row[4], "memo": row[5], "at": row[6]}
