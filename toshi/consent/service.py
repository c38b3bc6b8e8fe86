"""The consent feature assembled for one app (or one command): declarations, consent records, the
access log, the read path's layer, subscription purposes, and the audit records of every change."""

from __future__ import annotations

import weakref

from toshi.audit import audit_log_of
from toshi.consent.accesslog import AccessLog
from toshi.consent.declarations import Declarations
from toshi.consent.guard import ConsentFilter
from toshi.consent.purpose import SubscriptionPurposes
from toshi.consent.records import ConsentRecords
from toshi.core.signing import SigningKey, key_file

TOPIC = "consent.changed"
# store -> the service of the first app made over it: a management command that a running server runs
# for the command line (toshi/ops/admin.py) changes declarations and consents through the server's own
# service, so that its read path forgets what it knew at once (on SQLite no other process tells it)
_FIRST: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class ConsentService:
    def __init__(self, store, signing_key: SigningKey, auth_enabled: bool):
        self.store, self.signing_key = store, signing_key
        self.declarations = Declarations(store, self.changed)
        self.records = ConsentRecords(store, signing_key, self.changed)
        self.log = AccessLog(store)
        self.filter = ConsentFilter(self.declarations, self.records, self.log, auth_enabled)
        self.purposes = SubscriptionPurposes(store)
        self.audit = audit_log_of(store)
        self.on_change: list = []  # told of every change, here or in another process (the read path's changed)
        store.watch(TOPIC, lambda _: self._forget())  # changed by another process

    @classmethod
    def for_settings(cls, store, settings, *, app: bool = False) -> ConsentService:
        """The service of the app over this store when there is one, else a new one (`app`: the
        consent feature of an app makes it, and the first app's is the one commands share)."""
        found = _FIRST.get(store)
        if found is not None:
            return found
        made = cls(store, SigningKey.load_or_create(key_file(settings.data_dir)), settings.auth)
        if app:
            _FIRST[store] = made
        return made

    @classmethod
    def of_store(cls, store) -> ConsentService | None:
        """The service of the first app made over this store (None: no app)."""
        return _FIRST.get(store)

    def changed(self) -> None:
        """Every consent or declaration change: the next read (here and in every process sharing the
        database) composes its guard afresh, so a revocation holds from the moment it returns."""
        self._forget()
        self.store.publish(TOPIC)

    def _forget(self) -> None:
        self.declarations.forget()
        self.filter.forget()
        for callback in list(self.on_change):
            callback()

    def audited(self, principal: str, tenant: str, operation: str, target: str, request_id: str | None = None,
                detail: dict | None = None) -> None:
        self.audit.append([{"principal": principal, "tenant": tenant, "operation": operation, "target": target,
                            "request_id": request_id, "outcome": "ok", "detail": detail}])

