"""Extracts made for one app or one command: the pseudonym secret, the town's signing key and the audit
trail around toshi/research/extract.py."""

from __future__ import annotations

from toshi.audit import audit_log_of
from toshi.consent import RecipientView
from toshi.core.signing import SigningKey, key_file
from toshi.research.extract import Extract, Spec, make_extract
from toshi.research.pseudonyms import load_or_create_secret, secret_file


class Research:
    def __init__(self, store, data_dir: str):
        self.store, self.data_dir = store, data_dir
        self.signing_key = SigningKey.load_or_create(key_file(data_dir))
        self.audit = audit_log_of(store)

    @property
    def secret(self) -> bytes:
        """The pseudonym secret, made on the first extract (a town that makes none keeps no such file)."""
        return load_or_create_secret(secret_file(self.data_dir))

    async def extract(self, consent, tenant: str, spec: Spec, made_by: str, progress=None) -> Extract:
        """The extract (ValueError when the spec cannot be carried out), recorded in the audit trail and
        in each released resident's access log."""
        view = RecipientView(consent, self.store, tenant, spec.recipient, spec.purpose)
        made = await make_extract(spec, view, self.secret, self.signing_key, made_by, progress)
        consent.log.flush()
        counts = made.manifest["counts"]
        self.audit.append([{"principal": made_by, "tenant": tenant, "operation": "research extract",
                            "target": made.manifest["id"], "request_id": None, "outcome": "ok",
                            "detail": {"recipient": spec.recipient, "purpose": spec.purpose, "k": spec.k,
                                       "released": counts["released"], "suppressed": counts["suppressed"]}}])
        return made
