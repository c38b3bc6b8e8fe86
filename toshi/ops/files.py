"""The files a running server leaves in its data directory for the command line: where it listens
and since when (`ops/server.json`), and the secret that lets a local command use its admin endpoint
(`ops/admin.token`, readable by its owner only)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

DIRECTORY = "ops"


def server_file(data_dir: str | Path) -> Path:
    return Path(data_dir) / DIRECTORY / "server.json"


def token_file(data_dir: str | Path) -> Path:
    return Path(data_dir) / DIRECTORY / "admin.token"


def write_private(path: Path, text: str) -> None:
    """Write `path` so that only its owner may read it (written beside it, then renamed: never half)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(partial, 0o600)
    os.replace(partial, path)


def announce(data_dir: str | Path, info: dict) -> str:
    """Write the server's files; returns the new admin token."""
    token = secrets.token_urlsafe(32)
    write_private(token_file(data_dir), token)
    write_private(server_file(data_dir), json.dumps(info))
    return token


def withdraw(data_dir: str | Path, pid: int) -> None:
    """Remove the server's files if they are still this process's."""
    info = read_server(data_dir)
    if info is not None and info.get("pid") == pid:
        for path in (server_file(data_dir), token_file(data_dir)):
            path.unlink(missing_ok=True)


def read_server(data_dir: str | Path) -> dict | None:
    try:
        return json.loads(server_file(data_dir).read_text())
    except (OSError, ValueError):
        return None
