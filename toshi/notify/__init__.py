"""Notification delivery (change log → subscriptions → outbox → HTTP/MQTT) and the live-stream
registry. Its public interface: the `Notifier`, the `SubscriptionKind` / `CompiledSubscription`
protocols other features implement to have their subscriptions served, and `LiveStreams` (the
listeners the notifier feeds; toshi.ngsild.live is their outlet)."""

from toshi.notify.engine import Notifier
from toshi.notify.kinds import CompiledSubscription, SubscriptionKind
from toshi.notify.live import Listener, LiveStreams

__all__ = ["CompiledSubscription", "Listener", "LiveStreams", "Notifier", "SubscriptionKind"]
