"""Fiware-Correlator and CORS, as Orion does them."""

from __future__ import annotations

import dataclasses

from starlette.testclient import TestClient

from toshi.app import create_app


def test_correlator_is_echoed_or_made(client):
    given = client.get("/v2/entities", headers={"Fiware-Correlator": "abc-123"})
    assert given.headers["fiware-correlator"] == "abc-123"
    made = client.get("/v2/entities")
    assert len(made.headers["fiware-correlator"]) == 36
    assert client.get("/v2/entities/nope").headers["fiware-correlator"]


def test_cors_only_when_configured(client, settings):
    assert "access-control-allow-origin" not in client.get("/v2/entities", headers={"Origin": "http://a.jp"}).headers
    other = dataclasses.replace(settings, cors_origin="*", data_dir=settings.data_dir + "-cors")
    with TestClient(create_app(other)) as cors:
        response = cors.get("/v2/entities", headers={"Origin": "http://a.jp"})
        assert response.headers["access-control-allow-origin"] == "*"
        assert "Fiware-Total-Count" in response.headers["access-control-expose-headers"]
        preflight = cors.options("/v2/entities", headers={"Origin": "http://a.jp",
                                                          "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 200
        assert "POST" in preflight.headers["access-control-allow-methods"]
