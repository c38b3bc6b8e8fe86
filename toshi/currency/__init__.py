"""The local currency (地域通貨): wallets of residents and shops, a double-entry ledger with idempotent
payments, balances that never go negative, points granted by the town's services, and a daily
reconciliation (docs/services.md)."""
