"""IoT agent benchmark: a simulated fleet of devices publishing UltraLight measures over MQTT.

    python3 bench/iot_bench.py [--devices 10000] [--seconds 10] [--rate 1000]

Starts Toshi (its own process, pinned to CPU 0 when taskset exists) with the IoT agent connected to
the Mosquitto on 127.0.0.1:1883, provisions --devices devices, then:

1. throughput: one publisher process sends `t|<value>` (one measure per message, QoS 1) to random
   devices as fast as it can for --seconds; the figure is the rate at which Toshi committed them to
   entity state (the agent's `handled` counter, which moves after the commit);
2. latency at --rate messages/s: each message carries its send time; a client on Toshi's live SSE
   stream (fed after commit) sees the entity change. Latency = seen - sent (same machine, same clock).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as paho

sys.path.insert(0, str(Path(__file__).parent))
from run import HOST, REPO, Server, machine_info, request  # noqa: E402

TENANT = {"Fiware-Service": "bench", "Fiware-ServicePath": "/", "Content-Type": "application/json"}
BROKER = ("127.0.0.1", 1883)


def start_toshi(tmp: Path, client_id: str) -> Server:
    config = tmp / "toshi.toml"
    config.write_text(f'[toshi]\niot_mqtt_url = "mqtt://{BROKER[0]}:{BROKER[1]}"\n'
                      f'iot_mqtt_client_id = "{client_id}"\niot_device_rate = 0\n')
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    cmd = [*pin, sys.executable, "-m", "toshi.cli", "serve", "--config", str(config), "--host", HOST,
           "--port", "{port}", "--data-dir", str(tmp / "data"), "--log-level", "warning"]
    return Server("toshi", cmd, "/version", tmp / "toshi.log").start()


def post(port: int, path: str, body: dict) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=300)
    conn.request("POST", path, body=json.dumps(body), headers=TENANT)
    response = conn.getresponse()
    if response.status != 201:
        raise RuntimeError(f"{path}: HTTP {response.status} {response.read()[:300]!r}")
    conn.close()


def provision(port: int, apikey: str, devices: int) -> float:
    post(port, "/iot/services", {"services": [{"apikey": apikey, "resource": "/iot/d", "entity_type": "Sensor",
                                               "attributes": [{"object_id": "t", "name": "temperature",
                                                               "type": "Number"},
                                                              {"object_id": "s", "name": "sent",
                                                               "type": "Number"}]}]})
    started = time.perf_counter()
    for first in range(0, devices, 500):
        post(port, "/iot/devices", {"devices": [{"device_id": f"d{n}", "transport": "MQTT", "protocol": "IoTA-UL"}
                                                for n in range(first, min(first + 500, devices))]})
    return devices / (time.perf_counter() - started)


def handled(port: int) -> int:
    return json.loads(request(port, "GET", "/admin/iot/status")[2])["mqtt"]["handled"]


def publisher() -> paho.Client:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4()}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(*BROKER)
    client.loop_start()
    return client


def throughput(port: int, apikey: str, devices: int, seconds: float) -> dict:
    """Publish as fast as one process can; the figure is Toshi's commit rate over the run, sampled
    from its counter (the broker drops what exceeds its per-client queue when Toshi falls behind,
    so the count of messages sent is not the measure)."""
    client, before, sent = publisher(), handled(port), 0
    started = time.perf_counter()
    samples = [(started, before)]
    while time.perf_counter() - started < seconds:
        for _ in range(200):
            client.publish(f"/{apikey}/d{random.randrange(devices)}/attrs", f"t|{sent % 40}", qos=1)
            sent += 1
        while len(client._out_messages) > 5_000:  # do not queue without bound in the publisher
            time.sleep(0.001)
        if time.perf_counter() - samples[-1][0] > 1:
            samples.append((time.perf_counter(), handled(port)))
    publish_rate = sent / (time.perf_counter() - started)
    while True:  # until Toshi has drained what reached it
        time.sleep(1)
        samples.append((time.perf_counter(), handled(port)))
        if samples[-1][1] == samples[-2][1]:
            break
    client.disconnect()
    client.loop_stop()
    busy = [s for s, prev in zip(samples[1:], samples) if s[1] > prev[1]]
    done = samples[-1][1] - before
    elapsed = busy[-1][0] - started if busy else float("nan")
    return {"sent": sent, "committed": done, "publish_rate": publish_rate, "rate": done / elapsed,
            "elapsed": elapsed}


class LiveStream(threading.Thread):
    """Reads Toshi's SSE stream and notes when each `sent` value became entity state."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.seen: list[tuple[float, float]] = []
        self.conn = http.client.HTTPConnection(HOST, port, timeout=300)
        self.conn.request("GET", "/ngsi-ld/v1/live/entities?type=Sensor&attrs=sent&options=keyValues",
                          headers={"NGSILD-Tenant": "bench"})
        self.response = self.conn.getresponse()

    def run(self) -> None:
        for line in self.response:
            if line.startswith(b"data: "):
                entity = json.loads(line[6:])["entity"]
                if isinstance(entity.get("sent"), (int, float)):
                    self.seen.append((entity["sent"], time.time()))


def latency(port: int, apikey: str, devices: int, rate: float, seconds: float) -> dict:
    stream = LiveStream(port)
    stream.start()
    client, count = publisher(), int(rate * seconds)
    started = time.perf_counter()
    for n in range(count):
        pause = started + n / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        client.publish(f"/{apikey}/d{random.randrange(devices)}/attrs/s", repr(time.time()), qos=1)
    time.sleep(2)
    client.disconnect()
    client.loop_stop()
    ms = sorted((seen - sent) * 1000 for sent, seen in stream.seen)
    q = statistics.quantiles(ms, n=100) if len(ms) > 1 else [float("nan")] * 99
    return {"offered": rate, "published": count, "observed": len(ms), "p50": q[49], "p99": q[98],
            "max": ms[-1] if ms else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=1000.0, help="messages/s offered in the latency run")
    args = parser.parse_args()
    apikey = f"bench{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="toshi-iot-bench-") as tmp:
        server = start_toshi(Path(tmp), f"toshi-bench-{uuid.uuid4().hex[:8]}")
        try:
            provisioned = provision(server.port, apikey, args.devices)
            time.sleep(1)
            tput = throughput(server.port, apikey, args.devices, args.seconds)
            lat = latency(server.port, apikey, args.devices, args.rate, args.seconds)
        finally:
            server.stop()
    print(f"Machine: {machine_info()}")
    print(f"Command: python3 bench/iot_bench.py --devices {args.devices} --seconds {args.seconds:g} "
          f"--rate {args.rate:g}  (repo {REPO.name})\n")
    print(f"provisioning: {provisioned:,.0f} devices/s (each creates its entity)")
    print(f"throughput: {tput['sent']:,} messages published at {tput['publish_rate']:,.0f}/s, "
          f"{tput['committed']:,} reached Toshi and were committed in {tput['elapsed']:.1f} s: "
          f"{tput['rate']:,.0f} measures/s into entity state")
    print(f"latency at {lat['offered']:,.0f}/s: {lat['observed']:,} of {lat['published']:,} seen; "
          f"p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, max {lat['max']:.1f} ms")


if __name__ == "__main__":
    main()
