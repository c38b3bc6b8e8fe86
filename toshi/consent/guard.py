"""The personal-data consent layer of the one read path (toshi/core/access.py, order CONSENT, applied
with authentication off too).

For one reader (principal, tenant, purpose) the declared personal attributes of an entity
(toshi/consent/declarations.py) are removed unless
  - the reader is the data subject (the principal's id is the resident id the entity names), or
  - the reader holds a consent in force from that subject, for this purpose, covering the attribute's
    category or the attribute itself (toshi/consent/records.py), or
  - the reader is a town official: a principal with the admin role in the tenant; with
    authentication off, the local operator (no principal) counts as the town's administrator.
An entity whose declaration says `entityPersonal` is hidden altogether from a reader holding no
consent of its subject for anything the declaration covers. Writes are not consent's concern.

Every release of personal data to someone else than the subject is noted in the access log
(toshi/consent/accesslog.py) — except while a store only judges whether an entity matches a query
(`judging`), since nothing leaves then.

The purpose of a request is its `Toshi-Purpose` header (toshi/consent/purpose.py); a subscription's
is the header of the request that created it. Without a purpose no consent counts.
"""

from __future__ import annotations

import operator
import time
from dataclasses import dataclass

from toshi.consent.accesslog import CONSENTED, OFFICIAL, AccessLog
from toshi.consent.declarations import Declared, expand
from toshi.consent.purpose import request_purpose
from toshi.core.access import CONSENT, Reader, judging
from toshi.core.times import now_iso, to_ms

VIEWS_KEPT = 10_000  # entity views remembered per guard
PAGES_KEPT = 100  # pages released remembered per guard (release)
GUARDS_KEPT = 10_000


class ConsentFilter:
    order = CONSENT
    always = True

    def __init__(self, declarations, records, log: AccessLog, auth_enabled: bool):
        self.declarations, self.records, self.log = declarations, records, log
        self.auth_enabled = auth_enabled
        self._guards: dict[tuple, tuple[ConsentGuard, str | None]] = {}
        self.generation = 0  # counts the changes of consents and declarations (forget)

    def forget(self) -> None:
        """Consents or declarations changed: no guard made before may be used again (one still held —
        a live stream's, a long request's — renews itself before its next judgement)."""
        self.generation += 1
        self._guards.clear()

    def held(self, tenant: str, reader_id: str, purpose: str | None, official: bool) -> tuple[list[dict], str | None]:
        if official or reader_id == "anonymous":
            return [], None
        return self.records.in_force(tenant, reader_id, purpose)

    def guard_for(self, reader: Reader):
        principal = reader.principal
        if principal is None and not self.auth_enabled:
            return None  # the local operator of a Toshi without authentication: the town's administrator
        declared = self.declarations.of_tenant(reader.tenant)
        if not declared:
            return None  # nothing personal is declared in this tenant
        purpose = reader.purpose if reader.purpose is not None else request_purpose.get()
        reader_id = principal.id if principal is not None else "anonymous"
        official = principal is not None and "admin" in principal.roles_in(reader.tenant)
        key = (reader_id, getattr(principal, "kind", ""), reader.tenant, purpose, official)
        cached = self._guards.get(key)
        if cached is not None and (cached[1] is None or now_iso() < cached[1]):
            return cached[0]
        held, stale_at = ([], None) if principal is None else self.held(reader.tenant, reader_id, purpose, official)
        guard = ConsentGuard(reader_id, reader.tenant, purpose, declared, held, official, self.log,
                             self, stale_at)
        if len(self._guards) >= GUARDS_KEPT:
            self._guards.clear()
        self._guards[key] = (guard, stale_at)
        return guard


class Coverage:
    """What one subject's consents let a reader see."""

    def __init__(self):
        self.categories: set[str] = set()
        self.attrs: set[str] = set()
        self.by_consent: list[tuple[str, frozenset[str], frozenset[str]]] = []

    def add(self, record: dict) -> None:
        categories, attrs = frozenset(record["categories"]), frozenset(expand(a) for a in record["attributes"])
        self.categories |= categories
        self.attrs |= attrs
        self.by_consent.append((record["id"], categories, attrs))

    def allows(self, attr: str, category: str) -> bool:
        return category in self.categories or attr in self.attrs

    def consents_for(self, released: dict[str, str]) -> list[str]:
        return [cid for cid, cats, attrs in self.by_consent
                if any(c in cats or a in attrs for a, c in released.items())]


@dataclass(frozen=True)
class Judgement:
    """The consent layer's decision on one entity for one reader."""

    view: dict | None             # the entity as the reader may see it (None: hidden altogether)
    hidden: frozenset[str]        # the declared attributes removed (expanded names)
    released: dict[str, str]      # personal attributes shown under a consent or as an official -> category
    subject: str | None           # the resident the entity is about
    consents: tuple[str, ...]     # the consents that let the released attributes through


