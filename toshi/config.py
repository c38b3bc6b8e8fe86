"""Settings: zero-config defaults, then an optional TOML file, then TOSHI_* variables, then CLI flags."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 1026
    data_dir: str = "./toshi-data"
    database_url: str = ""                # postgresql://user@host/db: PostgreSQL; "" = SQLite in data_dir
    workers: int = 1                      # server processes (more than 1 needs PostgreSQL)
    database_timeout: float = 10.0        # PostgreSQL: seconds to connect, and to wait for the write lock (then 503)
    log_level: str = "info"
    log_format: str = "text"              # text, or json (JSON lines for log collectors)
    access_log: bool = True               # one line per request at info: method, path, status, duration
    metrics_token: str = ""               # a bearer token that may read /metrics (besides admins)
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
    temporal_instance_limit: int = 10_000  # instances one temporal answer holds (all attributes); more: 206
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
    federation_name: str = ""             # this broker in Via headers of forwarded requests (loop detection); "" = toshi-<host>:<port>
    federation_timeout: float = 5.0       # seconds a context source has to answer (a registration's management.timeout wins)
    request_timeout: float = 30.0         # seconds a request's reads may run (then 403 TooComplexQuery); 0 = no limit
    certfile: str = ""                    # TLS certificate (PEM) for serving HTTPS
    keyfile: str = ""                     # ... and its private key
    audit_retention: str = ""             # audit records kept for this ISO 8601 duration; "" = all
    audit_checkpoint_interval: float = 300.0  # seconds between signed audit checkpoints
    web_tile_url: str = ""                # maps: raster tiles, {z}/{x}/{y} (GSI tiles); "" = offline base map
    web_tile_attribution: str = ""        # ... and the credit it must show
    web_map_center: str = ""              # "lon,lat,zoom" the maps open at before data arrives; "" = fit the data
    web_session_hours: float = 8.0        # a browser login lasts this long
    public_url: str = ""                  # the address browsers use behind a reverse proxy (https://town.example.jp):
                                          # the portal's sign-in redirect URI, OIDC discovery, the map style; "" = each request's own
    watchover_clock: str = "wall"         # watch-over's now: wall, or devices (latest observation + time since: a simulated town)

    @property
    def database_path(self) -> Path:
        return Path(self.data_dir) / "toshi.db"


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}
_KINDS = {"int": "a whole number", "float": "a number", "bool": "true or false", "str": "text"}


def _coerce(name: str, field_type: type | str, raw: object) -> object:
    """`raw` (from TOML, a variable or a flag) as the setting's type; a ValueError naming the setting."""
    kind = field_type if isinstance(field_type, str) else field_type.__name__
    try:
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE | _FALSE:
                return text in _TRUE
            raise ValueError
        if kind == "int":
            if isinstance(raw, float | bool):
                raise ValueError
            return int(raw)
        if kind == "float":
            if isinstance(raw, bool):
                raise ValueError
            return float(raw)
    except ValueError:
        raise ValueError(f"setting {name} must be {_KINDS[kind]}, not {raw!r}{where(name)}") from None
    return str(raw)


def where(name: str) -> str:
    """Where a setting is given, for error messages."""
    return f" (variable TOSHI_{name.upper()}, or {name} in the [toshi] table of the TOML file, or its flag)"


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
    settings = dataclasses.replace(Settings(), **{k: _coerce(k, known[k], v) for k, v in values.items()})
    validate(settings)
    return settings


# -- what each setting may be ---------------------------------------------------------------------
_AT_LEAST = {  # name -> smallest value (inclusive)
    "workers": 1, "max_body_bytes": 1, "max_nesting": 1, "default_limit": 1, "max_limit": 1,
    "notify_max_attempts": 1, "notify_backoff": 0, "notify_queue_per_receiver": 1, "change_retention": 0,
    "cors_max_age": 0, "iot_device_rate": 0, "iot_device_burst": 0, "rate_limit": 0, "rate_burst": 0,
    "request_timeout": 0, "temporal_instance_limit": 1,
}
_POSITIVE = {"database_timeout", "context_fetch_timeout", "notify_timeout", "iot_command_timeout",
             "audit_checkpoint_interval", "web_session_hours", "federation_timeout"}
_CHOICES = {"log_level": ("critical", "error", "warning", "info", "debug"), "log_format": ("text", "json"),
            "outbound_private": ("allow", "deny", "auto"), "watchover_clock": ("wall", "devices")}
