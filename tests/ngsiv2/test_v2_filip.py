"""FiLiP (PyPI `filip`, the FIWARE Python client), unmodified, against a real Toshi process.

FiLiP cannot be installed beside Toshi: it pins paho-mqtt~=2.0.0 while aiomqtt (Toshi's MQTT client)
needs paho-mqtt>=2.1, plus older requests / pydantic-settings / packaging. So it runs from a
virtualenv of its own: the one named by TOSHI_FILIP_PYTHON, or one this test builds once (in the
system temp directory) with `pip install filip==0.8.1`. Without a package index it is skipped,
except in CI, where it must run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

SESSION = Path(__file__).parent / "clients" / "filip_session.py"
FILIP = "filip==0.8.1"


def filip_python() -> str:
    if os.environ.get("TOSHI_FILIP_PYTHON"):
        return os.environ["TOSHI_FILIP_PYTHON"]
    venv = Path(tempfile.gettempdir()) / "toshi-filip-0.8.1"
    python = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
        install = subprocess.run([str(python), "-m", "pip", "install", "-q", FILIP], capture_output=True,
                                 text=True, timeout=900)
        if install.returncode != 0:
            message = f"cannot install {FILIP}: {install.stderr[-500:]}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        (venv / ".installed").touch()
    return str(python)


def test_filip_create_read_update_query_delete(server):
    done = subprocess.run([filip_python(), str(SESSION), server.url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "OK", done.stdout + done.stderr
