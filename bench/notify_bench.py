"""Notification benchmark: update rate and write-to-receipt latency with 0, 1 and 100 subscriptions.

    python3 bench/notify_bench.py [--rate 2000] [--seconds 10]

Starts Toshi and a notification receiver (both separate processes on 127.0.0.1), creates 1,000
Shelters, then for each case: (1) the most updates/s a closed loop of 32 connections gets, and (2)
latency at a fixed offered rate (--rate): the time from the moment the update's 204 reached the
client to the moment the receiver had the notification (same machine, same clock). With 100
subscriptions each watches its own 10 entities, so every update fires exactly one notification.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from run import HOST, free_port, load, machine_info, request, toshi_server  # noqa: E402

NGSI = "/ngsi-ld/v1"
ENTITIES = 1000
CONNECTIONS = 32


def shelter(n: int) -> dict:
    return {"id": f"urn:ngsi-ld:Shelter:{n}", "type": "Shelter",
            "occupancy": {"type": "Property", "value": 0},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [135.47, 34.82]}}}


# -- the receiver (a separate process: python3 bench/notify_bench.py --receiver PORT OUT) ------------

async def _serve_receiver(port: int, out: str) -> None:
    received: list[tuple[str, int, float]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                body = orjson.loads(await reader.readexactly(length))
                now = time.time()
                for entity in body["data"]:
                    received.append((entity["id"], entity["occupancy"]["value"], now))
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def dump(*_):
        Path(out).write_bytes(orjson.dumps(received))
        os._exit(0)

    signal.signal(signal.SIGTERM, dump)
    server = await asyncio.start_server(handle, HOST, port, backlog=512)
    async with server:
        await server.serve_forever()


# -- the load generator -------------------------------------------------------------------------

async def _drive(port: int, seconds: float, rate: float | None, first_value: int) -> dict:
    """PATCH occupancy on random entities; returns {(id, value): ack time} and the achieved rate."""
    acks: dict[tuple[str, int], float] = {}
    counter = [first_value]
    deadline = time.perf_counter() + seconds

    async def connection(k: int) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        interval = CONNECTIONS / rate if rate else 0.0
        next_at = time.perf_counter() + k * interval / CONNECTIONS
        while time.perf_counter() < deadline:
            if interval:
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += interval
            counter[0] += 1
            value = counter[0]
            entity_id = f"urn:ngsi-ld:Shelter:{value * 7919 % ENTITIES}"
            body = b'{"value": %d}' % value
            writer.write(b"PATCH %s/entities/%s/attrs/occupancy HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                         % (NGSI.encode(), entity_id.encode(), len(body), body))
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 204"):
                raise RuntimeError(f"update failed: {head[:100]!r}")
            acks[(entity_id, value)] = time.time()
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection(k) for k in range(CONNECTIONS)))
    return {"acks": acks, "rate": len(acks) / (time.perf_counter() - started), "last": counter[0]}


def drive(port: int, seconds: float, rate: float | None, first_value: int) -> dict:
    return asyncio.run(_drive(port, seconds, rate, first_value))


# -- scenarios ------------------------------------------------------------------------------------

def subscribe(port: int, receiver: str, count: int) -> None:
    for k in range(count):
        if count == 1:
            entities = [{"type": "Shelter"}]
        else:
            entities = [{"id": f"urn:ngsi-ld:Shelter:{n}", "type": "Shelter"} for n in range(k, ENTITIES, count)]
        sub = {"type": "Subscription", "entities": entities, "watchedAttributes": ["occupancy"],
               "notification": {"attributes": ["occupancy"], "endpoint": {"uri": receiver}}}
        status, _, body = request(port, "POST", NGSI + "/subscriptions", json.dumps(sub).encode())
        if status != 201:
            raise RuntimeError(f"subscription failed: {status} {body[:200]!r}")


def latencies(acks: dict, received: list) -> list[float]:
    arrived = {(entity_id, value): at for entity_id, value, at in received}
    return [max(0.0, arrived[key] - at) * 1000 for key, at in acks.items() if key in arrived]


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=1000)[int(p * 10) - 1] if len(values) > 1 else float("nan")


def run_case(subscriptions: int, rate: float, seconds: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="toshi-notify-bench-") as tmp:
        server = toshi_server(Path(tmp) / "data", []).start()
        receiver_port, out = free_port(), str(Path(tmp) / "received.json")
        receiver = subprocess.Popen([sys.executable, __file__, "--receiver", str(receiver_port), out])
        try:
            load(server.port, shelter, ENTITIES)
            subscribe(server.port, f"http://{HOST}:{receiver_port}/notify", subscriptions)
            opened = drive(server.port, seconds, rate, 0)
            time.sleep(2)  # let the last notifications arrive before the closed-loop run piles up more
            closed = drive(server.port, seconds, None, opened["last"])
        finally:
            receiver.send_signal(signal.SIGTERM)
            receiver.wait(10)
            server.stop()
        received = orjson.loads(Path(out).read_bytes()) if Path(out).exists() else []
        lat = latencies(opened["acks"], received)
        expected = len(opened["acks"]) if subscriptions else 0
        return {"subscriptions": subscriptions, "max_rate": closed["rate"], "offered": rate,
                "achieved": opened["rate"], "notified": len(lat), "expected": expected,
                "p50": percentile(lat, 50), "p99": percentile(lat, 99)}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--receiver":
        asyncio.run(_serve_receiver(int(sys.argv[2]), sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2000.0, help="offered updates/s for the latency run")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    results = [run_case(n, args.rate, args.seconds) for n in (0, 1, 100)]
    info = machine_info()
    print(f"Machine: {info}")
    print(f"Command: python3 bench/notify_bench.py --rate {args.rate:g} --seconds {args.seconds:g}\n")
    print("| subscriptions | max updates/s | offered/s | achieved/s | notified / expected | p50 ms | p99 ms |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['subscriptions']} | {r['max_rate']:,.0f} | {r['offered']:,.0f} | {r['achieved']:,.0f} | "
              f"{r['notified']:,} / {r['expected']:,} | {r['p50']:.1f} | {r['p99']:.1f} |")
    base = results[0]["max_rate"]
    for r in results[1:]:
        print(f"\nwith {r['subscriptions']} subscription(s): {r['max_rate'] / base:.0%} of the rate without")


if __name__ == "__main__":
    main()
