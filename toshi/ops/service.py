"""`toshi service install`: a systemd unit that runs `toshi serve` as an unprivileged user, restarts
it when it fails, and confines it to its data directory (docs/operations.md)."""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path

HARDENING = """\
NoNewPrivileges=yes
UMask=0077
ProtectSystem=strict
ProtectHome=yes
ReadWritePaths={data_dir}
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
CapabilityBoundingSet={capabilities}
AmbientCapabilities={capabilities}
"""


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", default="toshi", help="the system user the service runs as (default toshi)")
    parser.add_argument("--data-dir", default="/var/lib/toshi", help="the town's data (default /var/lib/toshi)")
    parser.add_argument("--config", help="a TOML settings file the service reads (e.g. /etc/toshi/toshi.toml)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=1026, help="port (default 1026)")
    parser.add_argument("--auth", action="store_true", help="require authentication (needed off loopback)")
    parser.add_argument("--name", default="toshi", help="the unit's name (default toshi: toshi.service)")
    parser.add_argument("--unit-dir", default="/etc/systemd/system", help="where the unit is written")
    parser.add_argument("--print", action="store_true", dest="print_only", help="print the unit, write nothing")


def unit(args: argparse.Namespace, python: str = sys.executable) -> str:
    data_dir = str(Path(args.data_dir).absolute())
    command = [python, "-m", "toshi.cli", "serve", "--data-dir", data_dir, "--host", args.host,
               "--port", str(args.port)]
    if args.config:
        command += ["--config", str(Path(args.config).absolute())]
    if args.auth:
        command.append("--auth")
    capabilities = "CAP_NET_BIND_SERVICE" if args.port < 1024 else ""
    return f"""\
# Written by `toshi service install` (docs/operations.md).
[Unit]
Description=Toshi City OS (都市OS) on port {args.port}
Documentation=https://github.com/toshi-os/toshi/blob/main/docs/operations.md
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
User={args.user}
Group={args.user}
WorkingDirectory={data_dir}
ExecStart={shlex.join(command)}
Environment=PYTHONUNBUFFERED=1
Restart=on-failure
RestartSec=5
TimeoutStopSec=30
LimitNOFILE=65536
{HARDENING.format(data_dir=data_dir, capabilities=capabilities)}
[Install]
WantedBy=multi-user.target
"""


_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")  # a system user's name (useradd's rule), and the unit's


def check(args: argparse.Namespace) -> None:
    """Refuse what would make a broken or different unit (a ValueError naming the option)."""
    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port must be from 1 to 65535, not {args.port}")
    for option, value in (("--user", args.user), ("--name", args.name)):
        if not _NAME.fullmatch(value):
            raise ValueError(f"{option} must be a name of lower-case letters, digits, _ and - (a system user's "
                             f"name), not {value!r}")
    for option, value in (("--data-dir", args.data_dir), ("--config", args.config), ("--host", args.host)):
        if value is not None and (not value.strip() or any(c in value for c in "\n\r\0")):
            raise ValueError(f"{option} must be one non-empty line, not {value!r}")


def install(args: argparse.Namespace) -> int:
    check(args)
    text = unit(args)
    if args.print_only:
        sys.stdout.write(text)
        return 0
    path = Path(args.unit_dir) / f"{args.name}.service"
    try:
        path.write_text(text)
    except PermissionError:
        raise ValueError(f"writing {path} needs root: run `sudo toshi service install ...` (or --print to see "
                         "the unit first)") from None
    data_dir = Path(args.data_dir).absolute()
    print(f"wrote {path}. Next, as root:\n"
          f"  useradd --system --home-dir {data_dir} --shell /usr/sbin/nologin {args.user}\n"
          f"  install -d -o {args.user} -g {args.user} -m 700 {data_dir}\n"
          f"  systemctl daemon-reload && systemctl enable --now {args.name}\n"
          f"  journalctl -u {args.name} -f        # the log", file=sys.stderr)
    return 0
