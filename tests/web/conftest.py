"""Browser tests: Playwright (PyPI) driving Debian's Chromium (never Playwright's own download)
against a real `toshi serve` with authentication on. Screenshots go to test-output/web/ (or
$TOSHI_TEST_OUTPUT), which is not committed. Under CI a missing Chromium or Playwright fails."""

from __future__ import annotations

import contextlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from support import ServerProcess

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
OUTPUT = Path(os.environ.get("TOSHI_TEST_OUTPUT") or Path(__file__).parents[2] / "test-output" / "web")
LD = {"Content-Type": "application/json"}


def require_browser() -> None:
    problem = None
    if not Path(CHROMIUM).exists():
        problem = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "Playwright is not installed (pip install -e '.[test]')"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)


@pytest.fixture(scope="module")
def browser():
    """One Chromium per module. Not per session: sync Playwright keeps its event loop running in this
    thread while it is open, and every later test of the worker (pytest-xdist runs files in any order)
    that calls asyncio.run would fail."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"  # tests only (scripts/refresh-test-assets.sh)
AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
}"""


def serious(page) -> list[dict]:
    """axe-core's violations of serious or critical impact on the page as it is now (the context
    must have AXE as an init script)."""
    return [v for v in page.evaluate(AXE_RUN) if v["impact"] in ("serious", "critical")]


def make_key(data_dir: Path, name: str, role: str) -> str:
    """An API key made the way a town makes one: `toshi key create` (server stopped), run in this
    process (a Python process of its own per key cost a module ~10 s of CPU start-up)."""
    from toshi.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), ThreadPoolExecutor(1) as thread:
        # a thread of its own: Playwright's event loop runs in this one, and the command runs one too
        code = thread.submit(main, ["key", "create", "--name", name, "--role", role, "--data-dir",
                                    str(data_dir)]).result()
    assert code == 0, err.getvalue()
    return out.getvalue().split()[0]


class Town:
    """A running `toshi serve --auth` with an admin, an official (operator) and a consumer key."""

    def __init__(self, data_dir: Path, *extra: str):
        self.admin = make_key(data_dir, "admin", "*:admin")
        self.official = make_key(data_dir, "official", "default:operator")
        self.consumer = make_key(data_dir, "viewer", "default:consumer")
        self.server = ServerProcess(data_dir, "--auth", *extra).start()
        self.url = self.server.url
        self.http = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.admin}"}, timeout=30)

    def create(self, *entities: dict) -> None:
        for start in range(0, len(entities), 1000):
            r = self.http.post("/ngsi-ld/v1/entityOperations/upsert", json=list(entities[start:start + 1000]),
                               headers=LD)
            assert r.status_code in (201, 204), r.text

    def patch(self, entity_id: str, attrs: dict) -> None:
        r = self.http.patch(f"/ngsi-ld/v1/entities/{entity_id}/attrs", json=attrs, headers=LD)
        assert r.status_code == 204, r.text

    def close(self) -> None:
        self.http.close()
        self.server.stop()


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    require_browser()
    town = Town(tmp_path_factory.mktemp("town"))
    yield town
    town.close()


class Visit:
    """One browser context (one visitor): opens pages, records console errors, takes screenshots."""

    def __init__(self, browser, base_url: str, viewport: dict = DESKTOP, locale: str = "ja-JP"):
        self.base_url = base_url
        self.context = browser.new_context(base_url=base_url, viewport=viewport, locale=locale,
                                           timezone_id="Asia/Tokyo")  # a town office's clock
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, path: str):
        self.page.goto(path)
        return self.page

    def login(self, api_key: str, then: str = "/dashboard"):
        self.page.goto(f"/web/login?next={then}")
        self.page.fill("#api-key", api_key)
        self.page.click("form.stack button[type=submit]")
        self.page.wait_for_url(f"**{then}")
        return self.page

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        path = OUTPUT / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, town):
    visits: list[Visit] = []

    def open_visit(viewport: dict = DESKTOP, locale: str = "ja-JP") -> Visit:
        v = Visit(browser, town.url, viewport, locale)
        visits.append(v)
        return v

    yield open_visit
    for v in visits:
        v.close()