_PREFIXES = {"database_url": ("postgresql://", "postgres://"), "iot_mqtt_url": ("mqtt://", "mqtts://"),
             "oidc_jwks_url": ("https://", "http://"), "web_tile_url": ("https://", "http://")}
_NOT_EMPTY = {"host", "data_dir", "iot_mqtt_client_id", "auth_issuer", "auth_audience"}
_FILES = {"iot_mqtt_ca_file", "certfile", "keyfile"}
_DURATIONS = {"history_retention", "audit_retention"}
_DURATION = re.compile(r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")


def validate(settings: Settings) -> None:
    """Refuse a setting outside what it may be, naming it (a ValueError: the command line prints it)."""
    for name, problem in _problems(settings):
        raise ValueError(f"setting {name} {problem}{where(name)}")


def _problems(settings: Settings):
    value = settings.__dict__
    if not 1 <= settings.port <= 65535:
        yield "port", f"must be from 1 to 65535, not {settings.port}"
    for name, least in _AT_LEAST.items():
        if name in value and value[name] < least:
            yield name, f"must be {least} or more, not {value[name]}"
    for name in _POSITIVE:
        if name in value and not value[name] > 0:
            yield name, f"must be more than 0, not {value[name]}"
    for name, choices in _CHOICES.items():
        if name in value and value[name] not in choices:
            yield name, f"must be one of {', '.join(choices)}, not {value[name]!r}"
    for name, prefixes in _PREFIXES.items():
        if value.get(name) and not value[name].startswith(prefixes):
            yield name, f"must start with {' or '.join(prefixes)}, not {value[name]!r}"
    if value.get("public_url"):
        parts = urlsplit(value["public_url"])
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.path not in ("", "/") \
                or parts.query or parts.fragment or "@" in parts.netloc:
            yield "public_url", f"must be an origin like https://town.example.jp (no path), not {value['public_url']!r}"
    if value.get("cors_origin") and value["cors_origin"] != "*" and not _origin(value["cors_origin"]):
        yield "cors_origin", f"must be * or one origin like https://town.example.jp, not {value['cors_origin']!r}"
    if value.get("oidc_issuer") and not value.get("oidc_jwks_url"):
        yield "oidc_jwks_url", ("must be set when oidc_issuer is: where the provider's signing keys are "
                                "(e.g. https://idp.example/.well-known/jwks.json)")
    for entry in filter(None, (e.strip() for e in value.get("outbound_allow", "").split(","))):
        if not _allow_entry(entry):
            yield "outbound_allow", f"has {entry!r}, which is not a host, host:port, IP address or CIDR"
    for name in _NOT_EMPTY:
        if name in value and not value[name].strip():
            yield name, "must not be empty"
    for name in _FILES:
        if value.get(name) and not Path(value[name]).is_file():
            yield name, f"names {value[name]!r}, which is not a readable file"
    for name in _DURATIONS:
        if value.get(name) and not _DURATION.fullmatch(value[name]):
            yield name, f"must be an ISO 8601 duration such as P365D, not {value[name]!r}"
    if settings.default_limit > settings.max_limit:
        yield "default_limit", f"({settings.default_limit}) must not exceed max_limit ({settings.max_limit})"
    if settings.federation_name and not re.fullmatch(r"[A-Za-z0-9._:~-]+", settings.federation_name):
        yield "federation_name", f"must be one token (letters, digits, . _ : ~ -) for Via headers, not {settings.federation_name!r}"
    if settings.web_map_center and not _map_center(settings.web_map_center):
        yield "web_map_center", f"must be \"longitude,latitude,zoom\", not {settings.web_map_center!r}"


def _origin(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("https", "http") and bool(parts.netloc) and parts.path in ("", "/") \
        and not parts.query and not parts.fragment and "@" not in parts.netloc


_HOST = re.compile(r"(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?")


def _allow_entry(entry: str) -> bool:
    """An outbound_allow entry: a CIDR or IP address, a host name, host:port or [IPv6]:port."""
    try:
        ipaddress.ip_network(entry, strict=False)
        return True
    except ValueError:
        pass
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":") if rest.startswith(":") else None
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
    else:
        host, colon, port = entry.partition(":")
        port = port if colon else None
        if not _HOST.fullmatch(host):
            return False
        if "/" in entry or (host.replace(".", "").isdigit() and not _is_address(host)):
            return False
    return port is None or (port.isdigit() and 1 <= int(port) <= 65535)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _map_center(text: str) -> bool:
    try:
        lon, lat, zoom = (float(part) for part in text.split(","))
    except ValueError:
        return False
    return -180 <= lon <= 180 and -90 <= lat <= 90 and 0 <= zoom <= 24
