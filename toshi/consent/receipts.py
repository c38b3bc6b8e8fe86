"""Consent receipts: what a resident agreed to, signed by the town.

Shaped after ISO/IEC TS 27560:2023 (consent record information structure), which grew out of the
Kantara Initiative's Consent Receipt v1.1: the same field names where they exist (piiPrincipalId,
piiControllers, services/purposes, piiCategory, sensitive, spiCat, consentType, termination). Each
version of a consent gets its own receipt, signed as a compact JWS (EdDSA, the town's signing key,
toshi/core/signing.py): anyone can check it against the key published at /.well-known/jwks.json.
"""

from __future__ import annotations

import jwt

from toshi.core.signing import ALGORITHM, SigningKey

SCHEMA_VERSION = "ISO/IEC TS 27560:2023; Kantara Consent Receipt v1.1"


def receipt_of(record: dict, tenant: str, at: str) -> dict:
    """The receipt of one version of a consent record."""
    categories = record.get("categories", [])
    purpose = {"purpose": record["purpose"], "purposeCategory": [record["purpose"]],
               "consentType": "EXPLICIT", "piiCategory": categories, "attributes": record.get("attributes", []),
               "primaryPurpose": True, "validFrom": record["validFrom"], "termination": record.get("validUntil"),
               "thirdPartyDisclosure": True, "thirdPartyName": record["recipient"]}
    return {
        "schemaVersion": SCHEMA_VERSION,
        "receiptId": f"{record['id']}/v{record['version']}",
        "consentId": record["id"],
        "version": record["version"],
        "status": record["status"],
        "receiptTimestamp": at,
        "consentTimestamp": record["createdAt"],
        "collectionMethod": record.get("collectionMethod", "Toshi consent API"),
        "jurisdiction": "JP",
        "language": "ja",
        "piiPrincipalId": record["subject"],
        "piiControllers": [{"piiController": f"Toshi tenant {tenant or 'default'}", "tenant": tenant}],
        "services": [{"service": record["recipient"], "purposes": [purpose]}],
        "sensitive": "sensitive" in categories,
        "spiCat": ["sensitive"] if "sensitive" in categories else [],
        **({"revokedAt": record["revokedAt"]} if record.get("revokedAt") else {}),
        "changedBy": record.get("changedBy"),
    }


def sign(receipt: dict, key: SigningKey) -> str:
    """The receipt as a compact JWS."""
    return jwt.encode(receipt, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": "JWT"})


def verify(jws: str, public_jwk: dict) -> dict:
    """The receipt a JWS carries, if the key signed it (jwt.InvalidSignatureError etc. otherwise)."""
    key = jwt.PyJWK(public_jwk).key
    return jwt.decode(jws, key, algorithms=[ALGORITHM], options={"verify_aud": False, "require": []})
