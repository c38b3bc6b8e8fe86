"""Outbound requests (SSRF): the policy itself, and every place a client's URL is called."""

from __future__ import annotations

import dataclasses
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from starlette.testclient import TestClient
from support import Receiver, wait_until

from toshi.app import create_app
from toshi.config import Settings
from toshi.core import outbound
from toshi.core.outbound import OutboundPolicy, OutboundRefused, outbound_policy
from toshi.jsonld.registry import ContextRegistry, InMemoryContextStore
from toshi.jsonld.resolver import ContextResolver

PUBLIC = "93.184.216.34"
ALLOW_HINT = "TOSHI_OUTBOUND_ALLOW"


def deny() -> OutboundPolicy:
    return OutboundPolicy(allow_private=False)


def refused(policy: OutboundPolicy, url: str) -> str:
    with pytest.raises(OutboundRefused) as caught:
        policy.check_literal(url)
    return str(caught.value)


def answers(*addresses: str):
    """A stand-in for outbound.lookup: every name resolves to `addresses`; counts the lookups."""
    calls = []

    async def fake(host: str, port: int) -> list[tuple[int, str]]:
        calls.append(host)
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, a) for a in addresses]
    fake.calls = calls
    return fake


# -- addresses ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "kind"), [
    ("http://127.0.0.1:8080/notify", "loopback"),
    ("http://127.255.0.9/", "loopback"),
    ("https://10.1.2.3/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0.1.2.3/", "unspecified"),
    ("http://100.64.0.1/", "shared CGNAT"),
    ("http://224.0.0.1/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://[::1]/", "loopback"),
    ("http://[::]/", "unspecified"),
    ("http://[fc00::1]/", "private"),
    ("http://[fd12:3456::1]:9000/", "private"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fe80::1%25eth0]/", "link-local"),
    ("http://[ff02::1]/", "multicast"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:a9fe:a9fe]/", "link-local"),
    ("http://[64:ff9b::a00:1]/", "private"),
    ("http://[2002:7f00:1::]/", "loopback"),
    ("mqtt://127.0.0.1/topic", "loopback"),
    ("mqtts://[::1]:8883/topic", "loopback"),
])
def test_internal_addresses_are_refused(url, kind):
    message = refused(deny(), url)
    assert f" {kind} address" in message and ALLOW_HINT in message


