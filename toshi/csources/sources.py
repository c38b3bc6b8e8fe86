"""Asking context sources (ETSI GS CIM 009 v1.8 4.3.6, 6.3.17, 6.3.18): which registrations a request
consults, loop detection, and the one way a request is sent to a source.

* Which: active (not expired) registrations supporting the operation (directly or through a group),
  whose information matches the entity id / query (id, idPattern, type, attrs); exclusive and redirect
  ones first, auxiliary ones last.
* The request sent: {endpoint}/ngsi-ld/v1{path} with the client's Link @context, the registration's
  `tenant` as NGSILD-Tenant, its contextSourceInfo as headers, and `Via` naming this broker (setting
  federation_name), within management.timeout ms (else federation_timeout), through the outbound
  (SSRF) policy. The client's own credentials are never passed on.
* Loops: a request whose Via already names this broker, or with `local=true` (or `type=*`), is
  answered from local data only.
* Failures: a source that times out (504), cannot be reached or answers an error (502) is a Failure of
  that source; every request sent counts for its registration's statistics and cooldown.
* management.cooldown (5.2.34: the minimum time "before attempting to make a subsequent forwarded
  request to the same endpoint after failure. If requests are received before the cooldown period has
  expired, a timeout error response for the registration is automatically returned"): for every
  forwarded request, reads and writes alike, a registration cooling down is not sent it; its answer is a
  504 Failure (not counted as sent), which each operation reports as it reports a timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import orjson
from starlette.requests import Request

from toshi.core.errors import NgsiError, OperationNotSupported, ResourceNotFound
from toshi.core.outbound import OutboundRefused, outbound_policy
from toshi.csources.matching import Target, info_matches, provided_attrs
from toshi.csources.model import operations_of
from toshi.csources.store import registrations_of

if TYPE_CHECKING:
    import httpx

COOLING = "not asked: cooling down after a failure (management.cooldown)"
MODE_ORDER = {"exclusive": 0, "redirect": 0, "inclusive": 1, "auxiliary": 2}


class GatewayTimeout(NgsiError):
    kind, status, title = "GatewayTimeout", 504, "Gateway timeout"


class BadGateway(NgsiError):
    kind, status, title = "BadGateway", 502, "Bad gateway"


@dataclass
class Failure:
    """A source that gave no usable answer (or was not asked); `status` is what it stands for: 404 (the
    source has no such entity), 422 (its registration does not support the operation), 502 or 504 (it
    did not answer in time)."""

    registration_id: str
    detail: str
    status: int = 502

    @property
    def timeout(self) -> bool:
        return self.status == 504

    def error(self) -> NgsiError:
        detail = f"context source {self.registration_id}: {self.detail}"
        if self.status == 404:
            return ResourceNotFound(detail)
        if self.status == 422:
            return OperationNotSupported(detail)
        return GatewayTimeout(detail) if self.timeout else BadGateway(detail)


def broker_name(settings) -> str:
    return settings.federation_name or f"toshi-{settings.host}:{settings.port}"


def _via_names(header: str) -> list[str]:
    """The received-by names of a Via header (`1.1 name, 1.0 other (comment)`)."""
    names = []
    for hop in header.split(","):
        parts = hop.split()
        if len(parts) >= 2:
            names.append(parts[1])
    return names


def forwarding_allowed(request: Request) -> bool:
    """Neither `local=true` nor a request that already passed this broker (loop detection)."""
    if request.query_params.get("local", "").lower() == "true" or request.query_params.get("type") == "*":
        return False  # type=* implies local=true (6.4.3.2)
    via = request.headers.get("via")
    return not (via and broker_name(request.app.state.toshi.settings) in _via_names(via))


def candidates(request: Request, tenant: str, operation: str, target: Target) -> list[tuple[dict, set | None]]:
    """(registration, the attributes to ask it for — None: all it has) of the matching registrations,
    exclusive and redirect ones first, auxiliary ones last."""
    if not forwarding_allowed(request):
        return []
    registrations = registrations_of(request.app.state.toshi)
    found = []
    for registration in registrations.active(tenant):
        if operation not in operations_of(registration):
            continue
        infos = [info for info in registration["information"] if info_matches(info, target)]
        if not infos:
            continue
        provided: set[str] | None = set()
        for info in infos:
            names = provided_attrs(info)
            provided = None if names is None or provided is None else provided | names
        if target.attrs is not None:
            provided = set(target.attrs) if provided is None else provided & target.attrs
        found.append((registration, provided))
    return sorted(found, key=lambda item: MODE_ORDER[item[0]["mode"]])


def local_only(registration: dict) -> dict[str, str]:
    """`local=true` when the registration's management asks that its source answer from its own data."""
    return {"local": "true"} if (registration.get("management") or {}).get("localOnly") else {}


