"""Browser sessions: the API key an official typed into the login form, or the access token a
resident's sign-in (Toshi's OpenID Connect provider) gave the portal, sealed in a cookie.

The cookie holds the credential encrypted and authenticated (AES-GCM, with a key derived from the
town's signing key), its kind, its expiry and a CSRF token. The browser never sees the credential
again and cannot read the cookie (HttpOnly); on each request the web middleware opens it and hands
the credential to the request gate, which checks it as it checks any API key or bearer token — so
revoking a key ends the session at once. The same sealing keeps the portal's sign-in state (PKCE
verifier, state, nonce) between the redirect to the provider and the callback."""

from __future__ import annotations

import base64
import hmac
import os
import time
from dataclasses import dataclass

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from toshi.core.signing import SigningKey

COOKIE = "toshi_session"
LOGIN_COOKIE = "toshi_login"  # the login form's CSRF token (double submit), before any session exists
SIGN_IN_COOKIE = "toshi_portal_sign_in"  # a resident's sign-in under way (sealed: verifier, state, nonce)
MAX_KEY_LENGTH = 512
KEY, BEARER = "key", "bearer"  # an official's API key; a resident's access token


@dataclass(frozen=True)
class Session:
    api_key: str      # the credential: an API key (kind KEY) or an access token (kind BEARER)
    expires: float
    csrf: str
    kind: str = KEY
    name: str = ""    # the resident's name, for the greeting


def new_token() -> str:
    return base64.urlsafe_b64encode(os.urandom(24)).rstrip(b"=").decode()


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


class Sealer:
    """Seals and opens session cookies with a key derived from the town's signing key."""

    def __init__(self, signing_key: SigningKey):
        secret = signing_key.private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                       serialization.NoEncryption())
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"toshi web session").derive(secret)
        self.aead = AESGCM(derived)

    def seal(self, api_key: str, lifetime_seconds: float, kind: str = KEY, name: str = "") -> tuple[str, Session]:
        session = Session(api_key, time.time() + lifetime_seconds, new_token(), kind, name)
        doc = {"k": session.api_key, "e": session.expires, "c": session.csrf, "t": kind, "n": name}
        return self.seal_doc(doc, COOKIE), session

    def open(self, value: str) -> Session | None:
        """The session in a cookie value; None when it was not sealed here, was altered, or expired."""
        doc = self.open_doc(value, COOKIE)
        try:
            session = Session(doc["k"], float(doc["e"]), doc["c"], doc.get("t", KEY), doc.get("n", ""))
        except (KeyError, TypeError, ValueError):
            return None
        if session.kind not in (KEY, BEARER):
            return None
        return session if session.expires > time.time() else None

    def seal_doc(self, doc: dict, purpose: str) -> str:
        """A JSON object sealed for one purpose (the cookie's name: one cookie cannot pass for another)."""
        nonce = os.urandom(12)
        sealed = nonce + self.aead.encrypt(nonce, orjson.dumps(doc), purpose.encode())
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def open_doc(self, value: str, purpose: str) -> dict:
        """The object sealed for `purpose`; {} when it was not sealed here for it, or was altered."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            doc = orjson.loads(self.aead.decrypt(raw[:12], raw[12:], purpose.encode()))
        except (ValueError, InvalidTag, TypeError, orjson.JSONDecodeError):
            return {}
        return doc if isinstance(doc, dict) else {}


def cookie_header(name: str, value: str, max_age: int, secure: bool) -> str:
    """A Set-Cookie value: HttpOnly, SameSite=Strict, Path=/ (Secure unless plain HTTP on loopback)."""
    parts = [f"{name}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Strict"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def cookies_of(header: str) -> dict[str, str]:
    found = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            found.setdefault(name, value)
    return found
