"""Running a town without IT staff: the access log and log formats, health and Prometheus metrics,
management commands that work while the server runs (through its admin endpoint), `toshi status`,
`toshi service install`, and command-line failures explained in one sentence (docs/operations.md)."""

from toshi.ops.errors import explain, preflight
from toshi.ops.logs import configure_logging
from toshi.ops.remote import run_on_server
from toshi.ops.status import record_backup

__all__ = ["configure_logging", "explain", "preflight", "record_backup", "run_on_server"]
