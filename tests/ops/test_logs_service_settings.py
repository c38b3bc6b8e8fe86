"""A repeated background failure is logged once, then once a minute with a count; the systemd unit;
settings validated with their names."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from cli_support import one_line_error

from toshi.cli import build_parser
from toshi.config import Settings, load_settings
from toshi.ops import service
from toshi.ops.logs import OncePerMinute


def record(msg: str, *args, level=logging.WARNING, **extra) -> logging.LogRecord:
    made = logging.LogRecord("toshi.notify", level, __file__, 1, msg, args, None)
    made.__dict__.update(extra)
    return made


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_repeated_warning_passes_once_then_once_a_minute_with_a_count():
    clock = Clock()
    once = OncePerMinute(every=60, clock=clock)
    assert once.filter(record("receiver %s down", "a"))
    assert not once.filter(record("receiver %s down", "b"))
    assert not once.filter(record("receiver %s down", "c"))
    clock.now = 61
    again = record("receiver %s down", "d")
    assert once.filter(again)
    assert again.getMessage() == "receiver d down (2 more like this in the last 61 s)"


def test_kinds_given_with_once_per_are_limited_apart():
    once = OncePerMinute(every=60, clock=Clock())
    assert once.filter(record("down", once_per=("receiver", "a")))
    assert once.filter(record("down", once_per=("receiver", "b")))
    assert not once.filter(record("down", once_per=("receiver", "a")))


def test_info_lines_are_never_held_back():
    once = OncePerMinute(every=60, clock=Clock())
    assert all(once.filter(record("GET /", level=logging.INFO)) for _ in range(3))


def test_the_systemd_unit(tmp_path, here):
    done = here("service", "install", "--unit-dir", str(tmp_path), "--user", "town", "--data-dir", "/srv/town",
                 "--port", "8080", "--auth", "--host", "0.0.0.0")
    assert done.returncode == 0, done.stderr
    unit = (tmp_path / "toshi.service").read_text()
    for line in ("User=town", "Restart=on-failure", "ReadWritePaths=/srv/town", "ProtectSystem=strict",
                 "NoNewPrivileges=yes", "WantedBy=multi-user.target", "CapabilityBoundingSet=\n"):
        assert line in unit
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert "serve --data-dir /srv/town --host 0.0.0.0 --port 8080 --auth" in exec_start
    assert "systemctl enable --now toshi" in done.stderr


def test_a_bad_service_option_is_refused_in_one_line_and_nothing_is_written(tmp_path, here):
    message = one_line_error(here("service", "install", "--unit-dir", str(tmp_path), "--port", "70000"))
    assert "--port must be from 1 to 65535, not 70000" in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("option", "value", "said"), [
    ("--user", "town\nExecStartPre=/bin/sh", "--user must be a name"),
    ("--name", "../toshi", "--name must be a name"),
    ("--data-dir", "/srv/town\nUser=root", "--data-dir must be one non-empty line"),
    ("--port", "0", "--port must be from 1 to 65535"),
])
def test_a_service_option_that_would_change_the_unit_is_refused(option, value, said):
    args = build_parser().parse_args(["service", "install", "--print"])
    setattr(args, option.removeprefix("--").replace("-", "_"), int(value) if option == "--port" else value)
    with pytest.raises(ValueError, match=said):
        service.check(args)


def test_a_privileged_port_gets_only_the_capability_to_bind_it(tmp_path, here):
    unit = here("service", "install", "--print", "--port", "80").stdout
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in unit


@pytest.mark.parametrize(("name", "raw", "said"), [
    ("workers", "0", "setting workers must be 1 or more, not 0"),
    ("notify_timeout", "-1", "setting notify_timeout must be more than 0"),
    ("log_level", "loud", "setting log_level must be one of critical, error, warning, info, debug"),
    ("outbound_private", "maybe", "setting outbound_private must be one of allow, deny, auto"),
    ("database_url", "mysql://x", "setting database_url must start with postgresql://"),
    ("iot_mqtt_url", "tcp://broker", "setting iot_mqtt_url must start with mqtt://"),
    ("history_retention", "1 year", "setting history_retention must be an ISO 8601 duration"),
    ("certfile", "/nonexistent.pem", "setting certfile names '/nonexistent.pem', which is not a readable file"),
    ("rate_limit", "fast", "setting rate_limit must be a number, not 'fast'"),
    ("web_map_center", "135,34", "setting web_map_center must be \"longitude,latitude,zoom\""),
    ("watchover_clock", "moon", "setting watchover_clock must be one of wall, devices, not 'moon'"),
    ("cors_origin", "town.example.jp", "setting cors_origin must be * or one origin like https://"),
    ("outbound_allow", "10.20.0.0/33", "setting outbound_allow has '10.20.0.0/33', which is not a host"),
    ("outbound_allow", "broker.internal:99999", "setting outbound_allow has 'broker.internal:99999'"),
])
def test_a_bad_setting_is_refused_by_name(name, raw, said):
    with pytest.raises(ValueError) as refused:
        load_settings(environ={f"TOSHI_{name.upper()}": raw})
    assert said in str(refused.value) and f"TOSHI_{name.upper()}" in str(refused.value)


NUMBERS = [f.name for f in dataclasses.fields(Settings) if f.type in ("int", "float", int, float)]


@pytest.mark.parametrize("name", NUMBERS)
def test_every_number_setting_has_a_range(name):
    with pytest.raises(ValueError) as refused:
        load_settings(environ={f"TOSHI_{name.upper()}": "-1"})
    assert str(refused.value).startswith(f"setting {name} must be ") and f"TOSHI_{name.upper()}" in str(refused.value)


@pytest.mark.parametrize("name", NUMBERS)
def test_every_number_setting_has_a_type(name):
    with pytest.raises(ValueError, match=f"setting {name} must be a (whole )?number, not 'many'"):
        load_settings(environ={f"TOSHI_{name.upper()}": "many"})


def test_an_external_issuer_needs_where_its_keys_are():
    with pytest.raises(ValueError) as refused:
        load_settings(environ={"TOSHI_OIDC_ISSUER": "https://idp.example/realms/town"})
    assert "setting oidc_jwks_url must be set when oidc_issuer is" in str(refused.value)


def test_good_exceptions_and_origins_are_taken():
    settings = load_settings(environ={"TOSHI_OUTBOUND_ALLOW": "10.20.0.0/16, broker.internal:1883,[fd00::1]:8080,fd00::/8",
                                      "TOSHI_CORS_ORIGIN": "https://town.example.jp"})
    assert settings.cors_origin == "https://town.example.jp" and settings.outbound_allow.startswith("10.20.0.0/16")


def test_default_limit_may_not_exceed_max_limit():
    with pytest.raises(ValueError, match="default_limit"):
        load_settings(environ={"TOSHI_DEFAULT_LIMIT": "50", "TOSHI_MAX_LIMIT": "10"})
