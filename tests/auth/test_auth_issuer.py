"""Tokens Toshi issues: EdDSA JWTs with the claims the verifier and policy engine rely on."""

from __future__ import annotations

import time

import jwt
import pytest

from toshi.auth.issuer import issue_token
from toshi.core.signing import SigningKey


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


def test_claims_and_header(key):
    token = issue_token(key, "toshi", "dashboard", ["osaka:consumer", "default:admin"], ["ops"],
                        audience="city", ttl_seconds=600, now=1_900_000_000)
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": key.kid, "typ": "JWT"}
    claims = jwt.decode(token, key.public_key, algorithms=["EdDSA"], audience="city",
                        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})
    assert claims["iss"] == "toshi" and claims["sub"] == "dashboard" and claims["aud"] == "city"
    assert claims["iat"] == claims["nbf"] == 1_900_000_000 and claims["exp"] == 1_900_000_600
    assert claims["roles"] == {"default": ["admin"], "osaka": ["consumer"]}
    assert claims["groups"] == ["ops"]
    assert len(claims["jti"]) >= 20


def test_defaults_and_unique_ids(key):
    first, second = (issue_token(key, "toshi", "s", {"*": ["consumer"]}) for _ in range(2))
    a = jwt.decode(first, key.public_key, algorithms=["EdDSA"], audience="toshi")
    b = jwt.decode(second, key.public_key, algorithms=["EdDSA"], audience="toshi")
    assert a["aud"] == "toshi" and a["exp"] - a["iat"] == 3600 and abs(a["iat"] - time.time()) < 5
    assert a["jti"] != b["jti"] and a["groups"] == []


@pytest.mark.parametrize("subject, roles, ttl", [("", ["default:admin"], 60), ("s", ["default:king"], 60),
                                                  ("s", ["default:admin"], 0)])
def test_invalid_requests_are_refused(key, subject, roles, ttl):
    with pytest.raises(ValueError):
        issue_token(key, "toshi", subject, roles, ttl_seconds=ttl)
