"""The MQTT transport of the IoT agent: one client to the broker, subscribed to the agent's topics
(`/<apikey>/<device_id>/attrs[/<attr>]`, `.../cmdexe`, and the `/ul/...`, `/json/...` forms), and
the publisher of commands (`/<apikey>/<device_id>/cmd`).

paho-mqtt runs its network loop in its own thread; messages cross to the event loop in batches.
The session is persistent (fixed client id, MQTT 5 session expiry) and QoS 1 messages are acknowledged
only after their measures have committed (manual ack), so a measure the broker accepted survives a
broker restart or a kill of Toshi: the broker redelivers whatever we had not acknowledged."""

from __future__ import annotations

import asyncio
import collections
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger("toshi.iot.mqtt")
SUFFIXES = ("attrs", "attrs/+", "cmdexe")
TOPICS = [f"{lead}{prefix}+/+/{suffix}" for lead in ("/", "")  # docs/iot.md: with or without the leading /
          for prefix in ("", "ul/", "json/") for suffix in SUFFIXES]
SESSION_EXPIRY = 7 * 24 * 3600
RECEIVE_MAXIMUM = 10_000  # unacknowledged messages the broker may send us: our memory bound


@dataclass(frozen=True)
class Topic:
    kind: str | None   # "ul", "json", or None when the topic has no prefix
    apikey: str
    device_id: str
    channel: str       # "attrs" or "cmdexe"
    attr: str | None = None


def parse_topic(topic: str) -> Topic | None:
    parts = topic[1:].split("/") if topic.startswith("/") else topic.split("/")
    kind = None
    if parts[0] in ("ul", "json") and len(parts) >= 4:
        kind, parts = parts[0], parts[1:]
    if len(parts) == 3 and parts[2] in ("attrs", "cmdexe") and parts[0] and parts[1]:
        return Topic(kind, parts[0], parts[1], parts[2])
    if len(parts) == 4 and parts[2] == "attrs" and all(parts):
        return Topic(kind, parts[0], parts[1], "attrs", parts[3])
    return None


def _session() -> Properties:
    """MQTT 5 CONNECT properties: the broker keeps our session (subscriptions, unacknowledged QoS 1
    messages) for a week, and may have many messages in flight to us (MQTT 3.1.1 brokers cap that
    at ~20 unacknowledged messages, which would cap throughput with manual acks); the rest waits
    in the broker."""
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = SESSION_EXPIRY
    properties.ReceiveMaximum = RECEIVE_MAXIMUM
    return properties


def masked(topic: str) -> str:
    """A topic fit for the log: the apikey (a device credential) replaced by ***."""
    parsed = parse_topic(topic)
    if parsed is None:
        return topic
    return "/".join("***" if part == parsed.apikey else part for part in topic.split("/"))


Handler = Callable[[list[tuple[Topic | None, bytes]]], Awaitable[list[Exception | None]]]


class MqttTransport:
    def __init__(self, url: str, client_id: str, handler: Handler, ca_file: str = "",
                 permanent_errors: tuple[type[Exception], ...] = (ValueError,)):
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"iot_mqtt_url must be mqtt://host[:port] or mqtts://..., not {url!r}")
        self.host, self.tls = parts.hostname, parts.scheme == "mqtts"
        self.port = parts.port or (8883 if self.tls else 1883)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.client_id, self.ca_file, self.handler = client_id, ca_file, handler
        self.intake = True  # subscribe to the device topics (False: only publish commands)
        self.permanent_errors = permanent_errors  # refusals that a redelivery would not change
        self.connected = False
        self.stats = {"received": 0, "handled": 0, "failed": 0, "connects": 0}
        self._inbox: collections.deque = collections.deque()
        self._wake_scheduled = False
        self._tasks: set[asyncio.Task] = set()
        self._client: paho.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=paho.MQTTv5, manual_ack=True)
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set_context(ssl.create_default_context(cafile=self.ca_file or None))
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect, client.on_disconnect, client.on_message = \
            self._on_connect, self._on_disconnect, self._on_message
        if self.intake:  # a persistent session: QoS 1 measures wait at the broker while we are away
            client.connect_async(self.host, self.port, keepalive=30, clean_start=False, properties=_session())
        else:
            client.connect_async(self.host, self.port, keepalive=30, clean_start=True)
        client.loop_start()
        self._client = client

    async def stop(self) -> None:
        if self._client is None:
            return
        client, self._client = self._client, None
        await asyncio.gather(*self._tasks, return_exceptions=True)
        client.disconnect()
        await asyncio.to_thread(client.loop_stop)

    async def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Queue a message (paho sends it now, or on reconnect for QoS 1)."""
        if self._client is None:
            raise RuntimeError("the MQTT transport is not running")
        self._client.publish(topic, payload, qos=qos)

    # -- paho's thread ----------------------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT broker %s:%s refused the connection: %s", self.host, self.port, reason_code)
            return
        self.connected = True
        self.stats["connects"] += 1
        if self.intake:
            client.subscribe([(topic, 1) for topic in TOPICS])
        log.info("IoT agent connected to MQTT broker %s:%s", self.host, self.port)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected = False
        if self._client is not None:
            log.warning("IoT agent lost the MQTT broker %s:%s (%s); reconnecting (check that the broker runs and "
                        "TOSHI_IOT_MQTT_URL)", self.host, self.port,
                        reason_code)

    def _on_message(self, client, userdata, message) -> None:
        self._inbox.append(message)
        if not self._wake_scheduled:
            self._wake_scheduled = True
            self._loop.call_soon_threadsafe(self._drain)

    # -- the event loop ---------------------------------------------------------------------------

    def _drain(self) -> None:
        self._wake_scheduled = False
        batch = list(self._inbox)
        self._inbox.clear()  # safe: paho only appends, and a message appended now schedules another drain
        self.stats["received"] += len(batch)
        task = self._loop.create_task(self._handle(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, messages: list) -> None:
        """Hand a batch to the agent; acknowledge every message it wrote or refused for good. A
        message that failed for another reason (the store is down) stays unacknowledged: the broker
        redelivers it when we reconnect."""
        items = [(parse_topic(m.topic), m.payload) for m in messages]
        try:
            results = await self.handler(items)
        except Exception as exc:
            log.exception("IoT MQTT batch of %d messages failed", len(messages))
            results = [exc] * len(messages)
        client = self._client
        for message, result in zip(messages, results):
            if result is None:
                self.stats["handled"] += 1
            else:
                self.stats["failed"] += 1
                log.info("IoT MQTT message on %s refused: %s", masked(message.topic), result)
                if not isinstance(result, self.permanent_errors):
                    continue
            if client is not None and message.qos > 0:
                client.ack(message.mid, message.qos)
