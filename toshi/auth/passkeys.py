"""Passkeys (WebAuthn Level 3, with py_webauthn, the optional extra `passkeys`): a signed-in resident
registers one, and then signs in with it on Toshi's sign-in page instead of a password.

Passkeys are discoverable credentials with user verification required (the device's PIN or biometric),
so a sign-in needs nothing typed. The relying party is the origin residents reach Toshi at
(`public_url`, else the request's): its host is the RP ID. Each challenge is kept here, for one purpose
and at most 5 minutes, and is spent once; the public key, its credential id and the signature counter
are all that is stored.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import json
import time
from urllib.parse import urlsplit

from toshi.core.times import now_iso
from toshi.store import FeatureTables

SCHEMA = """
CREATE TABLE IF NOT EXISTS auth_passkeys (
    id TEXT PRIMARY KEY, resident TEXT NOT NULL, public_key TEXT NOT NULL, sign_count INTEGER NOT NULL,
    created TEXT NOT NULL, last_used TEXT
);
CREATE TABLE IF NOT EXISTS auth_passkey_challenges (
    challenge TEXT PRIMARY KEY, purpose TEXT NOT NULL, resident TEXT NOT NULL, expires INTEGER NOT NULL
);
"""
CHALLENGE_SECONDS = 300
REGISTER, SIGN_IN = "register", "sign-in"


@functools.cache  # installed or not, for the life of the process
def available() -> bool:
    return importlib.util.find_spec("webauthn") is not None


def relying_party(base: str) -> tuple[str, str]:
    """(RP ID, origin) of the public base URL."""
    parts = urlsplit(base)
    return parts.hostname or "", f"{parts.scheme}://{parts.netloc}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PasskeyError(ValueError):
    """A registration or sign-in that does not verify (the reason is for the audit trail)."""


class Passkeys:
    def __init__(self, store):
        self._tables = FeatureTables(store, SCHEMA)

    @property
    def _db(self):
        return self._tables.db

    def of(self, resident_id: str) -> list[dict]:
        rows = self._db.execute("SELECT id, created, last_used FROM auth_passkeys WHERE resident=? ORDER BY created",
                                (resident_id,))
        return [{"id": key_id, "created": created, "lastUsed": last} for key_id, created, last in rows]

    def remove(self, resident_id: str, key_id: str) -> bool:
        return self._db.execute("DELETE FROM auth_passkeys WHERE resident=? AND id=?",
                                (resident_id, key_id)).rowcount > 0

    # -- registration -----------------------------------------------------------------------------

    def registration_options(self, resident: dict, rp_id: str) -> dict:
        import webauthn
        from webauthn.helpers.structs import (
            AuthenticatorSelectionCriteria,
            PublicKeyCredentialDescriptor,
            ResidentKeyRequirement,
            UserVerificationRequirement,
        )

        options = webauthn.generate_registration_options(
            rp_id=rp_id, rp_name="Toshi", user_id=resident["id"].encode(), user_name=resident["id"],
            user_display_name=resident["name"],
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=_unb64(k["id"])) for k in self.of(resident["id"])])
        self._remember(options.challenge, REGISTER, resident["id"])
        return json.loads(webauthn.options_to_json(options))

    def register(self, resident_id: str, credential: object, rp_id: str, origin: str) -> dict:
        import webauthn

        challenge = self._spend(credential, REGISTER, resident_id)
        try:
            verified = webauthn.verify_registration_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=rp_id, expected_origin=origin,
                require_user_verification=True)
        except Exception as exc:  # the library's many WebAuthnException kinds and malformed JSON alike
            raise PasskeyError(f"the passkey did not verify: {exc}") from None
        key_id = _b64(verified.credential_id)
        self._db.execute("INSERT INTO auth_passkeys (id, resident, public_key, sign_count, created) "
                         "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                         (key_id, resident_id, _b64(verified.credential_public_key), verified.sign_count, now_iso()))
        return {"id": key_id}

    # -- sign-in ----------------------------------------------------------------------------------

    def sign_in_options(self, rp_id: str) -> dict:
        import webauthn
        from webauthn.helpers.structs import UserVerificationRequirement

        options = webauthn.generate_authentication_options(
            rp_id=rp_id, user_verification=UserVerificationRequirement.REQUIRED)
        self._remember(options.challenge, SIGN_IN, "")
        return json.loads(webauthn.options_to_json(options))

    def authenticate(self, credential: object, rp_id: str, origin: str) -> str:
        """The resident whose passkey signed the challenge (PasskeyError otherwise)."""
        import webauthn

        challenge = self._spend(credential, SIGN_IN, "")
        row = self._db.execute("SELECT resident, public_key, sign_count FROM auth_passkeys WHERE id=?",
                               (credential.get("id", ""),)).fetchone()
        if row is None:
            raise PasskeyError("unknown passkey")
        resident_id, public_key, count = row
        try:
            verified = webauthn.verify_authentication_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=rp_id, expected_origin=origin,
                credential_public_key=_unb64(public_key), credential_current_sign_count=count,
                require_user_verification=True)
        except Exception as exc:
            raise PasskeyError(f"the passkey did not verify: {exc}") from None
        self._db.execute("UPDATE auth_passkeys SET sign_count=?, last_used=? WHERE id=?",
                         (verified.new_sign_count, now_iso(), credential["id"]))
        return resident_id

    # -- challenges -------------------------------------------------------------------------------

    def _remember(self, challenge: bytes, purpose: str, resident_id: str) -> None:
        now = int(time.time())
        self._db.execute("DELETE FROM auth_passkey_challenges WHERE expires < ?", (now,))
        self._db.execute("INSERT INTO auth_passkey_challenges (challenge, purpose, resident, expires) "
                         "VALUES (?, ?, ?, ?)", (_b64(challenge), purpose, resident_id, now + CHALLENGE_SECONDS))

    def _spend(self, credential: object, purpose: str, resident_id: str) -> bytes:
        """The challenge the credential answers, once: a challenge of this purpose (and resident) given
        here, unexpired and not spent before."""
        try:
            challenge = json.loads(_unb64(credential["response"]["clientDataJSON"]))["challenge"]
        except Exception:
            challenge = None
        if not isinstance(challenge, str):
            raise PasskeyError("not a WebAuthn credential (response.clientDataJSON)")
        spent = self._db.execute("DELETE FROM auth_passkey_challenges WHERE challenge=? AND purpose=? AND resident=? "
                                 "AND expires >= ?", (challenge, purpose, resident_id, int(time.time()))).rowcount
        if spent != 1:
            raise PasskeyError("the challenge is unknown, expired or was used already")
        return _unb64(challenge)
