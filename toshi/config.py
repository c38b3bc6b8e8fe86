"""Settings: zero-config defaults, then an optional TOML file, then TOSHI_* variables, then CLI flags."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 1026
    data_dir: str = "./toshi-data"
    database_url: str = ""                # postgresql://user@host/db: PostgreSQL; "" = SQLite in data_dir
    workers: int = 1                      # server processes (more than 1 needs PostgreSQL)
    database_timeout: float = 10.0        # PostgreSQL: seconds to connect, and to wait for the write lock (then 503)
    log_level: str = "info"
    max_body_bytes: int = 1_000_000      # request payload limit (NGSI-LD bodies)
    max_nesting: int = 16                 # sub-attribute / JSON nesting depth limit
    default_limit: int = 20               # NGSI-LD default page size
    max_limit: int = 1000                 # largest `limit` a query may ask for
    context_fetch_timeout: float = 5.0    # seconds, remote @context retrieval
    allow_remote_contexts: bool = True
    notify_timeout: float = 5.0           # seconds per notification attempt
    notify_max_attempts: int = 5          # then the notification goes to the dead letters
    notify_backoff: float = 0.5           # seconds before the first retry, doubling each time
    notify_queue_per_receiver: int = 1000  # in memory; the rest waits in the durable outbox
    change_retention: float = 3600.0      # seconds delivered change-log records are kept
    cors_origin: str = ""                 # "" = no CORS headers; "*" = any origin; else one origin (as Orion)
    cors_max_age: int = 86400
    history_retention: str = ""           # temporal history kept for this ISO 8601 duration (P365D); "" = all
    iot_mqtt_url: str = ""                # IoT agent's MQTT broker, mqtt://[user:pass@]host[:port]; "" = off
    iot_mqtt_client_id: str = "toshi-iot"  # fixed, so the broker keeps our session (QoS 1) across restarts
    iot_mqtt_ca_file: str = ""            # CA bundle for mqtts:// (default: the system's)
    iot_device_rate: float = 50.0         # measure messages per second one device may send (0 = no limit)
    iot_device_burst: float = 200.0       # ... with this burst allowance
    iot_command_timeout: float = 60.0     # seconds a device has to answer a command before it is EXPIRED
    auth: bool = False                    # require authentication; must be on unless host is loopback
    auth_issuer: str = "toshi"            # `iss` of the tokens Toshi issues itself
    auth_audience: str = "toshi"          # `aud` they carry
    oidc_issuer: str = ""                 # an external OpenID Connect provider: its issuer,
    oidc_audience: str = ""               # ... the audience its tokens for Toshi carry,
    oidc_jwks_url: str = ""               # ... and where its signing keys are
    oidc_roles_claim: str = "roles"       # claim with "tenant:role" entries (or {tenant: [roles]})
    rate_limit: float = 0.0               # requests per second per principal (0 = no limit)
    rate_burst: float = 0.0               # ... burst allowance (0 = twice the rate)
    outbound_private: str = "auto"        # notifications/@contexts to private addresses: allow, deny, auto (deny when auth is on)
    outbound_allow: str = ""              # comma-separated hosts, host:port or CIDRs allowed even if private
    request_timeout: float = 30.0         # seconds a request's reads may run (then 403 TooComplexQuery); 0 = no limit
    certfile: str = ""                    # TLS certificate (PEM) for serving HTTPS
    keyfile: str = ""                     # ... and its private key
    audit_retention: str = ""             # audit records kept for this ISO 8601 duration; "" = all
    audit_checkpoint_interval: float = 300.0  # seconds between signed audit checkpoints
    web_tile_url: str = ""                # maps: raster tiles, {z}/{x}/{y} (GSI tiles); "" = offline base map
    web_tile_attribution: str = ""        # ... and the credit it must show
    web_map_center: str = ""              # "lon,lat,zoom" the maps open at before data arrives; "" = fit the data
    web_session_hours: float = 8.0        # a browser login lasts this long

    @property
    def database_path(self) -> Path:
        return Path(self.data_dir) / "toshi.db"


def _coerce(field_type: type | str, raw: object) -> object:
    kind = field_type if isinstance(field_type, str) else field_type.__name__
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        return str(raw).strip().lower() in {"1", "true", "yes", "on"}
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    return str(raw)


def load_settings(config_file: str | None = None, overrides: dict | None = None,
                  environ: dict[str, str] | None = None) -> Settings:
    """Build settings from (in rising priority) defaults, TOML file, TOSHI_* env vars, overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    path = config_file or environ.get("TOSHI_CONFIG")
    if path is None and Path("toshi.toml").exists():
        path = "toshi.toml"
    if path:
        with open(path, "rb") as fh:
            values.update(tomllib.load(fh).get("toshi", {}) or {})
    known = {f.name: f.type for f in fields(Settings)}
    for name in known:
        env_value = environ.get("TOSHI_" + name.upper())
        if env_value is not None:
            values[name] = env_value
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    return dataclasses.replace(Settings(), **{k: _coerce(known[k], v) for k, v in values.items()})
