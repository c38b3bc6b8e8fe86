"""On-demand bus (AI オンデマンド交通): riders' bookings (pickup, drop-off, time windows) planned onto the
town's on-demand vehicles by a real vehicle-routing solver with capacities and time windows (VROOM,
through the optional `pyvroom`: `pip install 'toshi-os[mobility]'`), over the town's road graph;
the plan is written back as NGSI-LD entities (docs/services.md)."""

from toshi.mobility.service import DECLARATIONS, PURPOSE  # noqa: F401  (the demo town declares and consents)
from toshi.mobility.solver import SOLVER_MISSING, solver_available  # noqa: F401
