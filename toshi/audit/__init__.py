"""The tamper-evident audit trail: a hash chain of records in the store's database, with signed
checkpoints (docs/internals.md)."""
