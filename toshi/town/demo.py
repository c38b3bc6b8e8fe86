"""`toshi demo`: Toshi with the demo town loaded, its services and the simulator running.

The server is `toshi serve --auth` in a child process over the demo's data directory; the town is
loaded, the evacuation service and the simulator run in this process, and all of them reach the
server only through HTTP (and MQTT), with their own keys. The demo's state (the administrator's
key, the services' keys, the town's seed and size, the simulated clock) is kept in
`<data dir>/town-demo.json` (mode 0600), so running the demo again resumes where it stopped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from toshi.core.progress import Progress
from toshi.town import loader, ondemand, watchers, wellbeing
from toshi.town.client import Api
from toshi.town.entities import basemap_layers
from toshi.town.evacuation import PURPOSE, EvacuationService
from toshi.town.generate import generate
from toshi.town.simulator import Simulator

STATE_FILE = "town-demo.json"


def log(message: str) -> None:
    print(f"toshi demo: {message}", file=sys.stderr, flush=True)


def mqtt_reachable(host: str = "127.0.0.1", port: int = 1883) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- state ------------------------------------------------------------------------------------------

def read_state(data_dir: Path) -> dict | None:
    path = data_dir / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else None


def write_state(data_dir: Path, state: dict) -> None:
    path = data_dir / STATE_FILE
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(json.dumps(state, ensure_ascii=False, indent=1))


def bootstrap(data_dir: Path, seed: int, residents: int) -> dict:
    """A new demo directory: the administrator's API key (made with `toshi key create` on the stopped
    server's data, as an operator would) and the demo's fixed choices."""
    data_dir.mkdir(parents=True, exist_ok=True)
    made = subprocess.run([sys.executable, "-m", "toshi.cli", "key", "create", "--name", "town-admin",
                           "--role", "*:admin", "--data-dir", str(data_dir)],
                          capture_output=True, text=True, check=True)
    state = {"seed": seed, "residents": residents, "adminKey": made.stdout.strip(),
             "prefix": f"town{secrets.token_hex(3)}", "servicePort": free_port(), "loaded": False}
    write_state(data_dir, state)
    return state


def write_basemap(data_dir: Path, town) -> None:
    """The maps' base layers in `<data dir>/basemap/` (docs/web.md): the town's districts and roads, so
    its points are seen on its own ground on a closed network (the server reads them on each page)."""
    folder = data_dir / "basemap"
    folder.mkdir(exist_ok=True)
    for name, layer in basemap_layers(town).items():
        (folder / f"{name}.geojson").write_text(json.dumps(layer))


# -- the server ---------------------------------------------------------------------------------------

def start_server(data_dir: Path, port: int, state: dict, *, mqtt: bool) -> subprocess.Popen:
    import httpx

    env = {**os.environ, "TOSHI_OUTBOUND_ALLOW": "127.0.0.1", "TOSHI_LOG_LEVEL": "warning",
           "TOSHI_WATCHOVER_CLOCK": "devices"}  # watch-over measures quiet spells in the simulated time
    if mqtt:
        env.update(TOSHI_IOT_MQTT_URL="mqtt://127.0.0.1:1883", TOSHI_IOT_MQTT_CLIENT_ID=f"toshi-{state['prefix']}")
    process = subprocess.Popen([sys.executable, "-m", "toshi.cli", "serve", "--auth", "--port", str(port),
                                "--data-dir", str(data_dir)], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/version", timeout=0.5)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("the server did not start within 60 s")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


# -- the town on the server ---------------------------------------------------------------------------

class DemoTown:
    """The town's programs against a running server: loading (once), the services, the simulator."""

    def __init__(self, base: str, data_dir: Path, state: dict, *, speed: float, mqtt: bool,
                 start: datetime | None = None, tick_seconds: float = 0.5):
        self.base, self.data_dir, self.state = base, data_dir, state
        self.speed, self.mqtt, self.start_time, self.tick_seconds = speed, mqtt, start, tick_seconds
        self.town = generate(state["seed"], state["residents"])
        self.figures: dict = {}
        self.admin = self.evacuation = self.simulator = self.bus = None

    async def setup(self) -> None:
        await self.load()
        await self.start_services()

    async def load(self) -> None:
        """The town and the services' set-up on the server, each step once (state file)."""
        self.admin = Api(self.base, self.state["adminKey"], timeout=120)
        write_basemap(self.data_dir, self.town)
        checkpoint = loader.Checkpoint(self.state, lambda: write_state(self.data_dir, self.state))
        if not self.state["loaded"]:  # step by step; an interrupted load goes on where it stopped
            started = time.perf_counter()
            with Progress(sys.stderr) as progress:  # a bar on a terminal, plain lines in a log
                self.figures = await loader.load(self.admin, self.town, checkpoint, progress=progress)
            self.figures["totalSeconds"] = round(time.perf_counter() - started, 2)
            self.state["loaded"] = True
            self.state["figures"] = self.figures
            write_state(self.data_dir, self.state)
        self.admin.context = self.state["context"]
        # the services' set-up (a town loaded before one of them came gets it on its next start)
        if "watched" not in self.state:
            self.state["watched"] = await watchers.set_up(self.admin, self.town, checkpoint)
            write_state(self.data_dir, self.state)
        if "ondemand" not in self.state:
            self.state["ondemand"] = await ondemand.set_up(self.admin, self.town, checkpoint)
            write_state(self.data_dir, self.state)
        if "wellbeing" not in self.state:
            self.state["wellbeing"] = await wellbeing.set_up(self.admin, self.town, self.base, checkpoint)
            write_state(self.data_dir, self.state)
        if "research" not in self.state:
            self.state["research"] = await wellbeing.extract_for_research(self.admin, self.town,
                                                                          self.data_dir / "extracts", checkpoint)
            write_state(self.data_dir, self.state)
        self.state["partial"] = {}  # what the steps made is in their results now
        write_state(self.data_dir, self.state)

    async def start_services(self) -> None:
        service = Api(self.base, self.state["accounts"]["evacuation"]["key"], purpose=PURPOSE,
                      context=self.state["context"], timeout=120)
        self.evacuation = EvacuationService(service, port=self.state["servicePort"])
        await self.evacuation.start()
        clock = datetime.fromisoformat(self.state["clock"]) if self.state.get("clock") else self.start_time
        self.simulator = Simulator(self.admin, self.town, speed=self.speed, start=clock,
                                   apikey_prefix=self.state["prefix"], mqtt_host="127.0.0.1" if self.mqtt else None,
                                   tick_seconds=self.tick_seconds)
        self.bus = ondemand.BusWorld(self.town, self.base, self.state["ondemand"]["operator"]["key"],
                                     self.state["context"])
        self.simulator.worlds += [watchers.WatchWorld(self.town, self.state["prefix"]), self.bus,
                                  wellbeing.CurrencyWorld(self.town, self.state["wellbeing"])]
        await self.simulator.provision()
        await self.simulator.resume()

    async def run(self, until: datetime | None = None) -> None:
        saver = asyncio.get_running_loop().create_task(self._save_clock())
        try:
            await self.simulator.run(until)
        finally:
            saver.cancel()
            self._remember_clock()

    async def _save_clock(self) -> None:
        while True:
            await asyncio.sleep(5)
            self._remember_clock()

    def _remember_clock(self) -> None:
        self.state["clock"] = self.simulator.now.isoformat()
        write_state(self.data_dir, self.state)

    async def close(self) -> None:
        if self.simulator is not None:
            self.simulator.stop()
        if self.bus is not None:
            await self.bus.close()
        if self.evacuation is not None:
            await self.evacuation.stop()
            await self.evacuation.api.close()
        if self.admin is not None:
            await self.admin.close()