class ConsentGuard:
    reads_everything = False

    def __init__(self, reader_id: str, tenant: str, purpose: str | None, declared: dict[str, Declared],
                 held: list[dict], official: bool, log: AccessLog, source: ConsentFilter | None = None,
                 stale_at: str | None = None):
        self.reader_id, self.tenant, self.purpose = reader_id, tenant, purpose
        self.official, self.log = official, log
        self._basis = OFFICIAL if official else CONSENTED
        self._source = source  # where a guard renews itself after a change (None: never)
        self._generation = source.generation if source is not None else 0
        self._set(declared, held, stale_at)

    def _set(self, declared: dict[str, Declared], held: list[dict], stale_at: str | None) -> None:
        self.declared = declared
        self.coverage: dict[str, Coverage] = {}
        for record in held:
            self.coverage.setdefault(record["subject"], Coverage()).add(record)
        self._covered_attrs = {a for c in self.coverage.values() for a in c.attrs}
        self._covered_categories = {cat for c in self.coverage.values() for cat in c.categories}
        self._views: dict[int, tuple] = {}
        self._pages: dict[tuple, tuple] = {}  # see release
        self._read_pages: dict[tuple, tuple] = {}  # see readable_page
        self._hides_whole = any(d.entity_personal for d in declared.values())
        self._stale_at = to_ms(stale_at) / 1000 if stale_at else None

    def _current(self) -> None:
        """Renew what this guard knows when a consent or declaration changed since it was made, or a
        consent started or ran out: a guard held for long (a live stream's) sees a revocation at once."""
        source = self._source
        if source is None:
            return
        if source.generation == self._generation and (self._stale_at is None or time.time() < self._stale_at):
            return
        self._generation = source.generation
        held, stale_at = source.held(self.tenant, self.reader_id, self.purpose, self.official)
        self._set(source.declarations.of_tenant(self.tenant), held, stale_at)

    # -- the decision, once per entity state ------------------------------------------------------

    def _declaration(self, entity: dict) -> Declared | None:
        for type_iri in entity.get("type", ()):
            found = self.declared.get(type_iri)
            if found is not None:
                return found
        return None

    def _judged(self, entity: dict) -> tuple:
        """(entity, view, hidden attrs, released {attr: category}, subject, consent ids, the access log's
        note of a release or None, the note alone in a tuple or None), remembered per entity object
        (entities are shared and never mutated)."""
        self._current()
        seen = self._views.get(id(entity))
        if seen is not None and seen[0] is entity:
            return seen
        view, hidden, released, subject, consents = self._judge(entity)
        note = (subject or "(unknown)", released, consents, entity["id"]) if released else None
        judged = (entity, view, hidden, released, subject, consents, note, None if note is None else (note,))
        if len(self._views) >= VIEWS_KEPT:
            self._views.clear()
        self._views[id(entity)] = judged  # holding the entity keeps its id from being reused
        if view is not None and view is not entity:
            # the view judged as its entity was: callers ask about the view again (temporal asks which
            # attributes' history it may show), and the view may lack the attribute naming the subject
            self._views[id(view)] = (view, *judged[1:])
        return judged

    def _judge(self, entity: dict) -> tuple:
        declaration = self._declaration(entity)
        if declaration is None:
            return entity, frozenset(), {}, None, ()
        subject = declaration.subject_of(entity)
        personal = {name: declaration.categories[name] for name in entity["attrs"] if name in declaration.categories}
        if subject is not None and subject == self.reader_id:
            return entity, frozenset(), {}, subject, ()  # one's own data
        if self.official:
            return entity, frozenset(), personal, subject, ()
        # hidden: every declared attribute not covered, present or not (the answer must not depend on
        # whether an earlier layer already removed some)
        coverage = self.coverage.get(subject) if subject is not None else None
        if coverage is None:
            if declaration.entity_personal:
                return None, frozenset(entity["attrs"]), {}, subject, ()
            hidden = frozenset(declaration.categories)
            return _without(entity, hidden), hidden, {}, subject, ()
        if declaration.entity_personal and not any(coverage.allows(a, c) for a, c in declaration.categories.items()):
            return None, frozenset(entity["attrs"]), {}, subject, ()
        released = {a: c for a, c in personal.items() if coverage.allows(a, c)}
        hidden = frozenset(a for a, c in declaration.categories.items() if not coverage.allows(a, c))
        return _without(entity, hidden), hidden, released, subject, tuple(coverage.consents_for(released))

    def judgement(self, entity: dict) -> Judgement:
        """What this reader may see of an entity and why, without noting a release (a caller that
        hands the view over notes it itself, e.g. toshi.consent.RecipientView.released): the subject
        comes from the entity as it is, even when the view hides the attribute naming them."""
        _, view, hidden, released, subject, consents, *_ = self._judged(entity)
        return Judgement(view, hidden, released, subject, consents)

    # -- Guard ------------------------------------------------------------------------------------

    def readable(self, entity: dict) -> dict | None:
        # _judged's way, without its calls when this guard is current and has judged the entity (a
        # store asks for each entity of a page): anything else goes through _judged
        source, judged = self._source, None
        if source is None or (source.generation == self._generation
                              and (self._stale_at is None or time.time() < self._stale_at)):
            judged = self._views.get(id(entity))
        if judged is None or judged[0] is not entity:
            judged = self._judged(entity)
        if judged[7] is not None and not judging.get():
            self.log.note_many(self.tenant, self.reader_id, self.purpose, self._basis, judged[7])
        return judged[1]

    def readable_page(self, entities: list) -> list:
        """`readable` of each of a store's page (None stays None) in one go: the same objects read
        again (a page re-read, its entities unchanged) give the views and notes of the first time,
        as release does; what this guard knows is renewed first, and renewing forgets the pages."""
        self._current()
        if not entities:
            return []
        key = (len(entities), id(entities[0]), id(entities[-1]))
        known = self._read_pages.get(key)
        if known is None or not all(map(operator.is_, known[0], entities)):
            judged = [None if e is None else self._judged(e) for e in entities]
            notes = tuple(j[6] for j in judged if j is not None and j[6] is not None)
            known = (tuple(entities), [None if j is None else j[1] for j in judged], notes)
            if len(self._read_pages) >= PAGES_KEPT:
                self._read_pages.clear()
            self._read_pages[key] = known  # holding the entities keeps their ids from being reused
        if known[2] and not judging.get():
            self.log.note_many(self.tenant, self.reader_id, self.purpose, self._basis, known[2])
        return [*known[1]]

    def release(self, entities: list) -> None:
        """The views of an answer handed over (toshi.core.access.handed_over): their releases noted
        in one go, from the judgements made when they were read (views are remembered as their
        entities are). A page of the same objects released again (a page read again, its entities
        unchanged) gives the same notes, as the same tuple (the access log makes its records' texts
        once); what this guard knows is renewed first, and renewing forgets the pages."""
        self._current()
        if not entities:
            return
        key = (len(entities), id(entities[0]), id(entities[-1]))
        known = self._pages.get(key)
        if known is not None and all(map(operator.is_, known[0], entities)):
            notes = known[1]
        else:
            judged = self._judged
            notes = tuple(note for note in (judged(e)[6] for e in entities if e is not None) if note is not None)
            if len(self._pages) >= PAGES_KEPT:
                self._pages.clear()
            self._pages[key] = (tuple(entities), notes)  # holding them keeps their ids from being reused
        if notes:
            self.log.note_many(self.tenant, self.reader_id, self.purpose, self._basis, notes)

    def check_write(self, before: dict | None, after: dict | None) -> None:
        """Writing is not consent's concern (the role rules decide it)."""

    def permitted_attrs(self, action: str, entity: dict):
        if action != "read":
            return None
        _, view, hidden, *_ = self._judged(entity)
        if view is None:
            return frozenset()
        return None if not hidden else _AllBut(hidden)

    def keeps_matches(self, query) -> bool:
        """Whether every entity that matches `query` as stored still matches as this reader sees it
        (so a store need not judge each candidate before paging): true unless some declaration hides
        entities whole, or the query reads attributes (attrs, q, a geo-query) — those might be hidden.
        Ids, id patterns, types and scopes are never hidden."""
        self._current()
        if self.official:
            return True
        if self._hides_whole:
            return False
        return query.attrs is None and query.q is None and query.geo is None

    def type_visible(self, type_iri: str) -> bool:
        return True  # that a type exists is not personal data (whether an entity is shown is per entity)

    def attribute_visible(self, attr_iri: str) -> bool:
        """Discovery lists a personal attribute only to officials and to readers holding a consent that
        could show it."""
        if self.official:
            return True
        self._current()
        categories = {d.categories[attr_iri] for d in self.declared.values() if attr_iri in d.categories}
        return not categories or attr_iri in self._covered_attrs or bool(categories & self._covered_categories)


def _without(entity: dict, hidden: frozenset[str]) -> dict:
    if not hidden or hidden.isdisjoint(entity["attrs"]):
        return entity  # the same object when nothing is removed (renderings cached by identity)
    return {**entity, "attrs": {name: v for name, v in entity["attrs"].items() if name not in hidden}}


class _AllBut(frozenset):
    """Every attribute except these (a frozenset of the hidden ones, read as its complement)."""

    def __contains__(self, name) -> bool:
        return not frozenset.__contains__(self, name)

    def __bool__(self) -> bool:
        return True
