"""In-process towns for the federation tests: a Toshi app in this process (a TestClient) stands in for a
town's server, reached by the broker under test through one HTTP transport (`Joined`) instead of a
socket, so no test waits for a server process to start. What a real process proves (three towns on
loopback) stays in test_prefecture.py."""

from __future__ import annotations

import asyncio

import httpx
from starlette.testclient import TestClient
from support import free_port

from toshi.app import create_app
from toshi.config import Settings

DROPPED = frozenset({"host", "content-length", "accept-encoding", "content-encoding", "transfer-encoding"})


class Joined(httpx.AsyncBaseTransport):
    """The broker's way to its sources: in-process towns by origin, the network for every other one (the
    small recording servers of the tests)."""

    def __init__(self):
        self.towns: dict[str, TestClient] = {}
        self.network = httpx.AsyncHTTPTransport()

    def join(self, town: TestClient) -> str:
        """Give `town` an origin of its own (a loopback port nobody listens on) and answer it there."""
        origin = f"http://127.0.0.1:{free_port()}"
        self.towns[origin] = town
        return origin

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        town = self.towns.get(f"{request.url.scheme}://{request.url.netloc.decode()}")
        if town is None:
            return await self.network.handle_async_request(request)
        body = await request.aread()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in DROPPED}
        # the town runs on its own TestClient's loop; wait for it in a thread, as for a socket
        answer = await asyncio.to_thread(town.request, request.method, request.url.raw_path.decode(),
                                         headers=headers, content=body)
        return httpx.Response(answer.status_code, content=answer.content,
                              headers=[(k, v) for k, v in answer.headers.items() if k.lower() not in DROPPED])


def join(client: TestClient, joined: Joined) -> TestClient:
    """A broker (an app in a TestClient) that reaches the in-process towns."""
    client.app.state.csources.transport = joined
    return client


def town(joined: Joined, data_dir, name: str, **settings) -> tuple[TestClient, str]:
    """An in-process town (SQLite) named `name` in Via, and its origin; the caller enters the TestClient."""
    app = create_app(Settings(data_dir=str(data_dir), federation_name=name, **settings))
    test_client = TestClient(app, raise_server_exceptions=False)
    return test_client, joined.join(test_client)
