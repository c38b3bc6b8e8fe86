"""GET /openapi.json describes what every feature serves."""

from __future__ import annotations


def test_openapi_lists_every_features_routes(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    assert "post" in paths["/ngsi-ld/v1/entities"] and "get" in paths["/ngsi-ld/v1/entities/{entity_id}"]
    assert "get" in paths["/v2/entities"]
    assert paths["/ngsi-ld/v1/entities/{entity_id}"]["get"]["parameters"][0]["name"] == "entity_id"
    tags = {op["tags"][0] for ops in paths.values() for op in ops.values()}
    served = {name for name, feature in client.app.state.toshi.features.items() if feature.routes()}
    assert served and served <= tags


def test_openapi_is_public_with_authentication_on(settings):
    import dataclasses

    from starlette.testclient import TestClient

    from toshi.app import create_app

    with TestClient(create_app(dataclasses.replace(settings, auth=True))) as client:
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/v2/entities").status_code == 401
