"""Who is calling: the credentials of a request (an API key, a Toshi token, an OpenID Connect token)
turned into a Principal, or Unauthorized.

Credentials are read from `Authorization: Bearer <credential>` or, for FIWARE clients that send a
Keystone-style header, `X-Auth-Token: <credential>`; `X-Api-Key` also works for API keys. A request
without credentials is the anonymous principal (it may still read open data).

A resident is one principal however they sign in: a token of the trusted external provider whose
(issuer, subject) is linked to a resident account (toshi/auth/residents.py) is that resident, as a token
of Toshi's own sign-in is; an unlinked one stays the provider's subject with the roles it carries. A
resident's access token for an app they removed is refused."""

from __future__ import annotations

import jwt

from toshi.auth.apikeys import api_keys_of
from toshi.auth.oidc_provider import Apps
from toshi.auth.principal import ANONYMOUS, Principal
from toshi.auth.residents import Residents
from toshi.auth.tokens import InvalidToken, TokenSettings, TokenVerifier
from toshi.core.errors import Unauthorized
from toshi.core.signing import SigningKey

KEY_PREFIX = "toshi_"


def credential_of(headers) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("Authorization must be 'Bearer <API key or token>'")
        return value.strip()
    return headers.get("x-auth-token") or headers.get("x-api-key") or None


class Identifier:
    def __init__(self, settings, store, signing_key: SigningKey):
        self.keys = api_keys_of(store)
        own = TokenSettings(issuer=settings.auth_issuer, audience=settings.auth_audience, jwks=signing_key.jwks())
        self.own = TokenVerifier(own)
        self.verifiers = {own.issuer: self.own}
        self.residents, self.apps = Residents(store), Apps(store)
        if settings.oidc_issuer:
            oidc = TokenSettings(issuer=settings.oidc_issuer, audience=settings.oidc_audience or settings.auth_audience,
                                 jwks_url=settings.oidc_jwks_url or None, roles_claim=settings.oidc_roles_claim)
            self.verifiers[oidc.issuer] = TokenVerifier(oidc)

    async def principal(self, headers) -> Principal:
        credential = credential_of(headers)
        if credential is None:
            return ANONYMOUS
        if credential.startswith(KEY_PREFIX):
            principal = self.keys.authenticate(credential)
            if principal is None:
                raise Unauthorized("unknown, revoked or expired API key")
            return principal
        verifier = self.verifiers.get(_issuer(credential))
        if verifier is None:
            raise Unauthorized("token from an issuer Toshi does not trust")
        try:
            principal = await verifier.verify(credential)
        except InvalidToken as exc:
            raise Unauthorized(f"invalid token: {exc.reason}") from None
        if verifier is not self.own:
            return self._linked(verifier.settings.issuer, principal)
        if principal.client and self.apps.grant(principal.id, principal.client) != principal.grant:
            raise Unauthorized("the resident removed this app's access (sign in again)")
        return principal

    def _linked(self, issuer: str, principal: Principal) -> Principal:
        """The resident an external identity is linked to, as Toshi's own sign-in makes them (no roles,
        the town's assurance level); the external principal unchanged when it is not linked."""
        resident = self.residents.linked(issuer, principal.id)
        if resident is None:
            if self.residents.exists(principal.id):  # else the consent layer would take it for them
                raise Unauthorized("this provider's subject is a resident's id but is not linked to that resident")
            return principal
        return Principal(resident["id"], "token", {}, frozenset(), resident["name"], resident["assurance"])


def _issuer(token: str) -> str | None:
    """The (unverified) issuer, only to pick the verifier that then checks everything."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise Unauthorized("the credential is neither an API key nor a JWT") from None
    return claims.get("iss") if isinstance(claims, dict) else None
