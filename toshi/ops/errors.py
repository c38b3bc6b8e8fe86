"""Command-line failures in one sentence that says what to do (the traceback only with --debug), and
the checks `toshi serve` makes before anything starts: the data directory, its lock, the port."""

from __future__ import annotations

import errno
import getpass
import os
import socket
import sqlite3
from pathlib import Path

from toshi.ops.files import read_server
from toshi.ops.remote import server_holds


def explain(exc: BaseException) -> str:
    """What went wrong and what to do, on one line."""
    return " ".join(_explain(exc).split())


def _explain(exc: BaseException) -> str:
    if isinstance(exc, ValueError | LookupError):
        return str(exc.args[0] if isinstance(exc, LookupError) and exc.args else exc)
    if isinstance(exc, RuntimeError) and "is locked" in str(exc):
        return f"{exc}: wait for it to finish or stop it, then run this again"
    if isinstance(exc, PermissionError):
        if exc.filename is None:
            return str(exc)
        if _owned(exc.filename):
            return (f"permission denied on {exc.filename}: it is yours ({_user()}) but read-only; make it "
                    f"writable (chmod -R u+rwX on the data directory)")
        return (f"permission denied on {exc.filename}: run this as the user that owns the data directory "
                f"(you are {_user()}), or give that user access")
    if isinstance(exc, sqlite3.OperationalError) and ("readonly" in str(exc) or "unable to open" in str(exc)):
        return (f"the SQLite database cannot be written ({exc}): run this as the user that owns the data "
                f"directory (you are {_user()}), or make it writable (chmod -R u+rwX on the data directory)")
    if isinstance(exc, NotADirectoryError | FileExistsError) and exc.filename:
        return (f"{exc.filename} (or a folder above it) is a file, not a directory: choose another "
                "--data-dir (TOSHI_DATA_DIR), or move the file away")
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"no such file or directory: {exc.filename}"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"the disk is full ({exc.filename or 'writing'}): free some space, then run this again"
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}"
    if type(exc).__name__ == "StoreUnavailable" or isinstance(exc, RuntimeError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc} (run again with --debug to see where, and please report it)"


def _owned(filename) -> bool:
    """Whether this user owns the file (or, when it is not there, the folder it would be in)."""
    path = Path(filename)
    for candidate in (path, path.parent):
        try:
            return candidate.stat().st_uid == os.geteuid()
        except OSError:
            continue
    return False


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid())


def check_data_dir(data_dir: str) -> None:
    """The data directory exists (or can be made), is a directory, and this user may write in it."""
    path = Path(data_dir)
    for part in (path, *path.parents):
        if part.exists() and not part.is_dir():
            raise ValueError(f"the data directory {path} cannot be used: {part} is a file, not a directory; "
                             "choose another --data-dir (TOSHI_DATA_DIR), or move the file away")
        if part.exists():
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise ValueError(f"cannot create the data directory {path}: permission denied; create it for the "
                         f"user Toshi runs as (e.g. sudo install -d -o {_user()} -m 700 {path})") from None
    for target in (path, path / "toshi.db", path / "keys"):
        if target.exists() and not os.access(target, os.W_OK | (os.X_OK if target.is_dir() else 0)):
            if _owned(target):
                raise ValueError(f"{target} is not writable by {_user()}, its owner: make it writable "
                                 f"(chmod -R u+rwX {path})")
            raise ValueError(f"{target} is not writable by {_user()}: run Toshi as the user that owns "
                             f"{path}, or give {_user()} that directory (chown -R)")


def check_not_served(data_dir: str) -> None:
    """No other server holds this SQLite town."""
    if server_holds(data_dir):
        info = read_server(data_dir) or {}
        who = f" (process {info['pid']} at {info['url']})" if "pid" in info else ""
        raise ValueError(f"another Toshi is using the data directory {data_dir}{who}: stop it first "
                         "(e.g. systemctl stop toshi), or give this one another --data-dir")


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts (so a port in use is said first)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ValueError(f"port {port} on {host} is already in use (another Toshi, or another program): "
                             f"stop it, or choose another port with --port (TOSHI_PORT)") from None
        if exc.errno == errno.EACCES:
            raise ValueError(f"port {port} needs more rights than this user has (ports below 1024): choose "
                             "a port from 1024 up with --port, or put a reverse proxy in front") from None
        if exc.errno in (errno.EADDRNOTAVAIL, socket.EAI_NONAME) or isinstance(exc, socket.gaierror):
            raise ValueError(f"cannot listen on {host}: this machine has no such address; use 127.0.0.1, "
                             "0.0.0.0 (every address, with --auth) or one of its own addresses") from None
        raise ValueError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def preflight(settings) -> socket.socket:
    """Everything `toshi serve` checks before it starts; returns the bound socket."""
    check_data_dir(settings.data_dir)
    if not settings.database_url:
        check_not_served(settings.data_dir)
    return bind(settings.host, settings.port)
