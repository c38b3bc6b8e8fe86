"""The command line's side of the admin endpoint (toshi/ops/admin.py): when a server runs on the
data directory's SQLite town, a management command is sent to it instead of opening the store."""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

from toshi.ops.admin import TOKEN_HEADER
from toshi.ops.files import read_server, token_file

TIMEOUT = 600.0  # seconds: an import of a large file runs inside the server


def server_holds(data_dir: str | Path) -> bool:
    """Whether a process holds the SQLite town's lock (a server is running on it)."""
    lock = Path(data_dir) / "toshi.db.lock"
    if not lock.exists():
        return False
    try:
        with open(lock, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
    except OSError:
        return False
    return False


def admin_token(data_dir: str | Path) -> str:
    path = token_file(data_dir)
    try:
        return path.read_text().strip()
    except PermissionError:
        raise PermissionError(f"a Toshi server runs on {data_dir} and only the user it runs as may send it "
                              f"commands: run this command as that user (e.g. sudo -u toshi toshi ...)") from None
    except OSError:
        raise RuntimeError(f"a Toshi server runs on {data_dir} but left no admin token ({path}): stop it, "
                           "then run this command again") from None


def ask(data_dir: str | Path, method: str, path: str, body: dict | None = None,
        timeout: float = TIMEOUT) -> dict | None:
    """The server's JSON answer; None when no server of this data directory answers."""
    import httpx

    info = read_server(data_dir)
    if info is None:
        return None
    token = admin_token(data_dir)
    try:
        response = httpx.request(method, info["url"] + path, json=body, headers={TOKEN_HEADER: token},
                                 timeout=timeout, verify=False)
    except httpx.TransportError:
        return None
    if response.status_code == 401:
        return None  # another server took that port: not ours
    return response.json()


def run_on_server(args, data_dir: str | Path, database_url: str) -> int | None:
    """Run this command line in the server that holds the data directory; None when none does."""
    if database_url or not server_holds(data_dir):
        return None  # no server, or PostgreSQL (several processes share it safely)
    answer = ask(data_dir, "POST", "/ops/commands", {"argv": list(args.argv), "cwd": os.getcwd()})
    if answer is None:
        raise RuntimeError(f"a Toshi process holds {data_dir} but no server answers for it: wait for it to "
                           "finish, or stop it, then run this command again")
    if "code" not in answer:
        raise RuntimeError(f"the server refused the command: {answer.get('description', answer)}")
    sys.stdout.write(answer["stdout"])
    sys.stderr.write(answer["stderr"])
    return answer["code"]
