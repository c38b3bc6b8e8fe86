"""Toshi's own Ed25519 key: signs the tokens Toshi issues and the audit checkpoints.

Kept as an unencrypted PKCS#8 PEM file readable by its owner only. Its `kid` is the RFC 7638 JWK
thumbprint, so it changes exactly when the key does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

ALGORITHM = "EdDSA"


def key_file(data_dir: str | Path) -> Path:
    """Where Toshi keeps its signing key under its data directory."""
    return Path(data_dir) / "keys" / "toshi-signing.pem"


def jwk_thumbprint(jwk: dict) -> str:
    """RFC 7638 thumbprint of an OKP key: SHA-256 of its required members as compact sorted JSON."""
    required = {name: jwk[name] for name in ("crv", "kty", "x")}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


class SigningKey:
    def __init__(self, private_key: Ed25519PrivateKey):
        self.private_key = private_key
        self.public_key = private_key.public_key()
        self._jwk = OKPAlgorithm.to_jwk(self.public_key, as_dict=True)
        self.kid = jwk_thumbprint(self._jwk)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """The key in `path`; a new one written there (mode 0600, folders made) when there is none."""
        path = Path(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            key = cls.generate()
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first: use theirs
                return cls.load(path)
            with os.fdopen(fd, "wb") as fh:
                fh.write(key.private_pem())
            return key
        return cls.load(path)

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        private_key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        if not isinstance(private_key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return cls(private_key)

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)

    def verify(self, data: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def public_jwk(self) -> dict:
        return {**self._jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}

    def jwks(self) -> dict:
        return {"keys": [self.public_jwk()]}
