"""The watch-over service inside a running Toshi: it reads only through the one read path, as its own
identity (SERVICE_ID) for its purpose (PURPOSE), and writes its alerts only through the one write path.

* A write listener notes which watched entities changed (their ids and types only: nothing personal
  is taken from the change itself), and wakes the service.
* The service then reads those entities through the read path (`ReadPath.guard_for` +
  `reading_as`): the consent layer shows it an enrolment, a beacon or a home sensor only when the
  person they are about holds a consent in force for SERVICE_ID and PURPOSE, and notes every read in
  that person's access log. Anyone else's entities are invisible to it — default deny.
* Findings become `WatchOverAlert` entities naming the watcher (whose own consent lets them read it)
  and the tenant's `WatchOverService` entity says, without personal data, how many people are
  watched and how many alerts were raised (for the HQ and dashboard pages).
* In a tenant that has not declared the service's types as personal data (rules.DECLARATIONS) the
  service reads nothing: without declarations the read path would hide nothing.

Time: `wall` (the server's clock), or `devices` for a simulated town (the demo): the latest
observation any watched device reported, plus the real time since (setting `watchover_clock`); until a
device has reported, a `devices` clock does not know the time, and the status has no `updatedAt`
(never the server's own time, which a simulated town does not live in)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from toshi.consent import RecipientView
from toshi.core.access import Reader, current_actor
from toshi.core.entity import new_entity, upsert
from toshi.core.errors import AlreadyExists
from toshi.core.times import now_iso
from toshi.formats.ngsild_parse import parse_entity
from toshi.jsonld.context import core_context
from toshi.query.planner import EntityQuery
from toshi.query.typeexpr import TypeName
from toshi.watchover import rules
from toshi.watchover.rules import (
    BEACON,
    DECLARATIONS,
    ENROLMENT,
    HOME_SENSOR,
    PURPOSE,
    SERVICE_ID,
    STATUS,
    Enrolment,
    Finding,
)

log = logging.getLogger("toshi.watchover")
CHECK_SECONDS = 5.0       # quiet spells are checked this often
RELOAD_SECONDS = 300.0    # every enrolment read afresh this often (changes made by other processes)
PAGE = 1000
CLOCKS = ("wall", "devices")
WATCHED = {rules.iri(ENROLMENT): ENROLMENT, rules.iri(BEACON): BEACON, rules.iri(HOME_SENSOR): HOME_SENSOR}


@dataclass(frozen=True)
class ServiceIdentity:
    """The principal the service reads and writes as: a consumer and provider in each tenant, never an
    official (so the consent layer hides from it whatever no consent releases)."""

    id: str = SERVICE_ID
    kind: str = "service"
    name: str = "watch-over"
    acr: str = ""
    groups: frozenset = frozenset()
    granted: frozenset = frozenset({"consumer", "provider"})

    @property
    def roles(self) -> dict:
        return {"*": self.granted}

    def roles_in(self, tenant: str) -> frozenset:
        return self.granted


IDENTITY = ServiceIdentity()


@dataclass
class TenantWatch:
    enrolments: dict[str, Enrolment] = field(default_factory=dict)
    by_device: dict[str, set[str]] = field(default_factory=dict)
    last: dict[str, datetime | None] = field(default_factory=dict)
    outside: dict[str, bool] = field(default_factory=dict)
    device_time: tuple[datetime, datetime] | None = None   # (latest observation, wall clock when seen)
    invalid: int = 0
    raised: Counter = field(default_factory=Counter)
    shown: tuple | None = None                              # the status last written, and whether timed


class WatchOver:
    def __init__(self, services, clock: str = "wall"):
        if clock not in CLOCKS:
            raise ValueError(f"setting watchover_clock must be one of {', '.join(CLOCKS)}, not {clock!r}")
        self.services, self.store, self.writer = services, services.store, services.writer
        self.read_path, self.clock = services.read_path, clock
        self.wall = lambda: datetime.now(UTC)
        self.tenants: dict[str, TenantWatch] = {}
        self.changed: dict[str, set[str]] = {}
        self.reload: set[str] = set()
        self.undeclared: set[str] = set()
        self.known: set[str] = set()                 # tenants seen
        self.sights: dict[str, tuple] = {}           # tenant -> the read path's layers it last read with
        self.lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    # -- the write listener -----------------------------------------------------------------------

    def noticed(self, tx, changes) -> None:
        """Inside a write transaction: note the watched entities that changed (ids only)."""
        found = False
        for change in changes:
            state = change.after if change.after is not None else change.before
            if state is None:
                continue
            kinds = {WATCHED[t] for t in state.get("type", ()) if t in WATCHED}
            if not kinds:
                continue
            found = True
            self.known.add(change.tenant)
            if ENROLMENT in kinds:
                self.reload.add(change.tenant)
            else:
                self.changed.setdefault(change.tenant, set()).add(change.entity_id)
        if found and self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # -- the background task ----------------------------------------------------------------------

    async def run(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        self.known.update(await self.store.tenants())
        reloaded = self._loop.time()
        while True:
            try:
                if self.store.leader("watchover"):  # one process of several on one database checks
                    await self.check()
            except Exception:
                log.exception("watch-over: a check failed")
            try:
                await asyncio.wait_for(self._wake.wait(), CHECK_SECONDS)
            except TimeoutError:
                pass
            self._wake.clear()
            if self._loop.time() - reloaded > RELOAD_SECONDS:
                self.reload.update(self.tenants)
                reloaded = self._loop.time()

    async def check(self) -> None:
        """One round: enrolments changed, devices changed, quiet spells."""
        async with self.lock:
            mark = current_actor.set({"principal": SERVICE_ID, "request": None})
            try:
                for tenant in sorted(self.known):  # a consent, declaration or rule changed: read afresh
                    sight = _layers(self._guard(tenant))
                    previous = self.sights.get(tenant)
                    if previous is None or len(previous) != len(sight) or any(a is not b for a, b in zip(previous, sight)):
                        self.reload.add(tenant)
                        self.sights[tenant] = sight
                reload, self.reload = self.reload, set()
                for tenant in sorted(reload):
                    await self._load(tenant)
                changed, self.changed = self.changed, {}
                for tenant, ids in changed.items():
                    if tenant in self.tenants:
                        await self._devices_changed(tenant, ids)
                for tenant in list(self.tenants):
                    await self._quiet(tenant)
                    await self._show(tenant)
            finally:
                current_actor.reset(mark)

    # -- reading through the read path -------------------------------------------------------------

    def _guard(self, tenant: str):
        return self.read_path.guard_for(Reader(IDENTITY, tenant, PURPOSE))

    def declared(self, tenant: str) -> bool:
        """Whether the tenant declared every type of the service as personal data."""
        consent = getattr(self.services.features.get("consent"), "service", None)
        if consent is None:
            return False
        view = RecipientView(consent, self.store, tenant, SERVICE_ID, PURPOSE)
        return all((d := view.declared(doc["type"])) is not None and d.entity_personal for doc in DECLARATIONS)

    async def _read(self, tenant: str, entity_id: str | None) -> dict | None:
        if not entity_id:
            return None
        with self.read_path.reading_as(self._guard(tenant)):
            return await self.store.get_entity(tenant, entity_id)

    async def _enrolment_entities(self, tenant: str) -> list[dict]:
        found, offset = [], 0
        with self.read_path.reading_as(self._guard(tenant)):
            while True:
                page, _ = await self.store.query_entities(
                    tenant, EntityQuery(types=TypeName(rules.iri(ENROLMENT)), limit=PAGE, offset=offset))
                found.extend(e for e in page if e is not None)
                if len(page) < PAGE:
                    return found
                offset += PAGE

    async def _load(self, tenant: str) -> None:
        if not self.declared(tenant):
            self.tenants.pop(tenant, None)
            if tenant not in self.undeclared:
                self.undeclared.add(tenant)
                if await self._has_enrolment_type(tenant):
                    log.warning("watch-over: tenant %r has enrolments but has not declared %s as personal "
                                "data: the service reads nothing there", tenant,
                                ", ".join(d["type"] for d in DECLARATIONS))
            return
        self.undeclared.discard(tenant)
        old = self.tenants.get(tenant)
        watch = TenantWatch()
        if old is not None:
            watch.outside, watch.device_time, watch.raised, watch.shown = (old.outside, old.device_time,
                                                                            old.raised, old.shown)
        for entity in await self._enrolment_entities(tenant):
            if not rules.is_active(entity):
                continue
            try:
                enrolled = rules.enrolment(entity)
            except ValueError as exc:
                watch.invalid += 1
                log.warning("watch-over: enrolment %s is not watched: %s", entity["id"], exc)
                continue
            watch.enrolments[enrolled.id] = enrolled
            for device in (enrolled.beacon, enrolled.home_sensor):
                if device:
                    watch.by_device.setdefault(device, set()).add(enrolled.id)
        self.tenants[tenant] = watch
        for enrolled in watch.enrolments.values():
            await self._evaluate(tenant, watch, enrolled)

    async def _has_enrolment_type(self, tenant: str) -> bool:
        """Whether the type exists at all in the tenant (its name, not its entities: nothing is read)."""
        return rules.iri(ENROLMENT) in await self.store.entity_types(tenant)

    # -- the rules --------------------------------------------------------------------------------

    async def _devices_changed(self, tenant: str, ids: set[str]) -> None:
        watch = self.tenants[tenant]
        for enrolment_id in sorted({e for device in ids for e in watch.by_device.get(device, ())}):
            enrolled = watch.enrolments.get(enrolment_id)
            if enrolled is not None:
                await self._evaluate(tenant, watch, enrolled)

    async def _evaluate(self, tenant: str, watch: TenantWatch, enrolled: Enrolment) -> None:
        beacon = await self._read(tenant, enrolled.beacon)
        sensor = await self._read(tenant, enrolled.home_sensor)
        if not self._about(beacon, enrolled, "wearer") or not self._about(sensor, enrolled, "resident"):
            log.warning("watch-over: a device of enrolment %s is about someone else: not watched", enrolled.id)
            watch.enrolments.pop(enrolled.id, None)
            return
        last = rules.last_activity(beacon, sensor)
        watch.last[enrolled.id] = last
        if last is not None:
            self._saw(watch, last)
        findings = [f for f in (rules.fall(beacon), rules.fall(sensor)) if f is not None]
        if beacon is not None:
            out = rules.outside(enrolled, beacon)
            if out is True and watch.outside.get(enrolled.id) is not True:
                findings.append(Finding("outOfArea", rules.observed(beacon, "location"),
                                        rules.value(beacon, "location")))
            if out is not None:
                watch.outside[enrolled.id] = out
        for finding in findings:
            self._saw(watch, finding.evidence_at)
            await self._raise(tenant, watch, enrolled, finding)

    @staticmethod
    def _about(device: dict | None, enrolled: Enrolment, subject_attr: str) -> bool:
        """A device counts for an enrolment only when it is about the person watched."""
        return device is None or rules.value(device, subject_attr) == enrolled.watched

    async def _quiet(self, tenant: str) -> None:
        watch = self.tenants[tenant]
        now = self.now(tenant)
        for enrolled in list(watch.enrolments.values()):
            finding = rules.quiet(enrolled, watch.last.get(enrolled.id), now)
            if finding is None:
                continue
            if await self._read(tenant, enrolled.id) is None:  # consent withdrawn since: stop watching
                watch.enrolments.pop(enrolled.id, None)
                continue
            await self._raise(tenant, watch, enrolled, finding)

    def _saw(self, watch: TenantWatch, moment: datetime | None) -> None:
        if moment is None or self.clock != "devices":
            return
        if watch.device_time is None or moment > watch.device_time[0] + (self.wall() - watch.device_time[1]):
            watch.device_time = (moment, self.wall())

    def now(self, tenant: str) -> datetime:
        return self.known_now(tenant) or self.wall()

    def known_now(self, tenant: str) -> datetime | None:
        """The service's time; None while a `devices` clock has heard from no device."""
        watch = self.tenants.get(tenant)
        if self.clock == "wall":
            return self.wall()
        if watch is None or watch.device_time is None:
            return None
        seen, at = watch.device_time
        return seen + (self.wall() - at)

    # -- writing through the write path -----------------------------------------------------------

    async def _raise(self, tenant: str, watch: TenantWatch, enrolled: Enrolment, finding: Finding) -> None:
        payload = rules.alert_payload(enrolled, finding, self.now(tenant).strftime("%Y-%m-%dT%H:%M:%SZ"))
        now = now_iso()
        parsed = parse_entity(payload, core_context(), now=now)

        def create(before):
            if before is not None:
                raise AlreadyExists(f"{parsed['id']} was raised before")
            return new_entity(parsed, now)

        with self.read_path.reading_as(self._guard(tenant)):
            outcome = (await self.writer.apply(tenant, [(parsed["id"], create)]))[0]
        if outcome.error is None:
            watch.raised[finding.kind] += 1
            log.info("watch-over: %s alert %s", finding.kind, parsed["id"])
        elif not isinstance(outcome.error, AlreadyExists):
            log.warning("watch-over: alert %s not written: %s", parsed["id"], outcome.error)

    async def _show(self, tenant: str) -> None:
        """The tenant's WatchOverService entity: counts only, no personal data."""
        watch = self.tenants[tenant]
        shown = {"watchedResidents": len(watch.enrolments), "invalidEnrolments": watch.invalid,
                 "alertsRaised": sum(watch.raised.values()),
                 **{f"{kind}Alerts": watch.raised[kind] for kind in rules.KINDS}}
        clock = self.known_now(tenant)
        if (shown, clock is not None) == watch.shown:  # written once more when the clock becomes known
            return
        now = now_iso()
        payload = {"id": f"urn:ngsi-ld:{STATUS}:watchover", "type": STATUS,
                   "name": {"type": "Property", "value": "見守り / Watch-over"},
                   "purpose": {"type": "Property", "value": PURPOSE},
                   **{k: {"type": "Property", "value": v} for k, v in shown.items()}}
        if clock is not None:
            payload["updatedAt"] = {"type": "Property", "value": clock.strftime("%Y-%m-%dT%H:%M:%SZ")}
        parsed = parse_entity(payload, core_context(), now=now)
        with self.read_path.reading_as(self._guard(tenant)):
            outcome = (await self.writer.apply(tenant, [(parsed["id"], lambda before: upsert(before, parsed, now, mode="replace"))]))[0]
        if outcome.error is None:
            watch.shown = (shown, clock is not None)
        else:
            log.warning("watch-over: status not written: %s", outcome.error)


def _layers(guard) -> tuple:
    """The layer guards a composed guard is made of: the read path makes new ones when what a reader may
    see changes (a consent granted, revoked or run out; a declaration; a rule), and reuses them otherwise."""
    if guard is None:
        return ()
    return tuple(getattr(guard, "guards", (guard,)))
