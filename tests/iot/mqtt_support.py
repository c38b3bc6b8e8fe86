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
from support import free_port


class Device:
    """An MQTT device: publishes measures, records what it receives on its subscriptions."""

    def __init__(self, port: int = 1883, client_id: str | None = None, clean: bool = True,
                 credentials: tuple[str, str] | None = None, ca_file: str | None = None):
        self.received: list[tuple[str, bytes]] = []
        self.connected = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id or f"dev-{uuid.uuid4()}",
                                  clean_session=clean)
        if credentials:
            self.client.username_pw_set(*credentials)
        if ca_file:
            self.client.tls_set(ca_certs=ca_file)
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


class Broker:
    """A Mosquitto of our own (persistence on), so a test can stop and restart it."""

    def __init__(self, credentials: tuple[str, str] | None = None, tls: bool = False):
        self.port = free_port()
        # mosquitto started as root drops to its own user, which cannot enter pytest's 0700 tmp_path
        directory = self.directory = Path(tempfile.mkdtemp(prefix="toshi-mosquitto-"))
        directory.chmod(0o777)
        self.config = directory / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", f"allow_anonymous {'false' if credentials else 'true'}",
                 "persistence true", f"persistence_location {directory}/"]
        if credentials:
            subprocess.run(["mosquitto_passwd", "-c", "-b", str(directory / "passwd"), *credentials], check=True,
                           capture_output=True)
            (directory / "passwd").chmod(0o644)
            lines.append(f"password_file {directory / 'passwd'}")
        if tls:
            self.ca_file = write_certificates(directory)
            lines += [f"certfile {directory / 'server.pem'}", f"keyfile {directory / 'server.key'}"]
        self.config.write_text("\n".join(lines) + "\n")
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


def write_certificates(directory: Path) -> str:
    """A CA and a server certificate for 127.0.0.1 / localhost signed by it; returns the CA file."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Toshi test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
              .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                          x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key = directory / "server.key"
    key.write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    key.chmod(0o644)  # mosquitto reads it as its own user
    return str(directory / "ca.pem")


def forget_session(client_id: str, port: int = 1883) -> None:
    """Remove a persistent session a test left at the broker (it would keep queueing device messages)."""
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    client.connect("127.0.0.1", port, clean_start=True)  # no session expiry: the session ends with this
    client.loop_start()
    time.sleep(0.2)
    client.disconnect()
    client.loop_stop()