@pytest.mark.parametrize("url", [
    "http://2130706433/",        # decimal
    "http://0x7f000001/",        # hex
    "http://0x7f.1/",            # hex, short form
    "http://0177.0.0.1/",        # octal
    "http://127.1/",             # short form
    "http://127.0.0.1./",        # trailing dot
    "http://localhost/",
    "http://LocalHost./",
    "http://api.localhost/",
    "http://user:secret@127.0.0.1/",
])
def test_other_spellings_of_loopback_are_refused(url):
    assert "loopback" in refused(deny(), url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://example.org/", "ftp://example.org/", "x"])
def test_other_schemes_are_refused_even_when_private_addresses_are_allowed(url):
    assert "only http, https, mqtt and mqtts" in refused(OutboundPolicy(allow_private=True), url)


@pytest.mark.parametrize("url", [f"http://{PUBLIC}/", "https://example.org/notify", "mqtt://[2606:4700::1]/t",
                                 "http://user@127.0.0.1@example.org/"])
def test_public_addresses_and_names_pass_the_literal_check(url):
    deny().check_literal(url)


def test_urls_without_a_valid_host_are_refused():
    assert "no valid host" in refused(deny(), "http:///path")
    assert "not a valid URL" in refused(deny(), "http://example.org:99999/")


# -- the allow-list -------------------------------------------------------------------------------

@pytest.mark.parametrize(("allow", "url"), [
    ("127.0.0.1", "http://127.0.0.1:9/"),
    ("127.0.0.1", "http://2130706433:9/"),
    ("10.0.0.0/8", "http://10.20.30.40/"),
    ("127.0.0.1:9000", "http://127.0.0.1:9000/"),
    ("localhost", "http://localhost:1234/"),
    ("localhost:1234", "http://localhost:1234/"),
    ("[::1]:8080", "http://[::1]:8080/"),
    ("::1", "http://[::1]/"),
    ("fd00::/8", "http://[fd00::5]/"),
    ("169.254.169.254", "http://169.254.169.254/"),
    (" example.org , 192.168.0.0/16 ", "http://192.168.7.7/"),
    ("127.0.0.1:1883", "mqtt://127.0.0.1/topic"),
    ("127.0.0.1:443", "https://127.0.0.1/"),
])
def test_allow_list_forms(allow, url):
    OutboundPolicy(allow_private=False, allow=allow).check_literal(url)


@pytest.mark.parametrize(("allow", "url"), [
    ("127.0.0.1:9000", "http://127.0.0.1:9001/"),
    ("10.0.0.0/16", "http://10.1.0.1/"),
    ("localhost:1234", "http://localhost:80/"),
    ("[::1]:8080", "http://127.0.0.1:8080/"),
    ("example.org", "http://169.254.169.254/"),
])
def test_allow_list_allows_nothing_else(allow, url):
    refused(OutboundPolicy(allow_private=False, allow=allow), url)


@pytest.mark.parametrize("entry", ["host:port", "a:b:c", "[::1]:x", ":80"])
def test_invalid_allow_list_entries_are_errors(entry):
    with pytest.raises(ValueError, match="outbound_allow"):
        OutboundPolicy(allow_private=False, allow=entry)


@pytest.mark.parametrize(("mode", "auth", "allows_private"), [
    ("auto", False, True), ("auto", True, False), ("deny", False, False), ("allow", True, True),
    (" Deny ", False, False),
])
def test_modes(mode, auth, allows_private):
    policy = OutboundPolicy.from_settings(Settings(outbound_private=mode, auth=auth))
    assert policy.allow_private is allows_private


def test_unknown_mode_is_an_error():
    with pytest.raises(ValueError, match="outbound_private"):
        OutboundPolicy.from_settings(Settings(outbound_private="sometimes"))


def test_one_policy_per_settings():
    settings = Settings(outbound_private="deny")
    assert outbound_policy(settings) is outbound_policy(settings)
    assert outbound_policy(settings) is not outbound_policy(dataclasses.replace(settings, outbound_allow="a"))


# -- DNS ------------------------------------------------------------------------------------------

async def test_a_name_resolving_to_an_internal_address_is_refused(monkeypatch):
    monkeypatch.setattr(outbound, "lookup", answers("10.0.0.7"))
    with pytest.raises(OutboundRefused, match="receiver.example resolves to 10.0.0.7, a private address"):
        await deny().check("http://receiver.example/notify")


async def test_every_address_of_a_name_must_be_acceptable(monkeypatch):
    monkeypatch.setattr(outbound, "lookup", answers(PUBLIC, "::1"))
    with pytest.raises(OutboundRefused, match="resolves to ::1, a loopback address"):
        await deny().check("http://receiver.example/notify")


async def test_public_names_and_allowed_internal_names_pass(monkeypatch):
    monkeypatch.setattr(outbound, "lookup", answers(PUBLIC))
    await deny().check("http://receiver.example/notify")
    monkeypatch.setattr(outbound, "lookup", answers("10.0.0.7"))
    await OutboundPolicy(allow_private=False, allow="receiver.example").check("http://receiver.example/")
    await OutboundPolicy(allow_private=False, allow="10.0.0.0/24").check("http://receiver.example/")
    await OutboundPolicy(allow_private=False, allow="10.0.0.7:8080").check("http://receiver.example:8080/")


async def test_no_dns_when_private_addresses_are_allowed(monkeypatch):
    lookup = answers("10.0.0.7")
    monkeypatch.setattr(outbound, "lookup", lookup)
    await OutboundPolicy(allow_private=True).check("http://receiver.example/")
    assert lookup.calls == []


async def test_a_name_that_does_not_resolve_is_left_to_the_connection(monkeypatch):
    async def failing(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    monkeypatch.setattr(outbound, "lookup", failing)
    await deny().check("http://nowhere.invalid/")


async def test_answers_are_cached_briefly_then_checked_again(monkeypatch):
    lookup = answers(PUBLIC)
    monkeypatch.setattr(outbound, "lookup", lookup)
    policy = deny()
    await policy.check("http://receiver.example/a")
    await policy.check("http://receiver.example/b")
    assert lookup.calls == ["receiver.example"]
    rebinding = OutboundPolicy(allow_private=False, cache_seconds=0)
    await rebinding.check("http://receiver.example/")
    monkeypatch.setattr(outbound, "lookup", answers("169.254.169.254"))
    with pytest.raises(OutboundRefused, match="link-local"):
        await rebinding.check("http://receiver.example/")


async def test_the_aiohttp_resolver_gives_only_checked_addresses(monkeypatch):
    monkeypatch.setattr(outbound, "lookup", answers(PUBLIC, "2606:4700::1"))
    resolver = deny().aiohttp_resolver()
    found = await resolver.resolve("receiver.example", 443, family=socket.AF_UNSPEC)
    assert [(r["host"], r["port"]) for r in found] == [(PUBLIC, 443), ("2606:4700::1", 443)]
    assert [r["host"] for r in await resolver.resolve("receiver.example", 443, family=socket.AF_INET)] == [PUBLIC]
    monkeypatch.setattr(outbound, "lookup", answers("127.0.0.1"))
    with pytest.raises(OutboundRefused):
        await OutboundPolicy(allow_private=False, cache_seconds=0).aiohttp_resolver().resolve("evil.example", 80)
    assert OutboundPolicy(allow_private=True).aiohttp_resolver() is None


# -- remote @contexts -----------------------------------------------------------------------------

class Redirector:
    """A local HTTP server: /context.jsonld is a context; /to?url=... redirects there."""

    def __init__(self):
        self.hosts: list[str] = []  # the Host header of each request
        redirector = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                redirector.hosts.append(self.headers.get("Host"))
                if self.path.startswith("/to?url="):
                    self.send_response(302)
                    self.send_header("Location", self.path.removeprefix("/to?url="))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b'{"@context": {"speed": "https://example.org/speed"}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/ld+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def redirector():
    server = Redirector()
    yield server
    server.close()


async def resolver_with(policy: OutboundPolicy) -> ContextResolver:
    registry = ContextRegistry(InMemoryContextStore(), base_url="http://toshi.test:1026")
    await registry.load()
    return ContextResolver(registry, fetch_timeout=2.0, outbound=policy)


async def test_context_from_an_internal_address_is_refused(redirector):
    from toshi.core.errors import LdContextNotAvailable

    resolver = await resolver_with(deny())
    try:
        with pytest.raises(LdContextNotAvailable, match="loopback address"):
            await resolver.resolve(redirector.base + "/context.jsonld")
    finally:
        await resolver.aclose()


async def test_context_fetch_connects_to_the_address_that_was_checked(redirector, monkeypatch):
    """The fetch goes to the address the check resolved (here the only way to reach a name no real DNS
    knows), with the original Host: a name cannot resolve to another address between check and connect."""
    monkeypatch.setattr(outbound, "lookup", answers("127.0.0.1"))
    port = redirector.base.rsplit(":", 1)[1]
    resolver = await resolver_with(OutboundPolicy(allow_private=False, allow=f"contexts.example:{port}"))
    try:
        active = await resolver.resolve(f"http://contexts.example:{port}/context.jsonld")
        assert active.expand_term("speed") == "https://example.org/speed"
        assert redirector.hosts[-1] == f"contexts.example:{port}"
    finally:
        await resolver.aclose()


async def test_every_redirect_hop_is_checked(redirector):
    from toshi.core.errors import LdContextNotAvailable

    allowed = redirector.base.removeprefix("http://")  # 127.0.0.1:<port>
    resolver = await resolver_with(OutboundPolicy(allow_private=False, allow=allowed))
    try:
        active = await resolver.resolve(f"{redirector.base}/to?url={redirector.base}/context.jsonld")
        assert active.expand_term("speed") == "https://example.org/speed"
        with pytest.raises(LdContextNotAvailable, match="169.254.169.254 is a link-local address"):
            await resolver.resolve(f"{redirector.base}/to?url=http://169.254.169.254/latest/meta-data/")
    finally:
        await resolver.aclose()


# -- the APIs (authentication off, private addresses denied) ------------------------------------------

@pytest.fixture
def denying(settings):
    return dataclasses.replace(settings, auth=False, outbound_private="deny", notify_backoff=0.05,
                               notify_max_attempts=2, notify_timeout=2.0)


@pytest.fixture
def strict_client(denying):
    with TestClient(create_app(denying)) as test_client:
        yield test_client


def ld_subscription(uri: str) -> dict:
    return {"type": "Subscription", "entities": [{"type": "Shelter"}],
            "notification": {"endpoint": {"uri": uri, "accept": "application/json"}}}


@pytest.mark.parametrize("uri", ["http://127.0.0.1:9/notify", "http://169.254.169.254/", "http://[::1]/",
                                 "http://2130706433/", "mqtt://10.0.0.1/topic"])
def test_ld_subscription_to_an_internal_address_is_refused(strict_client, uri):
    response = strict_client.post("/ngsi-ld/v1/subscriptions", json=ld_subscription(uri))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"].endswith("BadRequestData")
    assert "notification endpoint" in body["detail"] and ALLOW_HINT in body["detail"]
    assert strict_client.get("/ngsi-ld/v1/subscriptions").json() == []


def test_ld_subscription_update_to_an_internal_address_is_refused(strict_client):
    created = strict_client.post("/ngsi-ld/v1/subscriptions", json=ld_subscription("http://receiver.example/n"))
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    patch = {"notification": {"endpoint": {"uri": "http://10.0.0.1/n"}}}
    response = strict_client.patch(location, json=patch)
    assert response.status_code == 400 and "private address" in response.json()["detail"]
    assert strict_client.get(location).json()["notification"]["endpoint"]["uri"] == "http://receiver.example/n"


def test_allow_list_admits_an_internal_receiver(denying):
    with TestClient(create_app(dataclasses.replace(denying, outbound_allow="127.0.0.1"))) as client:
        response = client.post("/ngsi-ld/v1/subscriptions", json=ld_subscription("http://127.0.0.1:9/notify"))
        assert response.status_code == 201, response.text


@pytest.mark.parametrize("notification", [
    {"http": {"url": "http://127.0.0.1:9/notify"}},
    {"httpCustom": {"url": "http://[::1]/notify/${id}"}},
    {"mqtt": {"url": "mqtt://192.168.0.10:1883", "topic": "t"}},
    {"mqttCustom": {"url": "mqtt://localhost", "topic": "t"}},
])
def test_v2_subscription_to_an_internal_address_is_refused(strict_client, notification):
    body = {"subject": {"entities": [{"idPattern": ".*"}]}, "notification": notification}
    response = strict_client.post("/v2/subscriptions", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "BadRequest" and ALLOW_HINT in response.json()["description"]


def test_v2_subscription_with_a_macro_host_is_checked_when_sent(strict_client):
    body = {"subject": {"entities": [{"idPattern": ".*"}]},
            "notification": {"httpCustom": {"url": "http://${host}/notify"}}}
    assert strict_client.post("/v2/subscriptions", json=body).status_code == 201


def test_v2_subscription_update_to_an_internal_address_is_refused(strict_client):
    body = {"subject": {"entities": [{"idPattern": ".*"}]},
            "notification": {"http": {"url": "http://receiver.example/notify"}}}
    location = strict_client.post("/v2/subscriptions", json=body).headers["location"]
    response = strict_client.patch(location, json={"notification": {"http": {"url": "http://10.9.8.7/"}}})
    assert response.status_code == 400 and response.json()["error"] == "BadRequest"


def test_v2_registration_to_an_internal_provider_is_refused(strict_client):
    def registration(url: str) -> dict:
        return {"dataProvided": {"entities": [{"id": "Room1", "type": "Room"}], "attrs": ["humidity"]},
                "provider": {"http": {"url": url}}}
    response = strict_client.post("/v2/registrations", json=registration("http://169.254.169.254/v2"))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "BadRequest" and "provider url" in response.json()["description"]
    # moving a registration (Orion 4.7 has no update: delete and re-create) to an internal provider
    created = strict_client.post("/v2/registrations", json=registration("http://provider.example/v2"))
    assert created.status_code == 201
    assert strict_client.delete(created.headers["location"]).status_code == 204
    response = strict_client.post("/v2/registrations", json=registration("http://127.0.0.1:1026/v2"))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "BadRequest" and "provider url" in response.json()["description"]
    assert strict_client.get("/v2/registrations").json() == []


def test_forwarding_to_a_provider_resolving_inside_is_skipped(strict_client, monkeypatch):
    monkeypatch.setattr(outbound, "lookup", answers("10.0.0.7"))
    registration = {"dataProvided": {"entities": [{"id": "Room1", "type": "Room"}], "attrs": ["humidity"]},
                    "provider": {"http": {"url": "http://provider.example/v2"}}}
    assert strict_client.post("/v2/registrations", json=registration).status_code == 201
    assert strict_client.get("/v2/entities/Room1?type=Room").status_code == 404  # the provider is not asked


def test_context_from_an_internal_address_is_refused_over_http(strict_client, redirector):
    if strict_client.app.state.toshi.resolver.outbound is None:
        pytest.xfail("toshi/app.py does not pass outbound=outbound_policy(settings) to ContextResolver yet")
    entity = {"id": "urn:ngsi-ld:Car:1", "type": "Car", "speed": {"type": "Property", "value": 1},
              "@context": redirector.base + "/context.jsonld"}
    response = strict_client.post("/ngsi-ld/v1/entities", json=entity, headers={"Content-Type": "application/ld+json"})
    assert response.status_code == 503, response.text
    assert response.json()["type"].endswith("LdContextNotAvailable") and "loopback" in response.json()["detail"]


def test_delivery_is_refused_when_the_name_now_resolves_inside(strict_client, monkeypatch):
    monkeypatch.setattr(outbound, "lookup", answers("10.0.0.7"))
    created = strict_client.post("/ngsi-ld/v1/subscriptions", json=ld_subscription("http://receiver.example/n"))
    assert created.status_code == 201
    shelter = {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "occupancy": {"type": "Property", "value": 1}}
    assert strict_client.post("/ngsi-ld/v1/entities", json=shelter).status_code == 201
    letters = lambda: strict_client.get("/admin/notifications/dead-letters").json()  # noqa: E731
    assert wait_until(letters)
    [letter] = letters()
    assert letter["attempts"] == 2
    assert letter["lastError"].startswith("refused: receiver.example resolves to 10.0.0.7, a private address")
    notification = lambda: strict_client.get(created.headers["location"]).json()["notification"]  # noqa: E731
    assert wait_until(lambda: notification().get("timesFailed") == 2)
    assert "lastFailure" in notification() and "lastSuccess" not in notification()


def test_iot_command_push_to_an_internal_endpoint_is_an_error(strict_client):
    headers = {"Fiware-Service": "smart", "Fiware-ServicePath": "/gardens"}
    group = {"apikey": "k1", "resource": "/iot/d", "entity_type": "Sensor"}
    assert strict_client.post("/iot/services", headers=headers, json={"services": [group]}).status_code == 201
    device = {"device_id": "s1", "entity_type": "Sensor", "transport": "HTTP", "commands": [{"name": "ping"}],
              "endpoint": "http://169.254.169.254/cmd"}
    assert strict_client.post("/iot/devices", headers=headers, json={"devices": [device]}).status_code == 201
    strict_client.patch("/v2/entities/Sensor:s1/attrs", headers=headers, json={"ping": {"type": "command", "value": 1}})
    entity = lambda: strict_client.get("/v2/entities/Sensor:s1?options=keyValues", headers=headers).json()  # noqa: E731
    assert wait_until(lambda: entity()["ping_status"] == "ERROR")
    assert "169.254.169.254 is a link-local address" in entity()["ping_info"]


# -- the default: no authentication, so local receivers work ----------------------------------------

def test_by_default_local_receivers_are_allowed(settings):
    assert settings.outbound_private == "auto" and not settings.auth
    fast = dataclasses.replace(settings, notify_backoff=0.05)
    receiver = Receiver()
    try:
        with TestClient(create_app(fast)) as client:
            sub = ld_subscription(receiver.url)
            sub["watchedAttributes"] = ["occupancy"]
            assert client.post("/ngsi-ld/v1/subscriptions", json=sub).status_code == 201
            shelter = {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "occupancy": {"type": "Property", "value": 1}}
            assert client.post("/ngsi-ld/v1/entities", json=shelter).status_code == 201
            client.patch("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:1/attrs/occupancy", json={"value": 2})
            assert receiver.wait_for(1)
    finally:
        receiver.close()
