"""What the notifier needs from a kind of subscription (NGSI-LD, NGSI-v2, …), so it knows none by name.

A `SubscriptionKind` recognises its stored subscriptions and compiles each into a
`CompiledSubscription`, which the notifier asks about every change and which renders its notifications
ready to send: where to (an endpoint dict the senders follow without knowing the API) and what (the body).

The endpoint of a notification:
  HTTP(S): {"uri", "method", "headers", "raw", "exact_headers", "timeout"?, "any_status_delivers"?}: the
           body is POSTed (or `method`) with `headers`; with `exact_headers` the HTTP client adds none of
           its own (Accept, Accept-Encoding, User-Agent, Content-Type) beyond Host and Content-Length;
           `timeout`: seconds to wait for the answer (absent or 0: the notifier's `notify_timeout`), an
           attempt without an answer by then fails with the reason "Timeout was reached";
           `any_status_delivers`: every HTTP answer, whatever its status, delivers the notification
           (it is counted a success with that status and never retried; NGSI-v2 as Orion does it),
           else only a 2xx does and any other status is a failure that is retried;
  MQTT:    {"uri" (the broker), "topic", "qos", "retain"?, "raw"}: the body is published as it is to `topic`
           (a retained message when `retain`).
Both may say `attempts`: how many times a notification is tried at most before it is kept as a dead
letter (absent: the notifier's `notify_max_attempts`; NGSI-v2 says 1: Orion sends each notification once).
`raw`: the body is text sent as it is (nothing when it is not a string); else it is sent as JSON.
"""

from __future__ import annotations

from typing import Any, Protocol


class CompiledSubscription(Protocol):
    id: str
    since_seq: int             # set by the notifier: changes up to this sequence number predate it
    statistics_dirty: bool     # delivery statistics changed since they were last stored
    entity_ids: list[str] | None  # the only entity ids it can fire for (None: any, by type, pattern, …)
    throttling: float | None   # seconds between two notifications at most
    time_interval: float | None  # periodic: seconds between two notifications of all its entities

    def is_active(self) -> bool: ...

    def matches(self, tenant: str, before: dict | None, after: dict | None) -> bool:
        """Whether this change of an entity (as its owner may see it) is to be notified."""

    def entity_query(self, limit: int) -> Any:
        """The entities a periodic notification carries, as a store query (an EntityQuery)."""

    def notification_entity(self, before: dict | None, after: dict | None, *,
                            deleted_at: str | None = None) -> Any:
        """One notified entity of a change (`deleted_at`: when a deleted one was deleted)."""

    def notification(self, tenant: str, entities: list, *, notification_id: str, now: str,
                     number: int = 1) -> tuple[dict, Any]:
        """The endpoint (see above) and the body of one notification of `entities` (from
        `notification_entity`). `number`: its place among the notifications of its change."""

    def record_delivery(self, ok: bool, now: str, error: str | None = None, code: int | None = None) -> None:
        """Count a delivery attempt (`code`: the HTTP status, if any) in the statistics."""

    def statistics_onto(self, stored: dict) -> dict:
        """The stored subscription with this one's delivery statistics put onto it."""


class SubscriptionKind(Protocol):
    name: str

    def owns(self, doc: dict) -> bool:
        """Whether a stored subscription is of this kind."""

    async def compile(self, doc: dict) -> CompiledSubscription:
        """The stored subscription ready for matching (raises when it cannot be loaded)."""
