"""The Orion-shaped part of GET /version, so NGSI-v2 clients that probe the broker find what they expect."""

from __future__ import annotations

import functools
import platform
import time

from toshi import __version__

ORION_API_VERSION = "4.7.0"  # the Orion release whose NGSI-v2 behaviour Toshi follows (its manual)


# Orion's notifications say `orion/<version> libcurl/<version>`; the HTTP library slot names the one
# Toshi sends with, so receivers that look for Orion's shape find it and nobody is told it is libcurl.
@functools.cache
def user_agent() -> str:
    import aiohttp  # at the first notification, not at import (start-up time)

    return f"orion/{ORION_API_VERSION} libcurl/aiohttp-{aiohttp.__version__} toshi/{__version__}"


_STARTED = time.monotonic()


def orion_info() -> dict:
    up = int(time.monotonic() - _STARTED)
    days, rest = divmod(up, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return {
        "version": ORION_API_VERSION,
        "uptime": f"{days} d, {hours} h, {minutes} m, {seconds} s",
        "git_hash": "nogitversion",
        "compile_time": "nodate",
        "compiled_by": "toshi",
        "compiled_in": "toshi",
        "release_date": "nodate",
        "machine": platform.machine(),
        "doc": "https://fiware-orion.rtfd.io/",
        "libversions": {"toshi": __version__},
    }