def url_of(registration: dict, path: str, params: dict[str, str] | None = None) -> str:
    base = registration["endpoint"].rstrip("/")
    base = base if base.endswith("/ngsi-ld/v1") else base + "/ngsi-ld/v1"
    return base + path + ("?" + urlencode(params) if params else "")


def _headers(request: Request, registration: dict) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    link = request.headers.get("link")
    if link:
        headers["Link"] = link
    if registration.get("tenant"):
        headers["NGSILD-Tenant"] = registration["tenant"]
    via = request.headers.get("via")
    hop = f"1.1 {broker_name(request.app.state.toshi.settings)}"
    headers["Via"] = f"{via}, {hop}" if via else hop
    for item in registration.get("contextSourceInfo") or []:
        headers[item["key"]] = item["value"]
    return headers


async def send(request: Request, tenant: str, registration: dict, method: str, path: str,
               params: dict[str, str] | None = None, body: object = None, media: str = "application/json"
               ) -> httpx.Response | Failure:
    """Send one request to a registration's source (`body`: JSON sent as `media`, None: none): its answer
    as it came, or the Failure of getting none (which counts against the source). The caller judges
    the answer and tells `judged()`. A registration cooling down after a failure is not sent anything:
    its Failure is a timeout (5.2.34 cooldown)."""
    import httpx

    if registrations_of(request.app.state.toshi).cooling(tenant, registration["id"]):
        return Failure(registration["id"], COOLING, 504)
    settings = request.app.state.toshi.settings
    url = url_of(registration, path, params)
    timeout = (registration.get("management") or {}).get("timeout")
    timeout = timeout / 1000 if timeout else settings.federation_timeout
    headers = _headers(request, registration)
    if body is not None:
        headers["Content-Type"] = media
    policy = outbound_policy(settings)
    try:
        await policy.check(url)
        target, host, extensions = await policy.pinned(url)
    except OutboundRefused as exc:
        return Failure(registration["id"], f"refused: {exc}")
    except OSError as exc:  # its name does not resolve (checked before connecting when private addresses are refused)
        judged(request, tenant, registration, ok=False)
        return Failure(registration["id"], f"cannot be reached: {type(exc).__name__}")
    try:
        return await request.app.state.csources.http_client().request(
            method, target, content=None if body is None else orjson.dumps(body), headers={**headers, **host},
            extensions=extensions, timeout=timeout)
    except httpx.TimeoutException:
        judged(request, tenant, registration, ok=False)
        return Failure(registration["id"], f"no answer within {timeout:g} s", 504)
    except httpx.HTTPError as exc:
        judged(request, tenant, registration, ok=False)
        return Failure(registration["id"], f"cannot be reached: {type(exc).__name__}")


def judged(request: Request, tenant: str, registration: dict, ok: bool) -> None:
    """Count one request sent to the registration's source (a failure starts its cooldown)."""
    registrations_of(request.app.state.toshi).record(tenant, registration, ok=ok)
