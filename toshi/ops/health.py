"""`/health/live` (the process answers) and `/health/ready` (it can serve: the store answers, its
schema is the one this Toshi needs, and the IoT agent holds its MQTT broker when one is configured).
Readiness is 503 with the reasons when not, so a load balancer or systemd watchdog can tell."""

from __future__ import annotations

import logging

import orjson
from starlette.requests import Request
from starlette.responses import Response

from toshi.store import latest_schema, schema_version

log = logging.getLogger("toshi.ops")


def _json(body: dict, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers={"Cache-Control": "no-store"})


async def live(request: Request) -> Response:
    return _json({"status": "live"})


async def ready(request: Request) -> Response:
    services = request.app.state.toshi
    checks = {"store": await store_check(services.store)}
    if services.settings.iot_mqtt_url:
        checks["mqtt"] = mqtt_check(services.features.get("iot"))
    reasons = [f"{name}: {problem}" for name, problem in checks.items() if problem != "ok"]
    if reasons:
        log.warning("not ready: %s", "; ".join(reasons))
        return _json({"status": "unavailable", "checks": checks, "reasons": reasons}, 503)
    return _json({"status": "ready", "checks": checks})


async def store_check(store) -> str:
    """"ok", or what is wrong with the store, in words."""
    try:
        await store.changes.last_seq()
        version = schema_version(store.db)
    except Exception as exc:  # any failure of the database is a reason, never an error page
        return f"the database does not answer ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    if version is None:
        return "the database has no Toshi schema (was it emptied or replaced?)"
    if version != latest_schema():
        return f"the database has schema version {version}, this Toshi needs {latest_schema()}: run toshi db upgrade"
    return "ok"


def mqtt_check(feature) -> str:
    agent = getattr(feature, "agent", None)
    mqtt = getattr(agent, "mqtt", None)
    if mqtt is None:
        return "the IoT agent's MQTT client is not running"
    if not mqtt.connected:
        return f"not connected to the MQTT broker {mqtt.host}:{mqtt.port} (is it running? see TOSHI_IOT_MQTT_URL)"
    return "ok"
