"""Sending one notification: HTTP(S) request or MQTT publish, as its job's endpoint says (toshi/notify/kinds.py)."""

from __future__ import annotations

import asyncio
import functools
import socket
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import orjson

from toshi.core.outbound import OutboundRefused, outbound_policy

if TYPE_CHECKING:
    import aiohttp

AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")  # aiohttp adds them unless skipped
TIMED_OUT = "Timeout was reached"  # the reason of an attempt that got no answer in time (libcurl's words, as Orion's)

# Why an HTTP attempt got no answer, in the words of libcurl (curl_easy_strerror), which Orion shows as a
# subscription's lastFailureReason (its diagnosis manual lists "Timeout was reached", "Couldn't connect to
# server", "Couldn't resolve host name", "Peer certificate cannot be authenticated"). The most specific
# exception class first: aiohttp's connection errors derive from one another.
@functools.cache
def curl_reasons() -> tuple[tuple[type[BaseException], str], ...]:
    import aiohttp  # at the first failure, not at import (start-up time)

    return (
        (TimeoutError, TIMED_OUT),  # aiohttp's and asyncio's timeouts are TimeoutErrors
        (aiohttp.ClientConnectorDNSError, "Couldn't resolve host name"),
        (socket.gaierror, "Couldn't resolve host name"),
        (aiohttp.ClientConnectorCertificateError, "Peer certificate cannot be authenticated"),
        (aiohttp.ServerFingerprintMismatch, "Peer certificate cannot be authenticated"),
        (aiohttp.ClientSSLError, "SSL connect error"),
        (aiohttp.ClientConnectorError, "Couldn't connect to server"),
        (aiohttp.ServerDisconnectedError, "Server returned nothing (no headers, no data)"),
        (aiohttp.InvalidURL, "URL using bad/illegal format or missing URL"),
        (aiohttp.ClientPayloadError, "Failure when receiving data from the peer"),
        (aiohttp.ClientResponseError, "Weird server reply"),  # an answer that is not HTTP
        (aiohttp.ClientConnectionResetError, "Failure when receiving data from the peer"),
        (aiohttp.ClientOSError, "Failure when receiving data from the peer"),
        (ConnectionError, "Couldn't connect to server"),
    )


def failure_reason(exc: BaseException) -> str:
    """The reason of an attempt that failed with `exc`: libcurl's words for the network errors of an
    HTTP request (curl_reasons), else the exception's own text (MQTT, ...)."""
    for kind, reason in curl_reasons():
        if isinstance(exc, kind):
            return reason
    return f"{type(exc).__name__}: {exc}"[:500]


def _encoded(job) -> bytes:
    """The bytes sent: a raw text body as it is (NGSI-v2 httpCustom.payload), else JSON."""
    if job.endpoint.get("raw"):
        return job.body.encode() if isinstance(job.body, str) else b""
    return orjson.dumps(job.body)


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
            return failure_reason(exc)

    async def _send_http(self, job) -> str | None:
        import aiohttp

        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.notify_timeout),
                connector=aiohttp.TCPConnector(limit=200, limit_per_host=32, resolver=self.policy.aiohttp_resolver()),
                skip_auto_headers=("User-Agent",))
        method = job.endpoint.get("method", "POST")
        headers = job.endpoint.get("headers") or {}
        skip = AUTO_HEADERS if job.endpoint.get("exact_headers") else ()
        seconds = job.endpoint.get("timeout")  # the subscription's own, else the session's notify_timeout
        own = {"timeout": aiohttp.ClientTimeout(total=seconds)} if seconds else {}  # (None would mean none)
        async with self._http.request(method, job.endpoint["uri"], data=_encoded(job), headers=headers,
                                      skip_auto_headers=skip, **own,
                                      allow_redirects=False) as response:  # a redirect could lead inside
            await response.read()
            job.response_code = response.status
            if 200 <= response.status < 300 or job.endpoint.get("any_status_delivers"):
                return None
            return f"HTTP {response.status}"

    async def _send_mqtt(self, job) -> str | None:
        import aiomqtt

        uri = urlsplit(job.endpoint["uri"])
        key = (uri.scheme, uri.hostname, uri.port or (8883 if uri.scheme == "mqtts" else 1883), uri.username)
        client = await self._mqtt_client(key, uri, aiomqtt)
        try:
            await client.publish(job.endpoint["topic"], _encoded(job), qos=job.endpoint.get("qos", 0),
                                 retain=job.endpoint.get("retain", False), timeout=self.settings.notify_timeout)
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