def prop(value) -> dict:
    return {"type": "Property", "value": value}


def shelter(n: int, capacity: int, evacuees: int, lon: float, lat: float, **extra) -> dict:
    entity = {"id": f"urn:ngsi-ld:EvacuationShelter:{n:03d}", "type": "EvacuationShelter",
              "name": {"type": "Property", "value": f"避難所{n}"},
              "capacity": {"type": "Property", "value": capacity},
              "evacueeTotal": {"type": "Property", "value": evacuees},
              "openingStatus": {"type": "Property", "value": "open"},
              "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}}
    entity.update({k: {"type": "Property", "value": v} for k, v in extra.items()})
    return entity


# -- a resident, their care record (declared personal data) and the care service asking for consent --

RESIDENT = "urn:ngsi-ld:Person:hanako"
PASSWORD = "correct horse battery"
RECORD = "urn:ngsi-ld:CareRecord:hanako"
PURPOSE = "care-planning"


class Provider:
    """The town's care service: an API-key account (an operator, not an administrator: it reads
    personal data only as residents consent) reading for one purpose."""

    def __init__(self, town):
        r = town.http.post("/admin/auth/accounts", json={"name": "care-service", "roles": ["default:operator"]})
        assert r.status_code == 201, r.text
        self.id, self.key = r.json()["account"]["id"], r.json()["apiKey"]
        self.http = httpx.Client(base_url=town.url, timeout=30,
                                 headers={"Authorization": f"Bearer {r.json()['apiKey']}", "Toshi-Purpose": PURPOSE})

    def read(self) -> httpx.Response:
        return self.http.get(f"/ngsi-ld/v1/entities/{RECORD}", params={"options": "keyValues"})


@pytest.fixture(scope="module")
def provider(town):
    admin = town.http
    for path, body in (
            ("/admin/auth/residents", {"id": RESIDENT, "name": "豊能 花子", "assurance": "office-id-document",
                                       "password": PASSWORD}),
            ("/admin/auth/clients", {"name": "町ポータル", "redirect_uris": [town.url + "/portal/callback"]}),
            ("/consent/declarations", {"id": "care", "type": "CareRecord", "subject": "resident",
                                       "entityPersonal": True,
                                       "attributes": {"careLevel": "sensitive", "phone": "personal",
                                                      "resident": "personal"}}),
            ("/admin/auth/policies", {"effect": "allow", "principals": ["*"], "actions": ["read"],
                                      "types": ["ConsentNotice"]})):
        r = admin.post(path, json=body)
        assert r.status_code == 201, r.text
    care = Provider(town)
    town.create(
        {"id": "urn:ngsi-ld:ConsentNotice:care", "type": "ConsentNotice", "recipient": prop(care.id),
         "recipientName": prop("豊能町 介護サービス"), "purpose": prop(PURPOSE), "purposeName": prop("介護の計画づくり"),
         "description": prop("ケアマネジャーが介護の計画を立てるために使います。"),
         "categories": prop(["personal", "sensitive"]),
         "attributeNames": prop({"careLevel": "要介護度", "phone": "電話番号", "resident": "住民ID"})},
        {"id": RECORD, "type": "CareRecord", "resident": prop(RESIDENT), "careLevel": prop(3),
         "phone": prop("072-000-0000")})
    yield care
    care.http.close()


def resident_sign_in(visit, then: str, **options):
    """A resident's browser opening a my-data page: sent to the sign-in form, then back."""
    v = visit(**options)
    page = v.open(then)
    page.fill("#resident-id", RESIDENT)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{then}")
    page.wait_for_selector("body[data-loaded=true]", state="attached")
    return v, page
