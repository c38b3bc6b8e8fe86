"""Resident accounts: argon2id password hashes, assurance levels, and `toshi resident|client`."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from argon2 import PasswordHasher

from toshi.auth.oidc_provider import Clients
from toshi.auth.residents import Residents, meets

PASSWORD = "a long enough secret"


@pytest.fixture
def residents(store):
    return Residents(store)


def test_a_password_is_kept_as_an_argon2id_hash(residents):
    residents.create("r1", "花子", "email", PASSWORD)
    stored = residents.stored_hash("r1")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)


def test_the_right_password_authenticates(residents):
    residents.create("r1", "花子", "email", PASSWORD)
    assert residents.authenticate("r1", PASSWORD)["id"] == "r1"


def test_a_wrong_password_does_not(residents):
    residents.create("r1", "花子", "email", PASSWORD)
    assert residents.authenticate("r1", PASSWORD + "!") is None


def test_an_unknown_resident_does_not(residents):
    assert residents.authenticate("nobody", PASSWORD) is None


def test_a_short_password_is_refused(residents):
    with pytest.raises(ValueError, match="at least"):
        residents.create("r1", "花子", "email", "short")


def test_an_unknown_assurance_level_is_refused(residents):
    with pytest.raises(ValueError, match="assurance"):
        residents.create("r1", "花子", "trust-me", PASSWORD)


def test_an_id_is_taken_once(residents):
    residents.create("r1", "花子", "email", PASSWORD)
    with pytest.raises(ValueError, match="exists"):
        residents.create("r1", "太郎", "email", PASSWORD)


def test_assurance_levels_are_ordered():
    assert meets("my-number-card", "office-id-document") and meets("email", "email")
    assert not meets("email", "office-id-document")


def test_resident_create_reads_the_password_from_stdin(toshi, monkeypatch, tmp_path, opener):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code, out, _ = toshi("resident", "create", "--id", "r9", "--name", "豊能 太郎", "--assurance",
                         "office-id-document", "--password-stdin")
    assert code == 0 and json.loads(out)["assurance"] == "office-id-document"
    store = opener(tmp_path / "data" / "toshi.db")
    try:
        assert Residents(store).authenticate("r9", PASSWORD)["name"] == "豊能 太郎"
    finally:
        asyncio.run(store.close())


def test_client_register_prints_the_client_id(toshi, tmp_path, opener):
    code, out, _ = toshi("client", "register", "--name", "portal", "--redirect-uri", "https://portal.example/cb")
    store = opener(tmp_path / "data" / "toshi.db")
    try:
        assert code == 0 and Clients(store).get(out.strip())["redirect_uris"] == ["https://portal.example/cb"]
    finally:
        asyncio.run(store.close())


def test_client_register_refuses_a_plain_http_redirect(toshi):
    code, _, err = toshi("client", "register", "--name", "portal", "--redirect-uri", "http://portal.example/cb")
    assert code == 2 and "https" in err
