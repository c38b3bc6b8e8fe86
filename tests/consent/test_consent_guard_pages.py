"""A store's page judged in one call (ConsentGuard.readable_page, access.views): exactly what `readable`
gives entity by entity, releases noted only when the page leaves (not while a store judges matches),
and a page of the same objects read again after a consent change judged afresh."""

from __future__ import annotations

from consent_town import DECLARATION, PURPOSE

from toshi.consent.accesslog import CONSENTED
from toshi.consent.declarations import check_declaration, compile_declaration, expand
from toshi.consent.guard import ConsentGuard
from toshi.core.access import Stacked, judging, views

PATIENT, OTHER = expand("Patient"), expand("Shelter")


def entity(n: int, kind: str = PATIENT) -> dict:
    return {"id": f"urn:ngsi-ld:Thing:{n}", "type": [kind],
            "attrs": {expand("patient"): [{"type": "Relationship", "object": f"urn:ngsi-ld:Person:{n}"}],
                      expand("ward"): [{"type": "Property", "value": n}],
                      expand("diagnosis"): [{"type": "Property", "value": f"diagnosis-{n}"}]}}


def consent(n: int) -> dict:
    return {"id": f"consent-{n}", "subject": f"urn:ngsi-ld:Person:{n}", "categories": ["sensitive"], "attributes": []}


class Log:
    def __init__(self):
        self.notes: list[tuple] = []

    def note_many(self, tenant, reader, purpose, basis, notes) -> None:
        self.notes.append((reader, basis, notes))


class Source:
    """What a guard renews itself from (the consent filter): consents change with the generation."""

    def __init__(self, held: list[dict]):
        self.generation, self.held_now = 0, held
        self.declarations = self

    def of_tenant(self, tenant: str) -> dict:
        return {PATIENT: compile_declaration(check_declaration(DECLARATION))}

    def held(self, tenant, reader_id, purpose, official):
        return self.held_now, None


def guard(held: list[dict], log: Log, source: Source | None = None) -> ConsentGuard:
    declared = {PATIENT: compile_declaration(check_declaration(DECLARATION))}
    return ConsentGuard("svc", "city", PURPOSE, declared, held, False, log, source)


def judged(read, page):
    mark = judging.set(True)
    try:
        return read(page)
    finally:
        judging.reset(mark)


def test_a_page_judged_at_once_is_each_entity_judged_alone():
    page = [entity(1), entity(2), None, entity(3, OTHER)]
    one, alone = guard([consent(1)], Log()), guard([consent(1)], Log())
    for _ in range(2):  # the second time from what the guard remembers of the page
        seen = judged(one.readable_page, page)
        assert seen == [None if e is None else alone.readable(e) for e in page]
    assert expand("diagnosis") in seen[0]["attrs"] and expand("diagnosis") not in seen[1]["attrs"]
    assert seen[2] is None and seen[3] is page[3]


def test_a_page_notes_its_releases_only_when_it_leaves():
    log = Log()
    reader = guard([consent(1), consent(3)], log)
    page = [entity(1), entity(2), entity(3)]
    judged(reader.readable_page, page)
    assert log.notes == []
    reader.readable_page(page)
    reader.readable_page(page)
    assert len(log.notes) == 2 and log.notes[0] == log.notes[1]
    reader_id, basis, notes = log.notes[0]
    assert (reader_id, basis) == ("svc", CONSENTED)
    assert [(subject, entity_id, consents) for subject, _, consents, entity_id in notes] == [
        ("urn:ngsi-ld:Person:1", "urn:ngsi-ld:Thing:1", ("consent-1",)),
        ("urn:ngsi-ld:Person:3", "urn:ngsi-ld:Thing:3", ("consent-3",))]


def test_the_same_page_after_a_revocation_is_judged_again():
    source = Source([consent(1)])
    log = Log()
    reader = guard(source.held_now, log, source)
    page = [entity(1), entity(2)]
    assert expand("diagnosis") in reader.readable_page(page)[0]["attrs"]
    source.held_now, source.generation = [], 1  # consent-1 revoked
    seen = reader.readable_page(page)
    assert all(expand("diagnosis") not in view["attrs"] for view in seen)
    assert [len(notes) for _, _, notes in log.notes] == [1]  # the second read released nothing


class HidesTwo:
    """A layer before consent that hides entity 2 whole."""

    reads_everything = False

    def readable(self, entity: dict) -> dict | None:
        return None if entity["id"].endswith(":2") else entity


def test_a_stack_judges_a_page_as_it_judges_each_entity():
    page = [entity(1), entity(2), entity(3)]
    stacked = Stacked([HidesTwo(), guard([consent(1), consent(2)], Log())])
    alone = Stacked([HidesTwo(), guard([consent(1), consent(2)], Log())])
    seen = judged(lambda p: views(stacked, p), page)
    assert seen == [alone.readable(e) for e in page]
    assert seen[1] is None and expand("diagnosis") in seen[0]["attrs"]
