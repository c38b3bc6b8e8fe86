"""Settings precedence and the command line."""

from __future__ import annotations

import pytest

from toshi.cli import build_parser, main
from toshi.config import Settings, load_settings


def test_defaults_are_zero_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings == Settings()
    assert (settings.host, settings.port, settings.data_dir) == ("127.0.0.1", 1026, "./toshi-data")


def test_precedence_file_env_flags(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "town.toml"
    config.write_text('[toshi]\nport = 2000\ndata_dir = "/srv/toshi"\nmax_limit = 500\n')
    from_file = load_settings(str(config), environ={})
    assert (from_file.port, from_file.data_dir, from_file.max_limit) == (2000, "/srv/toshi", 500)
    from_env = load_settings(str(config), environ={"TOSHI_PORT": "3000", "TOSHI_ALLOW_REMOTE_CONTEXTS": "false"})
    assert from_env.port == 3000 and from_env.allow_remote_contexts is False
    from_flags = load_settings(str(config), {"port": 4000, "host": None}, environ={"TOSHI_PORT": "3000"})
    assert from_flags.port == 4000 and from_flags.host == "127.0.0.1"


def test_toml_in_working_directory_is_picked_up(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "toshi.toml").write_text("[toshi]\nlog_level = \"debug\"\n")
    assert load_settings(environ={}).log_level == "debug"


def test_unknown_setting_is_an_error(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text("[toshi]\nprot = 1\n")
    with pytest.raises(ValueError, match="prot"):
        load_settings(str(config), environ={})
    assert main(["serve", "--config", str(config)]) == 2
    assert "prot" in capsys.readouterr().err


def test_cli_serve_options():
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "1234", "--data-dir", "d",
                                      "--log-level", "debug"])
    assert (args.host, args.port, args.data_dir, args.log_level) == ("0.0.0.0", 1234, "d", "debug")
