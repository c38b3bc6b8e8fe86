"""Tokens Toshi issues itself: EdDSA JWTs signed with its SigningKey, verifiable by TokenVerifier
against `key.jwks()`."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping

import jwt

from toshi.auth.principal import format_roles, parse_roles
from toshi.core.signing import ALGORITHM, SigningKey


def issue_token(key: SigningKey, issuer: str, subject: str, roles: Mapping | Iterable[str],
                groups: Iterable[str] = (), audience: str = "toshi", ttl_seconds: int = 3600,
                now: float | None = None) -> str:
    """`roles` as parse_roles takes them (ValueError when invalid); `now` in seconds since the epoch."""
    if not subject:
        raise ValueError("a token needs a subject")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    issued = int(time.time() if now is None else now)
    claims = {"iss": issuer, "sub": subject, "aud": audience, "iat": issued, "nbf": issued,
              "exp": issued + int(ttl_seconds), "jti": secrets.token_urlsafe(16),
              "roles": format_roles(parse_roles(roles)), "groups": sorted(set(groups))}
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
