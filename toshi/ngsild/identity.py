"""Retrieve Context Source Identity Information: GET /ngsi-ld/v1/info/sourceIdentity (v1.9 clauses
5.15.1, 5.2.40, 6.33).

The answer is a ContextSourceIdentity: `id` and `contextSourceAlias` name this town's broker for the
request's tenant (clause 4.14: the alias "shall be identifying a specific Tenant", so that a peer can
tell two tenants of one broker apart in a Via chain); both are UUIDs derived from one random town
identifier, kept in the store's database the first time it is asked for, and the tenant's name, so
they are stable across restarts and processes and need no row per tenant (asking for an unknown tenant
creates nothing). `contextSourceUptime` is the time since this process started (ISO 8601 duration),
`contextSourceTimeAt` the broker's current time (UTC), `contextSourceExtras` what the broker is.
"""

from __future__ import annotations

import time
import uuid

from starlette.requests import Request
from starlette.responses import Response

from toshi import __version__
from toshi.core.times import now_iso
from toshi.formats import ngsild_http as http
from toshi.store import FeatureTables, atomic, attached

SCHEMA = """
CREATE TABLE IF NOT EXISTS ngsild_source_identity (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
)
"""
STARTED = time.monotonic()  # this process's start, for contextSourceUptime


class TownIdentity:
    """The town's random identifier (a UUID), made once per database."""

    def __init__(self, store):
        self._tables = FeatureTables(store, SCHEMA)
        self._town: uuid.UUID | None = None

    def town(self) -> uuid.UUID:
        if self._town is None:
            db = self._tables.db
            with atomic(db):
                db.execute("INSERT INTO ngsild_source_identity (name, value) VALUES ('town', ?) "
                           "ON CONFLICT (name) DO NOTHING", (str(uuid.uuid4()),))
                row = db.execute("SELECT value FROM ngsild_source_identity WHERE name = 'town'").fetchone()
            self._town = uuid.UUID(row[0])
        return self._town

    def of_tenant(self, tenant: str) -> uuid.UUID:
        return uuid.uuid5(self.town(), "tenant:" + tenant)


async def source_identity(request: Request) -> Response:
    tenant = http.tenant_of(request)
    media = http.negotiate(request)
    ctx = await http.context_for(request)
    tenant_id = attached(request.app.state.toshi.store, TownIdentity).of_tenant(tenant)
    body = {
        "id": f"urn:ngsi-ld:ContextSourceIdentity:{tenant_id}",
        "type": "ContextSourceIdentity",
        "contextSourceExtras": {"broker": "Toshi", "version": __version__},
        "contextSourceUptime": iso_duration(time.monotonic() - STARTED),
        "contextSourceTimeAt": now_iso(),
        "contextSourceAlias": f"urn:ngsi-ld:ContextSource:{tenant_id}",
    }
    return await http.json_response(request, body, media=media, ctx=ctx)


def iso_duration(seconds: float) -> str:
    """Whole seconds as an ISO 8601 duration: PT0S, PT42S, PT1H2M3S, P3DT4H0M5S."""
    rest = int(seconds)
    days, rest = divmod(rest, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours}H{minutes}M{secs}S" if hours else (f"{minutes}M{secs}S" if minutes else f"{secs}S")
    return f"P{days}DT{clock}" if days else f"PT{clock}"
