"""Start-up: `import toshi.app` and `toshi --help` leave the heavy libraries unloaded (each is imported
where it is used), and the cheap command listing of `toshi --help` says what the features' parsers say."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from toshi.cli import COMMANDS, build_parser

HEAVY = ("pyld", "requests", "aiohttp", "httpx", "rdflib", "shapely", "numpy", "jinja2")


def loaded_after(code: str) -> set[str]:
    """The top-level modules a fresh interpreter holds after running `code`."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_importing_the_app_loads_no_heavy_library():
    assert loaded_after("import toshi.app") & set(HEAVY) == set()


def test_toshi_help_imports_no_feature():
    code = ("import contextlib, io, sys\nsys.modules.pop('toshi.features', None)\nfrom toshi.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    main(['--help'])\n"
            "assert 'toshi.features' not in sys.modules, 'toshi --help imported the features'")
    assert loaded_after(code) & set(HEAVY) == set()


def test_the_listing_names_every_command_with_its_own_help():
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert {a.dest: a.help for a in commands._choices_actions} == COMMANDS
    assert list(commands.choices) == list(COMMANDS)  # the same order
