"""The v2 request size limit as Orion's: 1 MiB (its default -inReqPayloadMaxSize, 1048576 bytes); a body
of more is 413 RequestEntityTooLarge "payload size: N, max size supported: 1048576"."""

from __future__ import annotations

import orjson

LIMIT = 1_048_576
JSON = {"Content-Type": "application/json"}


def entity_of_size(size: int) -> bytes:
    """An entity whose JSON is exactly `size` bytes long (its value a list of short strings: a single
    string of a megabyte is more than PostgreSQL indexes)."""
    chunks = ["x" * 998] * (size // 1001 - 1)
    bare = orjson.dumps({"id": "Big", "type": "T", "a": {"value": [*chunks, ""]}})
    return orjson.dumps({"id": "Big", "type": "T", "a": {"value": [*chunks, "x" * (size - len(bare))]}})


def test_a_body_of_exactly_the_limit_is_read(client):
    body = entity_of_size(LIMIT)
    assert len(body) == LIMIT
    assert client.post("/v2/entities", content=body, headers=JSON).status_code == 201
    assert client.get("/v2/entities/Big/attrs/a/value").json() == orjson.loads(body)["a"]["value"]


def test_one_byte_more_is_413_with_orions_text(client):
    response = client.post("/v2/entities", content=entity_of_size(LIMIT + 1), headers=JSON)
    assert (response.status_code, response.json()) == (413, {
        "error": "RequestEntityTooLarge", "description": f"payload size: {LIMIT + 1}, max size supported: {LIMIT}"})
    assert client.get("/v2/entities/Big").status_code == 404


def test_the_limit_holds_for_every_body(client):
    big = b"[" + b"1," * LIMIT + b"1]"
    for response in (client.post("/v2/op/update", content=big, headers=JSON),
                     client.put("/v2/entities/E/attrs/a/value", content=b"x" * (LIMIT + 1),
                                headers={"Content-Type": "text/plain"})):
        assert response.status_code == 413
