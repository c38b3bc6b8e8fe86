"""FiLiP (PyPI `filip`, the FIWARE Python client), unmodified, against a real Toshi process.

FiLiP cannot be installed beside Toshi: it pins paho-mqtt~=2.0.0 while aiomqtt (Toshi's MQTT client)
needs paho-mqtt>=2.1, plus older requests / pydantic-settings / packaging. So it runs from its own
virtualenv, named by TOSHI_FILIP_PYTHON (skipped when unset):

    python -m venv /tmp/filipenv && /tmp/filipenv/bin/pip install filip==0.8.1
    TOSHI_FILIP_PYTHON=/tmp/filipenv/bin/python python -m pytest tests/ngsiv2/test_v2_filip.py
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

FILIP_PYTHON = os.environ.get("TOSHI_FILIP_PYTHON")
SESSION = Path(__file__).parent / "clients" / "filip_session.py"


@pytest.mark.skipif(not FILIP_PYTHON, reason="TOSHI_FILIP_PYTHON (a Python with filip installed) not set")
def test_filip_create_read_update_query_delete(server):
    done = subprocess.run([FILIP_PYTHON, str(SESSION), server.url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "OK", done.stdout + done.stderr
