"""Browser sessions: the API key an official typed into the login form, sealed in a cookie.

The cookie holds the key encrypted and authenticated (AES-GCM, with a key derived from the town's
signing key), its expiry and a CSRF token. The browser never sees the key again and cannot read the
cookie (HttpOnly); on each request the web middleware opens it and hands the key to the request
gate, which checks it as it checks any API key — so revoking the key ends the session at once."""

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
MAX_KEY_LENGTH = 512


@dataclass(frozen=True)
class Session:
    api_key: str
    expires: float
    csrf: str


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

    def seal(self, api_key: str, lifetime_seconds: float) -> tuple[str, Session]:
        session = Session(api_key, time.time() + lifetime_seconds, new_token())
        nonce = os.urandom(12)
        plain = orjson.dumps({"k": session.api_key, "e": session.expires, "c": session.csrf})
        sealed = nonce + self.aead.encrypt(nonce, plain, COOKIE.encode())
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode(), session

    def open(self, value: str) -> Session | None:
        """The session in a cookie value; None when it was not sealed here, was altered, or expired."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            plain = self.aead.decrypt(raw[:12], raw[12:], COOKIE.encode())
            doc = orjson.loads(plain)
            session = Session(doc["k"], float(doc["e"]), doc["c"])
        except (ValueError, InvalidTag, KeyError, TypeError, orjson.JSONDecodeError):
            return None
        return session if session.expires > time.time() else None


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
