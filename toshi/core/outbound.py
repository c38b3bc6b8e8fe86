"""Outbound requests (SSRF protection): which hosts Toshi may call on a client's behalf.

Clients choose URLs Toshi connects to: remote @contexts, notification endpoints (NGSI-LD and NGSI-v2,
HTTP and MQTT), NGSI-v2 context providers and IoT command push endpoints. Unless private addresses are
allowed (`outbound_private`), a URL whose host is, or resolves to, a loopback, private, link-local (the
cloud metadata service 169.254.169.254), shared (CGNAT), multicast, reserved or unspecified address is
refused, unless `outbound_allow` names it (host, host:port, IP address or CIDR). Every address a name
resolves to must be acceptable, so a name that also (or later: DNS rebinding) points inside is refused.

`check_literal` looks at the URL alone (creation time); `check` also resolves the host (before each
request); `aiohttp_resolver` (toshi/core/aiohttp_resolver.py) makes aiohttp connect to exactly the
addresses that were checked.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORTS = {"http": 80, "https": 443, "mqtt": 1883, "mqtts": 8883}
DNS_CACHE_SECONDS = 30.0
DNS_CACHE_SIZE = 4096
HINT = ", not allowed unless TOSHI_OUTBOUND_ALLOW lists it"
THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
SHARED = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_CHARS = frozenset("0123456789abcdefx.")


class OutboundRefused(ValueError):
    """A URL Toshi will not call; the message says why."""


# -- addresses --------------------------------------------------------------------------------------

_KINDS = (
    ("loopback", lambda ip: ip.is_loopback),
    ("link-local", lambda ip: ip.is_link_local),
    ("unspecified", lambda ip: ip.is_unspecified or ip in THIS_NETWORK),
    ("multicast", lambda ip: ip.is_multicast),
    ("shared CGNAT", lambda ip: ip in SHARED),
    ("reserved", lambda ip: ip.is_reserved),
    ("private", lambda ip: ip.is_private),
    ("site-local", lambda ip: ip.version == 6 and ip.is_site_local),
    ("non-public", lambda ip: not ip.is_global),
)


def internal_kind(ip: IPAddress) -> str | None:
    """What makes `ip` an internal address ("loopback", "private", ...), or None for a public one."""
    ip = embedded_ipv4(ip) or ip
    return next((kind for kind, test in _KINDS if test(ip)), None)


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, 6to4, NAT64), if any."""
    if ip.version == 4:
        return None
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.ipv4_mapped or ip.sixtofour


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP stands for, in any form the system resolver accepts too
    (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`, `[::1]`); None for a name."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and set(host) <= _IPV4_CHARS:
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_localhost(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


# -- URLs and the allow-list ------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    host: str                       # lower case, no trailing dot; an IP address in its usual form
    port: int
    address: IPAddress | None       # when the host is an IP address


def target_of(url: str) -> Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"{url} is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise OutboundRefused(f"{url}: only http, https, mqtt and mqtts URLs are allowed")
    host = normal_host(parts.hostname or "")
    if not host or any(c.isspace() for c in host):
        raise OutboundRefused(f"{url} has no valid host")
    return Target(host, port or DEFAULT_PORTS[scheme], literal_address(host))


def normal_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    address = literal_address(host)
    return str(address) if address else host


class AllowList:
    """`outbound_allow`: comma-separated host names, host:port, IP addresses and CIDRs."""

    def __init__(self, text: str = ""):
        self.names: set[str] = set()
        self.name_ports: set[tuple[str, int]] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in filter(None, (e.strip() for e in text.split(","))):
            self._add(entry)

    def _add(self, entry: str) -> None:
        try:
            self.networks.append(ipaddress.ip_network(entry, strict=False))
            return
        except ValueError:
            pass
        host, port = _split_host_port(entry)
        if port is None:
            self.names.add(normal_host(host))
        else:
            self.name_ports.add((normal_host(host), port))

    def allows_host(self, host: str, port: int) -> bool:
        address = literal_address(host)
        return (host in self.names or (host, port) in self.name_ports
                or (address is not None and self.allows_address(address, port)))

    def allows_address(self, address: IPAddress, port: int) -> bool:
        return (str(address), port) in self.name_ports or any(address in net for net in self.networks)


def _split_host_port(entry: str) -> tuple[str, int | None]:
    """`host`, `host:port` or `[v6]:port`."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = entry.partition(":")
    if not host or (port and not port.isdigit()):
        raise ValueError(f"outbound_allow: {entry!r} is not a host, host:port, IP address or CIDR")
    return host, int(port) if port else None


# -- the policy -------------------------------------------------------------------------------------

async def lookup(host: str, port: int) -> list[tuple[int, str]]:
    """(family, address) of every address `host` resolves to (a test replaces this)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys((family, sockaddr[0]) for family, _, _, _, sockaddr in infos))


class OutboundPolicy:
    def __init__(self, allow_private: bool = False, allow: str = "", *,
                 cache_seconds: float = DNS_CACHE_SECONDS):
        self.allow_private = allow_private
        self.allow = AllowList(allow)
        self.cache_seconds = cache_seconds
        self._answers: dict[str, tuple[float, list[tuple[int, str]]]] = {}

    @classmethod
    def from_settings(cls, settings) -> OutboundPolicy:
        mode = settings.outbound_private.strip().lower()
        if mode not in ("allow", "deny", "auto"):
            raise ValueError(f"outbound_private must be allow, deny or auto, not {settings.outbound_private!r}")
        allow_private = mode == "allow" or (mode == "auto" and not settings.auth)
        return cls(allow_private, settings.outbound_allow)

    def check_literal(self, url: str) -> None:
        """Refuse `url` if its scheme is not allowed or its host is written as an internal address
        (or is `localhost`). No DNS: for validating a URL when it is given."""
        target = target_of(url)
        if not self._trusted(target.host, target.port):
            self._check_literal_host(target)

    async def check(self, url: str) -> None:
        """`check_literal`, and every address the host resolves to must be acceptable. A host that
        does not resolve passes: connecting to it fails anyway, with its own error."""
        target = target_of(url)
        if self._trusted(target.host, target.port):
            return
        self._check_literal_host(target)
        if target.address is None:
            try:
                await self.addresses(target.host, target.port)
            except OSError:
                pass

    async def addresses(self, host: str, port: int) -> list[tuple[int, str]]:
        """(family, address) of `host`, every one of them checked: what a client may connect to."""
        host = normal_host(host)
        answers = await self._resolve(host, port)
        if not self._trusted(host, port):
            for _, text in answers:
                self._check_address(host, ipaddress.ip_address(text.split("%", 1)[0]), port)
        return answers

    async def pinned(self, url: str) -> tuple[str, dict, dict]:
        """For an HTTP client that resolves names itself (httpx): the URL with an address this policy
        accepted in place of the host, plus the Host header and TLS server name of the original host, so
        the name cannot resolve elsewhere between the check and the connection (DNS rebinding).
        Unchanged when private addresses are allowed or the host is an address already."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if self.allow_private or literal_address(normal_host(host)) is not None:
            return url, {}, {}
        answers = await self.addresses(host, parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 80))
        if not answers:
            return url, {}, {}
        address = answers[0][1]
        netloc = (f"[{address}]" if ":" in address else address) + (f":{parts.port}" if parts.port else "")
        extensions = {"sni_hostname": host} if parts.scheme.lower() == "https" else {}
        return urlunsplit(parts._replace(netloc=netloc)), {"Host": parts.netloc.rsplit("@", 1)[-1]}, extensions

    def aiohttp_resolver(self):
        """For aiohttp.TCPConnector(resolver=...): None (the default resolver) when private addresses
        are allowed, else one that connects only to checked addresses."""
        if self.allow_private:
            return None
        from toshi.core.aiohttp_resolver import CheckedResolver  # aiohttp only where it is used

        return CheckedResolver(self)

    def _trusted(self, host: str, port: int) -> bool:
        return self.allow_private or self.allow.allows_host(host, port)

    def _check_literal_host(self, target: Target) -> None:
        if target.address is not None:
            self._check_address(target.host, target.address, target.port)
        elif is_localhost(target.host):
            raise OutboundRefused(f"{target.host} is a loopback address{HINT}")

    def _check_address(self, host: str, address: IPAddress, port: int) -> None:
        kind = internal_kind(address)
        if kind is None or self.allow.allows_address(address, port):
            return
        described = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} address"
        if host == str(address):
            raise OutboundRefused(f"{host} is {described}{HINT}")
        raise OutboundRefused(f"{host} resolves to {address}, {described}{HINT}")

    async def _resolve(self, host: str, port: int) -> list[tuple[int, str]]:
        address = literal_address(host)
        if address is not None:
            return [(socket.AF_INET6 if address.version == 6 else socket.AF_INET, str(address))]
        now = time.monotonic()
        cached = self._answers.get(host)
        if cached is not None and cached[0] > now:
            return cached[1]
        answers = await lookup(host, port)
        if len(self._answers) >= DNS_CACHE_SIZE:
            self._answers.clear()
        self._answers[host] = (now + self.cache_seconds, answers)
        return answers


@functools.lru_cache(maxsize=64)
def outbound_policy(settings) -> OutboundPolicy:
    """The one OutboundPolicy of an application (its Settings are frozen, hence a cache key)."""
    return OutboundPolicy.from_settings(settings)
