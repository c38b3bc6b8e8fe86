"""Verification of bearer JWTs (Toshi's own or an OpenID Connect provider's) into a Principal.

Only asymmetric algorithms are ever accepted (never `none` or HS*, whatever the settings say), the
key must be of the type the algorithm needs, and keys come only from the configured JWKS (never from
`jku`/`x5u`/`jwk` headers of the token). Verified tokens are remembered for at most 60 s.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from toshi.auth.jwks import Jwk, KeySet
from toshi.auth.principal import Principal, parse_roles

# algorithm -> (kty, curves it may use; None = any)
KEY_TYPES = {
    "RS256": ("RSA", None), "RS384": ("RSA", None), "RS512": ("RSA", None),
    "PS256": ("RSA", None), "PS384": ("RSA", None), "PS512": ("RSA", None),
    "ES256": ("EC", {"P-256"}), "ES384": ("EC", {"P-384"}), "ES512": ("EC", {"P-521"}),
    "EdDSA": ("OKP", {"Ed25519", "Ed448"}),
}
CACHE_SIZE = 10_000
CACHE_SECONDS = 60.0

MALFORMED = "malformed"
ALGORITHM = "alg-not-allowed"
UNKNOWN_KID = "unknown-kid"
JWKS_UNAVAILABLE = "jwks-unavailable"
BAD_SIGNATURE = "bad-signature"
EXPIRED = "expired"
NOT_YET_VALID = "not-yet-valid"
WRONG_ISSUER = "wrong-issuer"
WRONG_AUDIENCE = "wrong-audience"
MISSING_SUB = "missing-sub"
MISSING_EXP = "missing-exp"


class InvalidToken(Exception):
    """`reason` is one of the constants above (stable, for logs and WWW-Authenticate); `detail` is prose."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass
class TokenSettings:
    issuer: str
    audience: str
    jwks_url: str | None = None
    jwks: dict | None = None  # a static JWKS, e.g. SigningKey.jwks() for Toshi's own tokens
    algorithms: tuple = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
    leeway_seconds: int = 30
    roles_claim: str = "roles"  # a dotted path reaches into objects: "resource_access.toshi.roles"
    groups_claim: str = "groups"
    cache_seconds: int = 3600  # JWKS refreshed this often
    min_refresh_seconds: float = 30.0  # and on an unknown kid at most this often


class TokenVerifier:
    def __init__(self, settings: TokenSettings, *, clock: Callable[[], float] = time.monotonic):
        if not settings.jwks_url and not settings.jwks:
            raise ValueError("token verification needs jwks_url or jwks")
        self.settings = settings
        self.keys = KeySet(settings.jwks_url, settings.jwks, cache_seconds=settings.cache_seconds,
                           min_refresh_seconds=settings.min_refresh_seconds, clock=clock)
        self._algorithms = [name for name in settings.algorithms if name in KEY_TYPES]
        self._clock = clock
        self._cache: OrderedDict[str, tuple[Principal, float, float]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        """The Principal of a valid token; InvalidToken otherwise."""
        cached = self._cached(token)
        if cached is not None:
            return cached
        header = self._header(token)
        key = await self._key(header.get("kid"))
        _check_key_fits(key, header["alg"])
        claims = self._decode(token, header["alg"], key)
        principal = principal_of(claims, self.settings)
        self._remember(token, principal, claims["exp"])
        return principal

    def _cached(self, token: str) -> Principal | None:
        entry = self._cache.get(token)
        if entry is None:
            return None
        principal, until, exp = entry
        if self._clock() < until and time.time() < exp:
            self._cache.move_to_end(token)
            return principal
        del self._cache[token]
        return None

    def _remember(self, token: str, principal: Principal, exp: float) -> None:
        ttl = min(CACHE_SECONDS, exp - time.time())
        if ttl > 0:
            self._cache[token] = (principal, self._clock() + ttl, exp)
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def _header(self, token: str) -> dict:
        if not isinstance(token, str) or token.count(".") != 2:
            raise InvalidToken(MALFORMED, "not a compact JWS (three dot-separated parts)")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(MALFORMED, str(exc)) from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self._algorithms:
            raise InvalidToken(ALGORITHM, f"alg {alg!r} is not accepted")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken(MALFORMED, "kid is not a string")
        return header

    async def _key(self, kid: str | None) -> Jwk:
        key = await self.keys.find(kid)
        if key is not None:
            return key
        if self.keys.empty and self.keys.last_error:
            raise InvalidToken(JWKS_UNAVAILABLE, self.keys.last_error)
        raise InvalidToken(UNKNOWN_KID, f"no key {kid!r} in the JWKS" if kid else "token has no kid")

    def _decode(self, token: str, alg: str, key: Jwk) -> dict:
        s = self.settings
        try:
            claims = jwt.decode(token, key.key, algorithms=[alg], audience=s.audience, issuer=s.issuer,
                                leeway=s.leeway_seconds, options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.PyJWTError as exc:
            raise InvalidToken(_reason(exc), str(exc)) from None
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise InvalidToken(MISSING_SUB, "sub is empty")
        return claims


def _check_key_fits(key: Jwk, alg: str) -> None:
    """Refuses a key of another type than the algorithm's (key-confusion) or published for another alg."""
    kty, curves = KEY_TYPES[alg]
    published = key.data.get("alg")
    if key.data.get("kty") != kty or (curves and key.data.get("crv") not in curves) or published not in (None, alg):
        raise InvalidToken(ALGORITHM, f"alg {alg} does not fit key {key.data.get('kid')!r}")


def _reason(exc: jwt.PyJWTError) -> str:
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return {"sub": MISSING_SUB, "exp": MISSING_EXP, "iss": WRONG_ISSUER, "aud": WRONG_AUDIENCE}[exc.claim]
    for kind, reason in ((jwt.ExpiredSignatureError, EXPIRED), (jwt.ImmatureSignatureError, NOT_YET_VALID),
                         (jwt.InvalidAudienceError, WRONG_AUDIENCE), (jwt.InvalidIssuerError, WRONG_ISSUER),
                         (jwt.exceptions.InvalidSubjectError, MISSING_SUB), (jwt.InvalidSignatureError, BAD_SIGNATURE),
                         (jwt.InvalidKeyError, ALGORITHM), (jwt.InvalidAlgorithmError, ALGORITHM)):
        if isinstance(exc, kind):
            return reason
    return MALFORMED


def principal_of(claims: dict, settings: TokenSettings) -> Principal:
    roles = parse_roles(_claim(claims, settings.roles_claim), strict=False)
    realm_roles = _claim(claims, "realm_access.roles")
    if isinstance(realm_roles, list):  # Keycloak realm roles: only the "tenant:role" ones are ours
        for tenant, names in parse_roles([r for r in realm_roles if isinstance(r, str)], strict=False).items():
            roles[tenant] = roles.get(tenant, frozenset()) | names
    groups = _claim(claims, settings.groups_claim)
    groups = frozenset(g for g in groups if isinstance(g, str)) if isinstance(groups, list) else frozenset()
    name = claims.get("preferred_username")
    acr, client, grant = (claims.get(c) if isinstance(claims.get(c), str) else "" for c in ("acr", "client_id", "grant"))
    return Principal(claims["sub"], "token", roles, groups, name if isinstance(name, str) and name else claims["sub"],
                     acr, client, grant)


def _claim(claims: dict, path: str):
    value = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
