"""Sending one notification: HTTP(S) POST or MQTT publish, as NGSI-LD (clause 8.3) describes."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote, urlsplit

import aiohttp
import orjson

from toshi.core.outbound import OutboundRefused, outbound_policy

LINK_REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'


def notification_headers(job) -> tuple[dict[str, str], dict]:
    """Headers and body for a notification, with the @context where the Accept of the endpoint wants it."""
    if job.endpoint.get("v2"):  # NGSI-v2: headers computed per notification (toshi.ngsiv2.subscription_matching)
        return dict(job.endpoint.get("headers") or {}), job.body
    accept = job.endpoint.get("accept") or "application/json"
    body = job.body
    headers = {"Content-Type": accept}
    if accept == "application/ld+json":
        body = {**body, "@context": job.payload_context or job.context}
    elif job.context:
        headers["Link"] = f"<{job.context}>; {LINK_REL}"
    if job.tenant:
        headers["NGSILD-Tenant"] = job.tenant
    for item in job.endpoint.get("receiverInfo") or []:
        headers[item["key"]] = item["value"]
    return headers, body


def _encoded(job, body) -> bytes:
    """The bytes sent: a raw custom payload as is (NGSI-v2 httpCustom.payload), else JSON."""
    if job.endpoint.get("raw"):
        return (body or "").encode() if isinstance(body, str) else b""
    return orjson.dumps(body)


class Senders:
    def __init__(self, settings):
        self.settings = settings
        self.policy = outbound_policy(settings)
        self._http: aiohttp.ClientSession | None = None
        self._mqtt: dict[tuple, object] = {}
        self._mqtt_lock = asyncio.Lock()

    async def send(self, job) -> str | None:
        """Deliver; None on success, else a short reason."""
        scheme = urlsplit(job.endpoint["uri"]).scheme
        try:
            await self.policy.check(job.endpoint["uri"])  # again: DNS may have changed since creation
            if scheme in ("http", "https"):
                return await self._send_http(job)
            if scheme in ("mqtt", "mqtts"):
                return await self._send_mqtt(job)
            return f"unsupported endpoint scheme {scheme}"
        except OutboundRefused as exc:
            return f"refused: {exc}"[:500]
        except Exception as exc:  # network errors of every kind count as a failed attempt
            return f"{type(exc).__name__}: {exc}"[:500]

    async def _send_http(self, job) -> str | None:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.notify_timeout),
                connector=aiohttp.TCPConnector(limit=200, limit_per_host=32, resolver=self.policy.aiohttp_resolver()),
                skip_auto_headers=("User-Agent",))
        headers, body = notification_headers(job)
        method = job.endpoint.get("method", "POST")
        data = _encoded(job, body)
        async with self._http.request(method, job.endpoint["uri"], data=data, headers=headers,
                                      allow_redirects=False) as response:  # a redirect could lead inside
            await response.read()
            job.response_code = response.status
            if 200 <= response.status < 300:
                return None
            return f"HTTP {response.status}"

    async def _send_mqtt(self, job) -> str | None:
        import aiomqtt

        uri = urlsplit(job.endpoint["uri"])
        info = {item["key"]: item["value"] for item in job.endpoint.get("notifierInfo") or []}
        qos = int(info.get("MQTT-QoS", 0))
        headers, body = notification_headers(job)
        message = orjson.dumps({"metadata": headers, "body": body})
        topic = unquote(uri.path.lstrip("/"))
        if job.endpoint.get("v2"):  # NGSI-v2 publishes the notification itself to its own topic
            message, topic, qos = _encoded(job, body), job.endpoint["topic"], job.endpoint.get("qos", 0)
        key = (uri.scheme, uri.hostname, uri.port or (8883 if uri.scheme == "mqtts" else 1883), uri.username)
        client = await self._mqtt_client(key, uri, aiomqtt)
        try:
            await client.publish(topic, message, qos=qos,
                                 timeout=self.settings.notify_timeout)
        except Exception:
            await self._drop_mqtt(key)
            raise
        return None

    async def _mqtt_client(self, key: tuple, uri, aiomqtt):
        async with self._mqtt_lock:
            client = self._mqtt.get(key)
            if client is None:
                tls = {"tls_params": aiomqtt.TLSParameters()} if uri.scheme == "mqtts" else {}
                client = aiomqtt.Client(hostname=key[1], port=key[2], username=uri.username and unquote(uri.username),
                                        password=uri.password and unquote(uri.password),
                                        timeout=self.settings.notify_timeout, **tls)
                await client.__aenter__()
                self._mqtt[key] = client
            return client

    async def _drop_mqtt(self, key: tuple) -> None:
        client = self._mqtt.pop(key, None)
        if client is not None:
            try:
                await client.__aexit__(None, None, None)
            except Exception:
                pass

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        for key in list(self._mqtt):
            await self._drop_mqtt(key)
