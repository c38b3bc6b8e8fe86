"""Toshi as an OpenID Connect provider for its residents: the authorization code flow with PKCE
(RFC 6749 §4.1, RFC 7636 S256 only, OpenID Connect Core 1.0 §3.1) for the portal and the town's
service apps.

Clients are registered (`toshi client register`) with the exact redirect URIs they may use; they are
public clients (a browser or mobile app keeps no secret), so PKCE is required of every one. A code
lives 60 s, is kept only as its SHA-256, and is exchanged at most once. Tokens are EdDSA JWTs signed
with the town's key (toshi/core/signing.py, JWKS at /.well-known/jwks.json):
  - the access token: iss/aud as Toshi's own tokens (auth_issuer, auth_audience), so the request
    gate accepts it; `sub` is the resident id, `acr` the assurance level, no roles;
  - the ID token: aud the client, with nonce, auth_time, acr and the resident's name.

Each app a resident signed in to is remembered with a grant id, which their access tokens carry
(`grant`); the resident may remove the app (Apps.remove), and its tokens are refused from then on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
import orjson

from toshi.auth.residents import ASSURANCE_LEVELS
from toshi.core.signing import ALGORITHM, SigningKey
from toshi.core.times import now_iso
from toshi.store import FeatureTables

SCHEMA = """
CREATE TABLE IF NOT EXISTS auth_oidc_clients (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, redirect_uris TEXT NOT NULL, created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS auth_oidc_codes (
    hash TEXT PRIMARY KEY, client TEXT NOT NULL, resident TEXT NOT NULL, redirect_uri TEXT NOT NULL,
    challenge TEXT NOT NULL, nonce TEXT, scope TEXT NOT NULL, auth_time INTEGER NOT NULL,
    expires INTEGER NOT NULL, used INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS auth_oidc_apps (
    resident TEXT NOT NULL, client TEXT NOT NULL, grant_id TEXT NOT NULL, first_used TEXT NOT NULL,
    last_used TEXT NOT NULL, PRIMARY KEY (resident, client)
);
"""
CODE_SECONDS = 60
REQUEST_SECONDS = 600  # how long a login form stays valid
ACCESS_SECONDS = 3600
SCOPES = ("openid", "profile")
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1
_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")  # base64url of a SHA-256, unpadded


class OAuthError(Exception):
    """An error of the token endpoint (RFC 6749 §5.2) or one sent back to the client's redirect URI."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def check_redirect_uri(uri: object) -> str:
    """An absolute https URI (http only for loopback, as RFC 8252 allows native apps), no fragment."""
    if not isinstance(uri, str):
        raise ValueError("a redirect URI is a string")
    parts = urlsplit(uri)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment \
            or (parts.scheme == "http" and not loopback):
        raise ValueError(f"redirect URI {uri!r}: an absolute https URI without fragment "
                         "(http only for localhost)")
    return uri


@dataclass(frozen=True)
class AuthorizationRequest:
    """What a client asked for at /oidc/authorize, once checked."""

    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    state: str | None
    nonce: str | None


class Clients:
    def __init__(self, store):
        self._tables = FeatureTables(store, SCHEMA)

    @property
    def _db(self):
        return self._tables.db

    def register(self, name: str, redirect_uris: list[str]) -> dict:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a client needs a name")
        if not redirect_uris:
            raise ValueError("a client needs at least one redirect URI")
        uris = [check_redirect_uri(u) for u in redirect_uris]
        client_id = "client_" + secrets.token_urlsafe(12)
        self._db.execute("INSERT INTO auth_oidc_clients (id, name, redirect_uris, created) VALUES (?, ?, ?, ?)",
                         (client_id, name.strip(), orjson.dumps(uris).decode(), now_iso()))
        return self.get(client_id)

    def get(self, client_id: str) -> dict | None:
        row = self._db.execute("SELECT id, name, redirect_uris, created FROM auth_oidc_clients WHERE id=?",
                               (client_id,)).fetchone()
        if row is None:
            return None
        return {"client_id": row[0], "name": row[1], "redirect_uris": orjson.loads(row[2]), "created": row[3]}

    def all(self) -> list[dict]:
        rows = self._db.execute("SELECT id FROM auth_oidc_clients ORDER BY created, id").fetchall()
        return [self.get(row[0]) for row in rows]

    def delete(self, client_id: str) -> bool:
        return self._db.execute("DELETE FROM auth_oidc_clients WHERE id=?", (client_id,)).rowcount > 0


class Apps:
    """The apps each resident signed in to (tokens were issued), with the grant their tokens name."""

    def __init__(self, store):
        self._tables = FeatureTables(store, SCHEMA)

    @property
    def _db(self):
        return self._tables.db

    def used(self, resident_id: str, client_id: str) -> str:
        """The grant id of the resident's sign-in to the app, made at the first sign-in (after a removal)."""
        now = now_iso()
        self._db.execute("INSERT INTO auth_oidc_apps (resident, client, grant_id, first_used, last_used) "
                         "VALUES (?, ?, ?, ?, ?) ON CONFLICT (resident, client) DO UPDATE SET "
                         "last_used=excluded.last_used", (resident_id, client_id, secrets.token_urlsafe(12), now, now))
        return self.grant(resident_id, client_id)

    def grant(self, resident_id: str, client_id: str) -> str | None:
        row = self._db.execute("SELECT grant_id FROM auth_oidc_apps WHERE resident=? AND client=?",
                               (resident_id, client_id)).fetchone()
        return row[0] if row else None

    def of(self, resident_id: str) -> list[dict]:
        rows = self._db.execute("SELECT a.client, c.name, a.first_used, a.last_used FROM auth_oidc_apps a "
                                "LEFT JOIN auth_oidc_clients c ON c.id = a.client WHERE a.resident=? "
                                "ORDER BY a.first_used, a.client", (resident_id,))
        return [{"client_id": client, "name": name, "firstSignIn": first, "lastSignIn": last}
                for client, name, first, last in rows]

    def remove(self, resident_id: str, client_id: str) -> bool:
        return self._db.execute("DELETE FROM auth_oidc_apps WHERE resident=? AND client=?",
                                (resident_id, client_id)).rowcount > 0


class Provider:
    def __init__(self, store, signing_key: SigningKey, issuer: str, audience: str):
        self.clients = Clients(store)
        self.apps = Apps(store)
        self._tables = FeatureTables(store, SCHEMA)
        self.key, self.issuer, self.audience = signing_key, issuer, audience

    @property
    def _db(self):
        return self._tables.db

    # -- /authorize -------------------------------------------------------------------------------

    def client_and_redirect(self, params) -> tuple[dict, str]:
        """The registered client and its redirect URI; ValueError when either is wrong — then nothing
        may be sent to the redirect URI (RFC 6749 §4.1.2.1: it is not known to be the client's)."""
        client = self.clients.get(params.get("client_id") or "")
        if client is None:
            raise ValueError("unknown client_id")
        redirect_uri = params.get("redirect_uri")
        if redirect_uri not in client["redirect_uris"]:  # exact string match (OAuth 2.0 Security BCP)
            raise ValueError("redirect_uri is not one registered for this client")
        return client, redirect_uri

    def authorization_request(self, params) -> AuthorizationRequest:
        """The checked request (ValueError as client_and_redirect; OAuthError to send back)."""
        client, redirect_uri = self.client_and_redirect(params)
        if params.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "only response_type=code is supported")
        scopes = (params.get("scope") or "").split()
        if "openid" not in scopes:
            raise OAuthError("invalid_scope", "scope must include openid")
        if unknown := [s for s in scopes if s not in SCOPES]:
            raise OAuthError("invalid_scope", f"unknown scope(s): {' '.join(unknown)}")
        if params.get("code_challenge_method") != "S256":
            raise OAuthError("invalid_request", "PKCE is required: code_challenge_method=S256")
        challenge = params.get("code_challenge") or ""
        if not _CHALLENGE.fullmatch(challenge):
            raise OAuthError("invalid_request", "code_challenge must be the base64url SHA-256 of the verifier")
        return AuthorizationRequest(client["client_id"], redirect_uri, challenge, " ".join(scopes),
                                    params.get("state"), params.get("nonce"))

    def seal(self, request: AuthorizationRequest) -> str:
        """The request signed for the login form, so the form cannot be altered between GET and POST."""
        now = int(time.time())
        claims = {"iss": self.issuer, "typ": "authorization-request", "iat": now, "exp": now + REQUEST_SECONDS,
                  "req": request.__dict__}
        return jwt.encode(claims, self.key.private_key, algorithm=ALGORITHM, headers={"kid": self.key.kid})

    def unseal(self, sealed: str) -> AuthorizationRequest:
        try:
            claims = jwt.decode(sealed, self.key.public_key, algorithms=[ALGORITHM], issuer=self.issuer,
                                options={"require": ["exp", "iss"]})
        except jwt.PyJWTError:
            raise ValueError("the sign-in form has expired or was altered: start again from the service") from None
        if claims.get("typ") != "authorization-request":
            raise ValueError("not a sign-in form of this provider")
        request = AuthorizationRequest(**claims["req"])
        self.client_and_redirect({"client_id": request.client_id, "redirect_uri": request.redirect_uri})
        return request

    def issue_code(self, request: AuthorizationRequest, resident_id: str) -> str:
        code = secrets.token_urlsafe(32)
        now = int(time.time())
        self._db.execute("INSERT INTO auth_oidc_codes (hash, client, resident, redirect_uri, challenge, nonce, "
                         "scope, auth_time, expires, used) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                         (_sha256(code), request.client_id, resident_id, request.redirect_uri, request.challenge,
                          request.nonce, request.scope, now, now + CODE_SECONDS))
        self._db.execute("DELETE FROM auth_oidc_codes WHERE expires < ?", (now - CODE_SECONDS,))
        return code

    # -- /token -----------------------------------------------------------------------------------

    def exchange(self, form, resident_of) -> dict:
        """The token response for an authorization code (OAuthError otherwise). `resident_of(id)` gives
        the resident's account as it is now."""
        if form.get("grant_type") != "authorization_code":
            raise OAuthError("unsupported_grant_type", "only grant_type=authorization_code is supported")
        client = self.clients.get(form.get("client_id") or "")
        if client is None:
            raise OAuthError("invalid_client", "unknown client_id", status=401)
        code, verifier = form.get("code") or "", form.get("code_verifier") or ""
        if not code:
            raise OAuthError("invalid_request", "code is required")
        if not _VERIFIER.fullmatch(verifier):
            raise OAuthError("invalid_request", "code_verifier is required: 43 to 128 unreserved characters")
        hashed = _sha256(code)
        row = self._db.execute("SELECT client, resident, redirect_uri, challenge, nonce, scope, auth_time, expires "
                               "FROM auth_oidc_codes WHERE hash=?", (hashed,)).fetchone()
        # spent at most once: whoever flips `used` first holds it, every other attempt is refused
        if row is None or self._db.execute("UPDATE auth_oidc_codes SET used=1 WHERE hash=? AND used=0",
                                           (hashed,)).rowcount == 0:
            raise OAuthError("invalid_grant", "the code is unknown or was used already")
        client_id, resident_id, redirect_uri, challenge, nonce, scope, auth_time, expires = row
        if client_id != client["client_id"]:
            raise OAuthError("invalid_grant", "the code was issued to another client")
        if expires < time.time():
            raise OAuthError("invalid_grant", "the code has expired")
        if form.get("redirect_uri") != redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the one of the authorization request")
        if not hmac.compare_digest(s256(verifier), challenge):
            raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
        resident = resident_of(resident_id)
        if resident is None:
            raise OAuthError("invalid_grant", "the resident's account no longer exists")
        return self.tokens(client_id, resident, scope, nonce, auth_time)

    def tokens(self, client_id: str, resident: dict, scope: str, nonce: str | None, auth_time: int) -> dict:
        now = int(time.time())
        common = {"iss": self.issuer, "sub": resident["id"], "iat": now, "nbf": now, "exp": now + ACCESS_SECONDS,
                  "auth_time": auth_time, "acr": resident["assurance"]}
        access = {**common, "aud": self.audience, "jti": secrets.token_urlsafe(16), "client_id": client_id,
                  "grant": self.apps.used(resident["id"], client_id), "scope": scope, "roles": {}, "groups": [], "preferred_username": resident["name"]}
        identity = {**common, "aud": client_id, "azp": client_id, "name": resident["name"],
                    **({"nonce": nonce} if nonce else {})}
        access_token = self._sign(access, "at+jwt")
        identity["at_hash"] = _half_hash(access_token)
        return {"access_token": access_token, "token_type": "Bearer", "expires_in": ACCESS_SECONDS,
                "id_token": self._sign(identity, "JWT"), "scope": scope}

    def _sign(self, claims: dict, typ: str) -> str:
        return jwt.encode(claims, self.key.private_key, algorithm=ALGORITHM, headers={"kid": self.key.kid, "typ": typ})

    # -- /userinfo --------------------------------------------------------------------------------

    def access_claims(self, token: str) -> dict:
        """The claims of a valid access token of this provider (OAuthError invalid_token otherwise)."""
        try:
            claims = jwt.decode(token, self.key.public_key, algorithms=[ALGORITHM], issuer=self.issuer,
                                audience=self.audience, options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_token", str(exc), status=401) from None
        if "client_id" not in claims:
            raise OAuthError("invalid_token", "not an access token of a resident's sign-in", status=401)
        return claims


def _half_hash(token: str) -> str:
    """OpenID Connect's at_hash: the left half of the token's hash, SHA-512 for Ed25519 (Core 1.0 errata
    set 2, §3.1.3.6)."""
    digest = hashlib.sha512(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def discovery(base: str) -> dict:
    """What the provider adds to /.well-known/openid-configuration."""
    return {"authorization_endpoint": base + "/oidc/authorize", "token_endpoint": base + "/oidc/token",
            "userinfo_endpoint": base + "/oidc/userinfo", "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"], "subject_types_supported": ["public"],
            "code_challenge_methods_supported": ["S256"], "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["openid", "profile"], "claims_supported": ["sub", "name", "acr", "auth_time"],
            "acr_values_supported": list(ASSURANCE_LEVELS), "authorization_response_iss_parameter_supported": True}

