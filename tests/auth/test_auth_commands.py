"""`toshi key ...` and `toshi token create`, run through a real argparse parser and a real store."""

from __future__ import annotations

import argparse
import asyncio
import stat

import pytest

from toshi.auth import commands
from toshi.auth.apikeys import api_keys_of, split_key
from toshi.auth.tokens import TokenSettings, TokenVerifier
from toshi.core.commandline import CommandLine
from toshi.core.signing import SigningKey, key_file
from toshi.features import FEATURES


@pytest.fixture
def with_keys(tmp_path, opener):
    """Calls fn(ApiKeys) on the store the commands use, then closes it."""
    def call(fn):
        store = opener(tmp_path / "data" / "toshi.db")
        try:
            return fn(api_keys_of(store))
        finally:
            asyncio.run(store.close())
    return call


def test_key_create_prints_the_key_once(toshi, with_keys):
    code, out, err = toshi("key", "create", "--name", "gateway", "--role", "osaka:provider",
                           "--role", "default:consumer", "--group", "iot")
    assert code == 0
    plaintext = out.strip()
    assert split_key(plaintext) is not None and "cannot be shown again" in err
    principal = with_keys(lambda keys: keys.authenticate(plaintext))
    assert principal.name == "gateway" and principal.roles_in("osaka") == {"provider"}
    assert principal.roles_in("") == {"consumer"} and principal.groups == {"iot"}


def test_key_create_with_expiry(toshi, with_keys):
    toshi("key", "create", "--name", "temp", "--role", "*:consumer", "--expires", "2099-05-01T00:00:00Z")
    assert with_keys(lambda keys: keys.keys()[0]["expires"]) == "2099-05-01T00:00:00.000Z"


def test_key_create_refuses_bad_roles(toshi, with_keys):
    with pytest.raises(ValueError):  # the main CLI turns ValueError into exit code 2
        toshi("key", "create", "--name", "x", "--role", "osaka:emperor")
    assert with_keys(lambda keys: keys.accounts()) == []


def test_key_create_needs_a_role(toshi):
    with pytest.raises(SystemExit):
        toshi("key", "create", "--name", "x")


def test_key_list_never_shows_secrets(toshi):
    _, plaintext, _ = toshi("key", "create", "--name", "gateway", "--role", "osaka:provider")
    key_id, secret = split_key(plaintext.strip())
    code, out, _ = toshi("key", "list")
    assert code == 0 and key_id in out and "gateway" in out and "osaka:provider" in out
    assert secret not in out and f"...{secret[-4:]}" in out


def test_key_rotate_and_revoke(toshi, with_keys):
    _, first, _ = toshi("key", "create", "--name", "gateway", "--role", "osaka:provider")
    first_id, _ = split_key(first.strip())
    code, second, err = toshi("key", "rotate", first_id, "--grace", "600")
    assert code == 0 and "expires" in err
    assert with_keys(lambda keys: keys.authenticate(first.strip())) is not None  # still in its grace
    assert with_keys(lambda keys: keys.authenticate(second.strip())) is not None
    second_id, _ = split_key(second.strip())
    code, third, err = toshi("key", "rotate", second_id)
    assert code == 0 and "revoked" in err
    assert with_keys(lambda keys: keys.authenticate(second.strip())) is None
    third_id, _ = split_key(third.strip())
    code, out, _ = toshi("key", "revoke", third_id)
    assert code == 0 and third_id in out
    assert with_keys(lambda keys: keys.authenticate(third.strip())) is None
    _, listing, _ = toshi("key", "list")
    assert listing.count("revoked") == 2


def test_unknown_keys(toshi):
    code, _, err = toshi("key", "revoke", "nosuchkey123")
    assert code == 1 and "nosuchkey123" in err
    code, _, err = toshi("key", "rotate", "nosuchkey123")
    assert code == 1 and "nosuchkey123" in err


async def test_token_create_signs_with_the_data_dir_key(toshi, tmp_path):
    code, out, _ = toshi("token", "create", "--sub", "ops-bot", "--role", "*:operator", "--group", "ops",
                         "--ttl", "120")
    assert code == 0
    path = key_file(tmp_path / "data")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    verifier = TokenVerifier(TokenSettings("toshi", "toshi", jwks=SigningKey.load(path).jwks()))
    principal = await verifier.verify(out.strip())
    assert principal.id == "ops-bot" and principal.roles_in("osaka") == {"operator"}
    assert principal.groups == {"ops"}


async def test_token_create_with_issuer_and_audience(toshi, tmp_path):
    _, out, _ = toshi("token", "create", "--sub", "a", "--issuer", "https://toshi.city", "--audience", "ngsi")
    jwks = SigningKey.load(key_file(tmp_path / "data")).jwks()
    principal = await TokenVerifier(TokenSettings("https://toshi.city", "ngsi", jwks=jwks)).verify(out.strip())
    assert principal.id == "a" and principal.roles == {}


def test_the_data_dir_can_come_from_the_config_file(tmp_path, monkeypatch, capsys, load_store):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "city.toml").write_text(f'[toshi]\ndata_dir = "{tmp_path / "configured"}"\n')
    parser = argparse.ArgumentParser(prog="toshi")
    commands.add_commands(parser.add_subparsers(dest="command", required=True), CommandLine(load_store, FEATURES))
    args = parser.parse_args(["token", "create", "--sub", "a", "--config", str(tmp_path / "city.toml")])
    assert args.run(args) == 0
    assert key_file(tmp_path / "configured").exists()