# -- the command --------------------------------------------------------------------------------------

def run(args) -> int:
    data_dir = Path(args.data_dir or "toshi-demo")
    if args.reset and data_dir.exists():
        shutil.rmtree(data_dir)
        log(f"removed {data_dir}: starting over")
    state = read_state(data_dir)
    if state is None:
        state = bootstrap(data_dir, args.seed, args.residents)
    elif (args.residents, args.seed) != (state["residents"], state["seed"]) and args.residents_given:
        log(f"resuming the town of {data_dir} ({state['residents']} residents, seed {state['seed']}); "
            "use --reset to make another")
    mqtt = mqtt_reachable()
    if not mqtt:
        log("no MQTT broker on 127.0.0.1:1883: the simulator's devices publish over HTTP only")
    port = args.port
    signal.signal(signal.SIGTERM, _interrupted)  # stopped by a service manager: stop as on Ctrl-C
    server = start_server(data_dir, port, state, mqtt=mqtt)
    base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(_main(base, data_dir, state, args.speed, mqtt))
    except KeyboardInterrupt:
        pass
    finally:
        stop_server(server)
    return 0


def _interrupted(signum, frame) -> None:
    """SIGTERM as Ctrl-C: the server is stopped and the clock saved, instead of a server left running."""
    raise KeyboardInterrupt


async def _main(base: str, data_dir: Path, state: dict, speed: float, mqtt: bool) -> None:
    town = DemoTown(base, data_dir, state, speed=speed, mqtt=mqtt)
    loading = not state["loaded"]
    if loading:
        log(f"loading the town ({state['residents']} residents, seed {state['seed']}) through the API ...")
    try:
        await town.setup()
        if loading:
            log(f"loaded: {json.dumps(town.figures)}")
        _announce(base, state, town)
        with contextlib.suppress(asyncio.CancelledError):
            await town.run()
    finally:
        await town.close()


def _announce(base: str, state: dict, town: DemoTown) -> None:
    print(f"""
Toshi demo town: {state['residents']} residents (seed {state['seed']}), simulated day from {town.simulator.now:%H:%M}
at {town.speed:g}x; devices over {town.simulator.southbound}.
  portal     {base}/portal
  dashboard  {base}/dashboard      disaster HQ: {base}/dashboard/hq
  NGSI-LD    {base}/ngsi-ld/v1/entities?type=EvacuationShelter
  見守り     {base}/ngsi-ld/v1/entities/urn:ngsi-ld:WatchOverService:watchover   ({state.get('watched', 0)} residents watched)
  バス       {base}/ngsi-ld/v1/entities/urn:ngsi-ld:OnDemandService:mobility   (on-demand bus, planned at 07:30)
  地域通貨   {base}/ngsi-ld/v1/entities/urn:ngsi-ld:LocalCurrencyLedger:town   ({state.get('wellbeing', {}).get('checkups', 0)} check-ups, points granted)
  研究抽出   {state.get('research', {}).get('savedIn', '-')}   ({state.get('research', {}).get('counts', {}).get('released', 0)} check-ups, pseudonymous, k-anonymous)
  NGSI-v2    {base}/v2/entities
  @context   {state['context']}
  admin key  {state['adminKey']}   (sign in to the dashboard with it; kept in {STATE_FILE})
Ctrl-C stops; `toshi demo` again resumes, `toshi demo --reset` starts over.
""", flush=True)
