"""The core context's terms kept beside it (so a request with the core context needs no PyLD) are
exactly what PyLD makes of the embedded core context."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

from toshi.jsonld.context import CORE_TERMS, computed_core_terms, core_context


def test_the_kept_core_terms_are_what_pyld_makes_of_the_core_context():
    kept = json.loads((resources.files("toshi.jsonld") / "contexts" / CORE_TERMS).read_text(encoding="utf-8"))
    assert kept == computed_core_terms()  # else: python -m toshi.jsonld.context


def test_the_core_context_is_built_without_pyld():
    code = ("import sys\nfrom toshi.jsonld.context import core_context\n"
            "assert core_context().expand_term('location') == 'https://uri.etsi.org/ngsi-ld/location'\n"
            "assert 'pyld' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert core_context().compact_iri("https://uri.etsi.org/ngsi-ld/location") == "location"
