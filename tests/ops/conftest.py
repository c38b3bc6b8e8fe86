"""Fixtures of the ops tests."""

from __future__ import annotations

import os
import subprocess

import pytest
from cli_support import in_process


@pytest.fixture
def here(monkeypatch, tmp_path):
    """in_process, called as cli_support.toshi is: no TOSHI_* variable but those of `env`, the current
    directory an empty one. No second Python importing Toshi again (~2 s of CPU a command). `serve`
    only for failures before it starts (a start fails the test). Commands run one at a time here: tests
    of two commands at once, of what a served port prints, of a process's rights or of a traceback run
    a real process (cli_support.toshi)."""
    for name in [name for name in os.environ if name.startswith("TOSHI_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def never_serve(*args, **kwargs):  # a `serve` the test meant to fail got as far as starting
        raise AssertionError("toshi serve started: the failure under test did not stop it")

    monkeypatch.setattr("uvicorn.Server.run", never_serve)
    monkeypatch.setattr("uvicorn.run", never_serve)

    def run(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
        with monkeypatch.context() as scoped:
            for name, value in (env or {}).items():
                scoped.setenv(name, value)
            return in_process(*argv)
    return run
