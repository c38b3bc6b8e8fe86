"""The `options` of NGSI-v2 updates (Orion manual, the options tables of POST / PATCH / PUT
`/v2/entities/{id}/attrs`, PUT `.../attrs/{attr}` and `.../value`, POST /v2/op/update), and the marks a
request's write leaves on the new state for the notifications it triggers (toshi.ngsiv2.edits.marked).

* `forcedUpdate`: the update notifies `entityChange` subscriptions even when nothing changes.
* `overrideMetadata`: the request's metadata replace the attribute's instead of being merged into them.
* `flowControl`: accepted, no effect. Orion (started with -notifFlowControl) answers such an update
  once the notifications it triggered are sent; Toshi's outbox is durable and never drops them.
"""

from __future__ import annotations

from starlette.requests import Request

from toshi.core.times import now_iso
from toshi.ngsiv2 import edits
from toshi.ngsiv2.correlator import correlator_of

FORCED = "forcedUpdate"
OVERRIDE = "overrideMetadata"
FLOW_CONTROL = "flowControl"
UPDATE_OPTIONS = {FORCED, OVERRIDE, FLOW_CONTROL}


def keeps_metadata(options: set[str]) -> bool:
    """Whether an attribute update keeps the metadata the request does not mention (Orion's default)."""
    return OVERRIDE not in options


def marked(request: Request, edit, options: set[str] = frozenset()):
    """`edit`, leaving the request's correlator (and the forcedUpdate mark) on the new state."""
    return edits.marked(edit, correlator=correlator_of(request), forced=FORCED in options, now=now_iso())
