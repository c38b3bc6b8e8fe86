"""Bearer token verification: every way a token can be wrong is refused with its reason, keys come
from a static JWKS or a (real, local) JWKS endpoint that is refreshed for unknown kids."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from toshi.auth import tokens
from toshi.auth.issuer import issue_token
from toshi.auth.tokens import InvalidToken, TokenSettings, TokenVerifier
from toshi.core.signing import SigningKey

ISSUER, AUDIENCE = "https://idp.example/realms/city", "toshi"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, claims: dict) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"


def good_claims(**changes) -> dict:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "nbf": now, "exp": now + 300,
              "roles": ["osaka:consumer"]}
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def sign(key: SigningKey, claims: dict, **header) -> str:
    return jwt.encode(claims, key.private_key, algorithm="EdDSA", headers={"kid": key.kid, **header})


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def verifier(key) -> TokenVerifier:
    return TokenVerifier(TokenSettings(ISSUER, AUDIENCE, jwks=key.jwks()))


async def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    return caught.value.reason


# -- valid tokens -----------------------------------------------------------------------------------


async def test_a_valid_token_gives_its_principal(verifier, key):
    claims = good_claims(roles={"osaka": ["provider"], "default": ["consumer"]}, groups=["traffic", 3],
                         preferred_username="Alice A.")
    principal = await verifier.verify(sign(key, claims))
    assert principal.kind == "token" and principal.id == "alice" and principal.name == "Alice A."
    assert principal.roles_in("osaka") == {"provider"} and principal.roles_in("") == {"consumer"}
    assert principal.groups == {"traffic"}


async def test_toshi_issued_tokens_verify_against_its_own_jwks(key):
    verifier = TokenVerifier(TokenSettings("toshi", "toshi", jwks=key.jwks()))
    principal = await verifier.verify(issue_token(key, "toshi", "ops-bot", ["*:operator"], ["ops"]))
    assert principal.id == "ops-bot" and principal.name == "ops-bot"
    assert principal.roles_in("anything") == {"operator"} and principal.groups == {"ops"}


async def test_keycloak_style_roles_and_claim_paths(key):
    settings = TokenSettings(ISSUER, AUDIENCE, jwks=key.jwks(), roles_claim="resource_access.toshi.roles",
                             groups_claim="teams")
    claims = good_claims(roles=None, resource_access={"toshi": {"roles": ["kyoto:admin", "viewer"]}},
                         realm_access={"roles": ["offline_access", "osaka:consumer", "osaka:jedi", "kyoto:operator"]},
                         teams=["/city/water"])
    principal = await TokenVerifier(settings).verify(sign(key, claims))
    assert principal.roles == {"kyoto": {"admin", "operator"}, "osaka": {"consumer"}}
    assert principal.groups == {"/city/water"}


async def test_unknown_roles_in_a_token_are_ignored_not_fatal(verifier, key):
    principal = await verifier.verify(sign(key, good_claims(roles=["osaka:overlord", "uma_authorization"])))
    assert principal.roles == {}
    principal = await verifier.verify(sign(key, good_claims(roles="osaka:admin", groups="ops")))
    assert principal.roles == {} and principal.groups == frozenset()


async def test_clock_skew_within_leeway_is_accepted(verifier, key):
    now = int(time.time())
    assert await verifier.verify(sign(key, good_claims(exp=now - 10)))
    assert await verifier.verify(sign(key, good_claims(nbf=now + 10, iat=now + 10)))


@pytest.mark.parametrize("alg, make", [
    ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ("PS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
    ("ES384", lambda: ec.generate_private_key(ec.SECP384R1())),
])
async def test_other_asymmetric_algorithms(alg, make):
    private = make()
    algorithm = jwt.get_algorithm_by_name(alg)
    jwk = {**algorithm.to_jwk(private.public_key(), as_dict=True), "kid": "k1"}
    verifier = TokenVerifier(TokenSettings(ISSUER, AUDIENCE, jwks={"keys": [jwk]}))
    token = jwt.encode(good_claims(), private, algorithm=alg, headers={"kid": "k1"})
    assert (await verifier.verify(token)).id == "alice"


# -- forged and invalid tokens ----------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c", "a.b.c.d", "eyJhbGciOiJFZERTQSJ9.e30"])
async def test_malformed(verifier, token):
    assert await refused(verifier, token) == tokens.MALFORMED


async def test_alg_none_is_refused(verifier, key):
    for alg in ("none", "None", "NONE"):
        token = unsigned({"alg": alg, "kid": key.kid}, good_claims()) + "."
        assert await refused(verifier, token) == tokens.ALGORITHM


async def test_hs256_signed_with_the_public_key_is_refused(key):
    """Key confusion: an attacker HMACs with the public key, hoping it is used as the HMAC secret."""
    settings = TokenSettings(ISSUER, AUDIENCE, jwks=key.jwks(), algorithms=("HS256", "EdDSA"))
    verifier = TokenVerifier(settings)  # even when HS256 is (wrongly) configured
    public_pem = key.public_key.public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    for secret in (public_pem, key.public_key.public_bytes_raw(), key.public_jwk()["x"].encode()):
        body = unsigned({"alg": "HS256", "typ": "JWT", "kid": key.kid}, good_claims())
        signature = hmac.new(secret, body.encode(), hashlib.sha256).digest()
        assert await refused(verifier, f"{body}.{b64(signature)}") == tokens.ALGORITHM


async def test_an_algorithm_that_does_not_fit_the_key_is_refused(key):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = {"keys": [key.public_jwk(), {**jwt.get_algorithm_by_name("RS256").to_jwk(rsa_key.public_key(), as_dict=True),
                                        "kid": "rsa", "alg": "RS256"}]}
    verifier = TokenVerifier(TokenSettings(ISSUER, AUDIENCE, jwks=jwks))
    as_rsa = jwt.encode(good_claims(), rsa_key, algorithm="RS256", headers={"kid": key.kid})
    assert await refused(verifier, as_rsa) == tokens.ALGORITHM  # RS256 token naming the Ed25519 key
    as_ps = jwt.encode(good_claims(), rsa_key, algorithm="PS256", headers={"kid": "rsa"})
    assert await refused(verifier, as_ps) == tokens.ALGORITHM  # the JWK says alg RS256
    assert (await verifier.verify(jwt.encode(good_claims(), rsa_key, algorithm="RS256",
                                             headers={"kid": "rsa"}))).id == "alice"


async def test_an_algorithm_left_out_of_the_settings_is_refused(key):
    verifier = TokenVerifier(TokenSettings(ISSUER, AUDIENCE, jwks=key.jwks(), algorithms=("RS256",)))
    assert await refused(verifier, sign(key, good_claims())) == tokens.ALGORITHM


async def test_signed_by_another_key_with_our_kid(verifier, key):
    impostor = SigningKey.generate()
    forged = jwt.encode(good_claims(), impostor.private_key, algorithm="EdDSA", headers={"kid": key.kid})
    assert await refused(verifier, forged) == tokens.BAD_SIGNATURE


async def test_changed_payload_breaks_the_signature(verifier, key):
    header, _, signature = sign(key, good_claims()).split(".")
    payload = b64(json.dumps(good_claims(sub="root", roles=["*:admin"])).encode())
    assert await refused(verifier, f"{header}.{payload}.{signature}") == tokens.BAD_SIGNATURE


async def test_expired(verifier, key):
    token = issue_token(key, ISSUER, "alice", ["osaka:consumer"], audience=AUDIENCE, now=time.time() - 7200)
    assert await refused(verifier, token) == tokens.EXPIRED


async def test_not_yet_valid(verifier, key):
    now = int(time.time())
    assert await refused(verifier, sign(key, good_claims(nbf=now + 3600))) == tokens.NOT_YET_VALID
    assert await refused(verifier, sign(key, good_claims(iat=now + 3600, nbf=None))) == tokens.NOT_YET_VALID


@pytest.mark.parametrize("changes, reason", [
    ({"aud": "someone-else"}, tokens.WRONG_AUDIENCE),
    ({"aud": ["account", "broker"]}, tokens.WRONG_AUDIENCE),
    ({"aud": None}, tokens.WRONG_AUDIENCE),
    ({"iss": "https://evil.example"}, tokens.WRONG_ISSUER),
    ({"iss": None}, tokens.WRONG_ISSUER),
    ({"sub": None}, tokens.MISSING_SUB),
    ({"sub": ""}, tokens.MISSING_SUB),
    ({"sub": 42}, tokens.MISSING_SUB),
    ({"exp": None}, tokens.MISSING_EXP),
    ({"exp": "soon"}, tokens.MALFORMED),
])
async def test_claims(verifier, key, changes, reason):
    assert await refused(verifier, sign(key, good_claims(**changes))) == reason


async def test_audience_lists_including_ours_are_accepted(verifier, key):
    assert (await verifier.verify(sign(key, good_claims(aud=["account", AUDIENCE])))).id == "alice"


async def test_unknown_kid_in_a_static_jwks(verifier, key):
    other = SigningKey.generate()
    assert await refused(verifier, sign(other, good_claims())) == tokens.UNKNOWN_KID
    no_kid = jwt.encode(good_claims(), key.private_key, algorithm="EdDSA")
    assert (await verifier.verify(no_kid)).id == "alice"  # the only key
    two = TokenVerifier(TokenSettings(ISSUER, AUDIENCE, jwks={"keys": [key.public_jwk(), other.public_jwk()]}))
    assert await refused(two, no_kid) == tokens.UNKNOWN_KID


async def test_symmetric_and_encryption_keys_in_a_jwks_are_never_used(key):
    jwks = {"keys": [{"kty": "oct", "kid": "h", "k": b64(b"secret")}, {**key.public_jwk(), "use": "enc"},
                     {"kty": "EC", "kid": "broken", "crv": "P-256", "x": "AA", "y": "AA"}]}
    verifier = TokenVerifier(TokenSettings(ISSUER, AUDIENCE, jwks=jwks))
    assert verifier.keys.empty
    assert await refused(verifier, sign(key, good_claims())) == tokens.UNKNOWN_KID
    hs = jwt.encode(good_claims(), "secret-secret-secret-secret-1234", algorithm="HS256", headers={"kid": "h"})
    assert await refused(verifier, hs) == tokens.ALGORITHM


def test_settings_need_keys():
    with pytest.raises(ValueError):
        TokenVerifier(TokenSettings(ISSUER, AUDIENCE))


# -- the cache of verified tokens -------------------------------------------------------------------


async def test_verified_tokens_are_cached_for_at_most_60_seconds(key, monkeypatch):
    clock = Clock()
    verifier = TokenVerifier(TokenSettings(ISSUER, AUDIENCE, jwks=key.jwks()), clock=clock)
    decodes = []
    real_decode = jwt.decode
    monkeypatch.setattr(tokens.jwt, "decode", lambda *a, **k: decodes.append(1) or real_decode(*a, **k))
    token = sign(key, good_claims(exp=int(time.time()) + 3600))
    first = await verifier.verify(token)
    assert await verifier.verify(token) is first and len(decodes) == 1
    clock.now += 59
    assert await verifier.verify(token) is first and len(decodes) == 1
    clock.now += 2
    assert await verifier.verify(token) == first and len(decodes) == 2


async def test_the_cache_never_outlives_the_token(key):
    clock = Clock()
    verifier = TokenVerifier(TokenSettings(ISSUER, AUDIENCE, jwks=key.jwks()), clock=clock)
    token = sign(key, good_claims(exp=int(time.time()) + 5))
    await verifier.verify(token)
    _, until, _ = verifier._cache[token]
    assert until <= clock.now + 5
    verifier.keys = type(verifier.keys)(static={"keys": []})  # the key is gone: only the cache can answer
    clock.now += 6
    assert await refused(verifier, token) == tokens.UNKNOWN_KID


async def test_the_cache_is_bounded(key, monkeypatch):
    monkeypatch.setattr(tokens, "CACHE_SIZE", 3)
    verifier = TokenVerifier(TokenSettings(ISSUER, AUDIENCE, jwks=key.jwks()))
    for n in range(5):
        await verifier.verify(sign(key, good_claims(sub=f"user{n}")))
    assert len(verifier._cache) == 3


async def test_refused_tokens_are_not_cached(verifier, key):
    token = sign(key, good_claims(aud="other"))
    assert await refused(verifier, token) == tokens.WRONG_AUDIENCE
    assert token not in verifier._cache


# -- JWKS fetched from an identity provider ---------------------------------------------------------


class JwksServer:
    """A real HTTP JWKS endpoint on 127.0.0.1, counting its requests."""

    def __init__(self):
        self.keys: list[dict] = []
        self.hits = 0
        self.status = 200
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        if self.status != 200:
            return web.Response(status=self.status, text="down")
        return web.json_response({"keys": self.keys})

    async def start(self) -> JwksServer:
        app = web.Application()
        app.router.add_get("/certs", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/certs"
        return self


@pytest.fixture
async def idp():
    server = await JwksServer().start()
    yield server
    await server.runner.cleanup()


def remote(url: str, clock: Clock, **changes) -> TokenVerifier:
    return TokenVerifier(TokenSettings(ISSUER, AUDIENCE, jwks_url=url, **changes), clock=clock)


async def test_keys_are_fetched_once_and_cached(idp, key):
    idp.keys = [key.public_jwk()]
    clock = Clock()
    verifier = remote(idp.url, clock)
    assert (await verifier.verify(sign(key, good_claims()))).id == "alice"
    assert (await verifier.verify(sign(key, good_claims(sub="bob")))).id == "bob"
    assert idp.hits == 1
    clock.now += 3600
    assert (await verifier.verify(sign(key, good_claims(sub="carol")))).id == "carol"
    assert idp.hits == 2  # refreshed after cache_seconds


async def test_an_unknown_kid_refreshes_the_jwks_and_finds_the_new_key(idp, key):
    idp.keys = [key.public_jwk()]
    clock = Clock()
    verifier = remote(idp.url, clock)
    await verifier.verify(sign(key, good_claims()))
    rotated = SigningKey.generate()
    idp.keys = [key.public_jwk(), rotated.public_jwk()]  # the provider rotates its keys
    clock.now += 31
    assert (await verifier.verify(sign(rotated, good_claims(sub="dave")))).id == "dave"
    assert idp.hits == 2


async def test_unknown_kid_refreshes_are_rate_limited(idp, key):
    idp.keys = [key.public_jwk()]
    clock = Clock()
    verifier = remote(idp.url, clock)
    await verifier.verify(sign(key, good_claims()))
    stranger = SigningKey.generate()
    for _ in range(5):
        clock.now += 5
        assert await refused(verifier, sign(stranger, good_claims())) == tokens.UNKNOWN_KID
    assert idp.hits == 1  # 25 s after the last fetch: no refresh yet
    idp.keys.append(stranger.public_jwk())
    clock.now += 5
    assert (await verifier.verify(sign(stranger, good_claims(sub="x")))).id == "x"
    assert idp.hits == 2
    clock.now += 5
    other = SigningKey.generate()
    assert await refused(verifier, sign(other, good_claims())) == tokens.UNKNOWN_KID
    assert idp.hits == 2


async def test_a_failing_jwks_endpoint_keeps_the_cached_keys(idp, key):
    idp.keys = [key.public_jwk()]
    clock = Clock()
    verifier = remote(idp.url, clock)
    await verifier.verify(sign(key, good_claims()))
    idp.status = 503
    clock.now += 3600
    assert (await verifier.verify(sign(key, good_claims(sub="eve")))).id == "eve"
    assert idp.hits == 2 and "503" in verifier.keys.last_error


async def test_an_unreachable_jwks_endpoint(key):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    verifier = remote(f"http://127.0.0.1:{port}/certs", Clock())
    assert await refused(verifier, sign(key, good_claims())) == tokens.JWKS_UNAVAILABLE


async def test_static_and_fetched_keys_together(idp, key):
    idp.keys = [SigningKey.generate().public_jwk()]
    verifier = remote(idp.url, Clock(), jwks=key.jwks())
    assert (await verifier.verify(sign(key, good_claims()))).id == "alice"
