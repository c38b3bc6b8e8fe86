"""A TCP proxy in a thread, for taking a shared service (Mosquitto) away from one Toshi without
stopping it for the others: `close()` stops listening and cuts every connection, `open()` listens
again on the same port."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._running.set()
        self._thread = threading.Thread(target=self._serve, name="tcp-proxy", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening and cut every connection (as if the service went away)."""
        self._running.clear()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            for a, b in self._pairs:
                for end in (a, b):
                    with contextlib.suppress(OSError):
                        end.shutdown(socket.SHUT_RDWR)
                    end.close()
            self._pairs.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ, None)
        peers: dict[socket.socket, socket.socket] = {}
        while self._running.is_set():
            for key, _ in selector.select(0.05):
                if key.data is None:
                    with contextlib.suppress(BlockingIOError):
                        client, _ = self._listener.accept()
                        upstream = socket.create_connection(self.target, timeout=5)
                        for end in (client, upstream):
                            end.setblocking(False)
                        peers[client], peers[upstream] = upstream, client
                        with self._lock:
                            self._pairs.append((client, upstream))
                        selector.register(client, selectors.EVENT_READ, "pipe")
                        selector.register(upstream, selectors.EVENT_READ, "pipe")
                    continue
                source = key.fileobj
                try:
                    data = source.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                other = peers.get(source)
                if not data or other is None:
                    for end in (source, other):
                        if end is not None:
                            with contextlib.suppress(KeyError, ValueError):
                                selector.unregister(end)
                            end.close()
                            peers.pop(end, None)
                    continue
                with contextlib.suppress(OSError):
                    other.setblocking(True)
                    other.sendall(data)
                    other.setblocking(False)
        selector.close()
