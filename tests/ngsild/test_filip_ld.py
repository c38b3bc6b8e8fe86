"""FiLiP's NGSI-LD client (PyPI `filip` 0.8.1), unmodified, against a real Toshi process: entities,
attributes, batch operations and subscriptions (its subscription list sends `options=count`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ngsiv2.test_v2_filip import filip_python  # FiLiP runs from a virtualenv of its own (see there)

SESSION = Path(__file__).parent / "clients" / "filip_ld_session.py"


def test_filip_ld_client_operations(server):
    done = subprocess.run([filip_python(), str(SESSION), server.url], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and done.stdout.strip() == "OK", done.stdout + done.stderr
