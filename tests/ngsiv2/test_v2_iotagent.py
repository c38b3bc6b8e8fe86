"""The FIWARE IoT Agent library (npm `iotagent-node-lib` 4.14.0, unmodified, memory registry) with a real
Toshi process as its NGSI-v2 context broker: provisioning, measures, the entity in Toshi, the command
registration and a command forwarded to the agent (tests/ngsiv2/clients/iotagent_session.js).

The library is installed once with the machine's npm into the system temp directory (or the folder
named by TOSHI_IOTAGENT_DIR, which must hold node_modules/iotagent-node-lib). Without Node.js or the
npm registry it is skipped, except in CI, where it must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from support import free_port

SESSION = Path(__file__).parent / "clients" / "iotagent_session.js"
PACKAGE = "iotagent-node-lib@4.14.0"


def unavailable(message: str):
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def agent_dir() -> Path:
    if os.environ.get("TOSHI_IOTAGENT_DIR"):
        return Path(os.environ["TOSHI_IOTAGENT_DIR"])
    if not (shutil.which("node") and shutil.which("npm")):
        unavailable("Node.js and npm are needed for the IoT Agent library")
    folder = Path(tempfile.gettempdir()) / "toshi-iotagent-node-lib-4.14.0"
    if not (folder / ".installed").exists():
        folder.mkdir(exist_ok=True)
        (folder / "package.json").write_text('{"name": "toshi-iotagent-test", "private": true}\n')
        install = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-save", PACKAGE], cwd=folder,
                                 capture_output=True, text=True, timeout=900)
        if install.returncode != 0:
            unavailable(f"cannot install {PACKAGE}: {install.stderr[-500:]}")
        (folder / ".installed").touch()
    return folder


def test_iot_agent_provisions_measures_and_receives_commands(server):
    folder = agent_dir()
    done = subprocess.run(["node", str(SESSION), str(server.port), str(free_port())], cwd=folder,
                          env={**os.environ, "NODE_PATH": str(folder / "node_modules")},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1:] == ["OK"], done.stdout + done.stderr
