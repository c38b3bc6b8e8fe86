"""Constants and small helpers shared by the test suites."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
LD = {"Content-Type": "application/ld+json"}


NGSI = "https://uri.etsi.org/ngsi-ld/"
VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
TERMS = {name: NGSI + name for name in ("location", "observationSpace", "operationSpace")}
INVERSE = {iri: term for term, iri in TERMS.items()}


class TermContext:
    """Test double for toshi.jsonld.context.ActiveContext: a few core terms, @vocab for the rest."""

    def expand_term(self, term: str) -> str:
        if ":" in term:
            return term
        return TERMS.get(term, VOCAB + term)

    def compact_iri(self, iri: str) -> str:
        return INVERSE.get(iri) or iri.removeprefix(VOCAB)

    expand_value = expand_term
    compact_value = compact_iri


def error_type(response) -> str:
    return response.json()["type"].removeprefix(ERRORS)


def free_port() -> int:
    """A TCP port nobody listens on, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _json_or_none(body: bytes):
    """A received body as JSON; None when it is empty or not JSON (a custom text notification)."""
    try:
        return json.loads(body)
    except ValueError:
        return None


class Receiver:
    """A real HTTP notification receiver on 127.0.0.1: records every request (method, path, headers, raw
    body and the body as JSON); can fail on purpose: answer 500 to the first `fail_first` requests, or
    not answer the first `stall_first` at all (until it is closed)."""

    def __init__(self, fail_first: int = 0, status: int = 200, port: int = 0, stall_first: int = 0):
        self.requests: list[dict] = []
        self.fail_first = fail_first
        self.stall_first = stall_first
        self.stalled = 0
        self._released = threading.Event()
        self._lock = threading.Lock()
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    stall = receiver.stalled < receiver.stall_first
                    receiver.stalled += stall
                if stall:
                    receiver._released.wait()
                    return
                failing = receiver.fail_first > 0
                if failing:
                    receiver.fail_first -= 1
                else:
                    receiver.requests.append({"method": self.command, "path": self.path,
                                              "headers": dict(self.headers), "raw": body,
                                              "body": _json_or_none(body)})
                self.send_response(500 if failing else receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_PATCH = do_DELETE = do_GET = do_POST  # noqa: N815 - custom notification methods

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        ThreadingHTTPServer.request_queue_size = 128  # the notifier opens up to 16 connections at once
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        # shutdown() waits for the loop's next poll: 0.5 s by default, for every receiver closed
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    @classmethod
    def on_port(cls, port: int) -> Receiver:
        return cls(port=port)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.requests

    def close(self) -> None:
        self._released.set()
        self.server.shutdown()
        self.server.server_close()


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@contextmanager
def demo_town_server(data_dir: Path, *, seed: int, residents: int):
    """A demo town bootstrapped in `data_dir` and its server running, as `toshi demo` starts them:
    yields (state, base URL, whether MQTT is used). In CI Mosquitto must be there."""
    from toshi.town import demo

    if os.environ.get("CI") and not demo.mqtt_reachable():
        import pytest

        pytest.fail("Mosquitto must run on 127.0.0.1:1883 in CI")
    state = demo.bootstrap(data_dir, seed=seed, residents=residents)
    port, mqtt = demo.free_port(), demo.mqtt_reachable()
    server = demo.start_server(data_dir, port, state, mqtt=mqtt)
    try:
        yield state, f"http://127.0.0.1:{port}", mqtt
    finally:
        demo.stop_server(server)


def require_mosquitto() -> None:
    """Skip when Mosquitto is not on 127.0.0.1:1883 — except in CI, where it must be there."""
    import os
    import socket

    import pytest

    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
    except OSError:
        if os.environ.get("CI"):
            pytest.fail("Mosquitto must run on 127.0.0.1:1883 in CI")
        pytest.skip("Mosquitto is not running on 127.0.0.1:1883")


class FixedAnswer:
    """A real HTTP server on 127.0.0.1 answering every GET and POST with one body (a device's command
    endpoint, an identity provider's JWKS...); `bodies` are the request bodies it received."""

    def __init__(self, body: bytes, content_type: str = "application/json"):
        self.bodies: list[bytes] = []
        answer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802
                answer.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                self.do_GET()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- PostgreSQL: each test gets a schema of its own in the `test` database ----------------------------
PG_SERVER = os.environ.get("TOSHI_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


# TOSHI_TEST_BACKENDS=sqlite (or postgresql) narrows a local run; CI runs both, and PostgreSQL must be there.
BACKENDS = os.environ.get("TOSHI_TEST_BACKENDS", "sqlite,postgresql").split(",")
_postgres_checked: list[bool] = []


def postgres_available() -> bool:
    import psycopg

    try:
        psycopg.connect(PG_SERVER, connect_timeout=2).close()
        return True
    except psycopg.OperationalError:
        return False


def require_postgres() -> None:
    """Skip the test when PostgreSQL is not there, except in CI, where that fails it."""
    import pytest

    if not _postgres_checked:
        _postgres_checked.append(postgres_available())
    if not _postgres_checked[0]:
        message = f"PostgreSQL is not reachable at {PG_SERVER}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


class PgSchema:
    """A fresh schema, and the database URL that puts Toshi in it; `drop()` removes it."""

    def __init__(self):
        import uuid

        import psycopg

        self.name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {self.name}")
        # synchronous_commit=off: commits need not wait for the disk (tests never crash PostgreSQL itself)
        self.url = f"{PG_SERVER}?options=-csearch_path%3D{self.name}%20-csynchronous_commit%3Doff"

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")


def module_settings(request, tmp_path_factory, name: str):
    """Settings for a module-scoped app on the backend the fixture is parametrized with (BACKENDS):
    a data directory of its own and, for PostgreSQL, a fresh schema dropped after the module."""
    from toshi.config import Settings

    schema = None
    if request.param == "postgresql":
        require_postgres()
        schema = PgSchema()
        request.addfinalizer(schema.drop)
    return Settings(data_dir=str(tmp_path_factory.mktemp(name)), database_url=schema.url if schema else "")


class ServerProcess:
    """`toshi serve` in a child process: start, stop gracefully, or kill -9."""

    def __init__(self, data_dir: Path, *extra: str):
        self.data_dir = data_dir
        self.extra = extra  # more `toshi serve` options, e.g. --workers 2 --database-url ...
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        # the server's stderr goes to a file: an unread pipe fills up and then blocks a server that logs
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (open as long as the server object)

    def start(self) -> ServerProcess:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "TOSHI_LOG_LEVEL": "warning"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "toshi.cli", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir),
             *self.extra],
            env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 90  # a loaded machine (CI, shared) may take a while to import
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"server exited: {self.log.read().decode()}")
            try:
                httpx.get(self.url + "/version", timeout=0.5)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not start within 90 s")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
