"""A device simulator (paho-mqtt) and a private Mosquitto broker for the IoT agent's MQTT tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as paho


class Device:
    """An MQTT device: publishes measures, records what it receives on its subscriptions."""

    def __init__(self, port: int = 1883, client_id: str | None = None, clean: bool = True):
        self.received: list[tuple[str, bytes]] = []
        self.connected = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id or f"dev-{uuid.uuid4()}",
                                  clean_session=clean)
        self.client.on_connect = lambda c, u, f, rc, p: self.connected.set()
        self.client.on_message = lambda c, u, m: self.received.append((m.topic, m.payload))
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.connected.wait(5), "the simulator could not reach the broker"

    def publish(self, topic: str, payload: str | bytes, qos: int = 1):
        return self.client.publish(topic, payload, qos=qos)

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)
        time.sleep(0.2)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Broker:
    """A Mosquitto of our own (persistence on), so a test can stop and restart it."""

    def __init__(self):
        self.port = free_port()
        # mosquitto started as root drops to its own user, which cannot enter pytest's 0700 tmp_path
        directory = self.directory = Path(tempfile.mkdtemp(prefix="toshi-mosquitto-"))
        directory.chmod(0o777)
        self.config = directory / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                               f"persistence_location {directory}/\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> Broker:
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()  # mosquitto saves its persistent sessions on SIGTERM
            self.proc.wait(10)
            self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
