"""How an NGSI-LD notification is sent (clause 8.3): its HTTP headers, with the @context where the
Accept of the endpoint wants it, or the MQTT message (`metadata` + `body`) and topic. The endpoint's
`timeout` (clause 5.2.15: milliseconds that may elapse before a notification is assumed to have failed;
only for a binding that always answers, so HTTP) bounds the wait for each HTTP answer."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

LINK_REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'


def outgoing(endpoint: dict, tenant: str, body: dict, context_url: str | None,
             payload_context: object) -> tuple[dict, dict]:
    """The notifier's endpoint (toshi/notify/kinds.py) and body of a Notification sent to `endpoint`
    (the subscription's); `payload_context` is put in application/ld+json bodies, `context_url`
    in the Link header otherwise."""
    headers, body = _headers_and_body(endpoint, tenant, body, context_url, payload_context)
    uri = urlsplit(endpoint["uri"])
    if uri.scheme in ("mqtt", "mqtts"):
        info = {item["key"]: item["value"] for item in endpoint.get("notifierInfo") or []}
        return ({"uri": endpoint["uri"], "topic": unquote(uri.path.lstrip("/")), "qos": int(info.get("MQTT-QoS", 0))},
                {"metadata": headers, "body": body})
    where = {"uri": endpoint["uri"], "method": "POST", "headers": headers}
    if endpoint.get("timeout"):  # milliseconds; the notifier's endpoint takes seconds
        where["timeout"] = endpoint["timeout"] / 1000
    return where, body


def _headers_and_body(endpoint: dict, tenant: str, body: dict, context_url: str | None,
                      payload_context: object) -> tuple[dict[str, str], dict]:
    accept = endpoint.get("accept") or "application/json"
    headers = {"Content-Type": accept}
    if accept == "application/ld+json":
        body = {**body, "@context": payload_context or context_url}
    elif context_url:
        headers["Link"] = f"<{context_url}>; {LINK_REL}"
    if tenant:
        headers["NGSILD-Tenant"] = tenant
    for item in endpoint.get("receiverInfo") or []:
        headers[item["key"]] = item["value"]
    return headers, body
