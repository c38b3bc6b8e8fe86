"""The FIWARE IoT Agent library (npm `iotagent-node-lib` 4.14.0, unmodified, memory registry) with a real
Toshi process as its NGSI-v2 context broker: provisioning, measures, the entity in Toshi, the command
registration and a command forwarded to the agent (tests/ngsiv2/clients/iotagent_session.js).

The library is installed once with the machine's npm into a cache folder named by the pinned version,
`$XDG_CACHE_HOME/toshi/iotagent-node-lib-4.14.0` (`~/.cache/...`), and reused by every later run (or
the folder named by TOSHI_IOTAGENT_DIR, which must hold node_modules/iotagent-node-lib). The install
goes into a folder of its own and is renamed into place when complete, so an interrupted or concurrent
install never leaves a half-made cache. Without Node.js or the npm registry it is skipped, except in
CI, where it must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support import free_port

SESSION = Path(__file__).parent / "clients" / "iotagent_session.js"
VERSION = "4.14.0"
PACKAGE = f"iotagent-node-lib@{VERSION}"


def unavailable(message: str):
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "toshi" / f"iotagent-node-lib-{VERSION}"


def agent_dir() -> Path:
    if os.environ.get("TOSHI_IOTAGENT_DIR"):
        return Path(os.environ["TOSHI_IOTAGENT_DIR"])
    folder = cache_dir()
    if (folder / "node_modules" / "iotagent-node-lib").is_dir():
        return folder
    if not (shutil.which("node") and shutil.which("npm")):
        unavailable("Node.js and npm are needed for the IoT Agent library")
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        (partial / "package.json").write_text('{"name": "toshi-iotagent-test", "private": true}\n')
        install = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-save", PACKAGE], cwd=partial,
                                 capture_output=True, text=True, timeout=900)
        if install.returncode != 0:
            unavailable(f"cannot install {PACKAGE}: {install.stderr[-500:]}")
        if folder.exists() and not (folder / "node_modules" / "iotagent-node-lib").is_dir():
            shutil.rmtree(folder, ignore_errors=True)  # left half-made by an older layout
        try:
            partial.rename(folder)
        except OSError:  # another run installed it meanwhile: use that one
            if not (folder / "node_modules" / "iotagent-node-lib").is_dir():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def test_iot_agent_provisions_measures_and_receives_commands(server):
    folder = agent_dir()
    done = subprocess.run(["node", str(SESSION), str(server.port), str(free_port())], cwd=folder,
                          env={**os.environ, "NODE_PATH": str(folder / "node_modules")},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1:] == ["OK"], done.stdout + done.stderr
