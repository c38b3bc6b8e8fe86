"""Toshi's signing key: kept with owner-only permissions, identified by its JWK thumbprint."""

from __future__ import annotations

import stat

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from toshi.core.signing import SigningKey, jwk_thumbprint, key_file


def test_load_or_create_makes_a_private_key_file(tmp_path):
    path = key_file(tmp_path / "data")
    assert path == tmp_path / "data" / "keys" / "toshi-signing.pem"
    key = SigningKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    again = SigningKey.load_or_create(path)
    assert again.kid == key.kid
    assert again.verify(b"hello", key.sign(b"hello"))


def test_two_keys_differ(tmp_path):
    assert SigningKey.load_or_create(tmp_path / "a.pem").kid != SigningKey.load_or_create(tmp_path / "b.pem").kid


def test_sign_and_verify():
    key = SigningKey.generate()
    signature = key.sign(b"record 42")
    assert len(signature) == 64
    assert key.verify(b"record 42", signature)
    assert not key.verify(b"record 43", signature)
    assert not key.verify(b"record 42", bytes(64))
    assert not key.verify(b"record 42", signature[:-1])
    assert not SigningKey.generate().verify(b"record 42", signature)


def test_public_jwk_and_jwks():
    key = SigningKey.generate()
    jwk = key.public_jwk()
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["alg"] == "EdDSA" and jwk["use"] == "sig"
    assert jwk["kid"] == key.kid == jwk_thumbprint(jwk)
    assert "d" not in jwk
    assert key.jwks() == {"keys": [jwk]}
    assert jwt.PyJWK(jwk).key.public_bytes_raw() == key.public_key.public_bytes_raw()


def test_thumbprint_of_rfc8037_example():
    """RFC 8037 appendix A.3: the thumbprint of its Ed25519 example key."""
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_a_file_with_another_kind_of_key_is_refused(tmp_path):
    path = tmp_path / "ec.pem"
    path.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(ValueError):
        SigningKey.load_or_create(path)
