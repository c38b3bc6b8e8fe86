"""What one recipient may receive for one purpose, read through the consent layer as that recipient:
the entities of a declared type whose data subjects hold a consent in force for it, each as the
recipient may see it. For work that hands data over in bulk (research extracts, toshi/research):
reading notes nothing in the access log; the caller notes what it really hands over (`released`),
so records it then withholds (k-anonymity) are not logged as read.
"""

from __future__ import annotations

from dataclasses import dataclass

from toshi.consent.accesslog import CONSENTED
from toshi.consent.declarations import expand
from toshi.core.access import Reader, current_guard, judging
from toshi.query.planner import EntityQuery
from toshi.query.typeexpr import TypeName

PAGE = 1000


@dataclass(frozen=True)
class Consented:
    entity: dict                  # as the recipient may see it (internal form)
    subject: str                  # the resident it is about
    consents: tuple[str, ...]     # the consents that release its personal attributes
    personal: frozenset[str]      # the declared personal attributes of its type (expanded)


class _Recipient:
    """The recipient as the consent layer sees a reader: no roles, so never a town official."""

    kind = "recipient"

    def __init__(self, recipient_id: str):
        self.id = recipient_id

    def roles_in(self, tenant: str) -> frozenset:
        return frozenset()


class RecipientView:
    def __init__(self, service, store, tenant: str, recipient: str, purpose: str):
        self.service, self.store, self.tenant = service, store, tenant
        self.recipient, self.purpose = recipient, purpose

    def consents(self) -> list[dict]:
        """The recipient's consents for the purpose that hold now."""
        return self.service.records.in_force(self.tenant, self.recipient, self.purpose)[0]

    def declared(self, type_name: str):
        """The declaration of a type in the tenant (None: its data is not declared personal)."""
        return self.service.declarations.of_tenant(self.tenant).get(expand(type_name))

    async def entities(self, type_name: str, progress=None) -> list[Consented]:
        """The type's entities of consenting subjects, as the recipient may see them (ValueError when
        the type's data is not declared personal: only declared data has subjects who consent).
        `progress(step, done, None)` hears of each page read (toshi/core/progress.py)."""
        declaration = self.declared(type_name)
        if declaration is None:
            raise ValueError(f"{type_name} is not declared as personal data in this tenant")
        consenting = {record["subject"] for record in self.consents()}
        guard = self.service.filter.guard_for(Reader(_Recipient(self.recipient), self.tenant, self.purpose))
        found: list[Consented] = []
        type_iri = expand(type_name)
        marks = current_guard.set(guard), judging.set(True)  # nothing leaves yet: log only what is handed over
        try:
            offset = 0
            while True:
                page, _ = await self.store.query_entities(self.tenant, EntityQuery(types=TypeName(type_iri),
                                                                                   limit=PAGE, offset=offset))
                for item in page:
                    if item is None:
                        continue
                    # the guard's judgement of what the store handed out: the subject comes from the
                    # entity as stored, even when the view hides the attribute naming them
                    judged = guard.judgement(item)
                    if judged.view is not None and judged.subject in consenting:
                        found.append(Consented(judged.view, judged.subject, judged.consents,
                                               frozenset(declaration.categories)))
                if progress is not None:
                    progress("reading records", offset + len(page), None)
                if len(page) < PAGE:
                    break
                offset += PAGE
        finally:
            judging.reset(marks[1])
            current_guard.reset(marks[0])
        return found

    def released(self, item: Consented, attrs: list[str]) -> None:
        """Note in the subject's access log that these (expanded) attributes were handed over."""
        personal = [a for a in attrs if a in item.personal]
        if personal:
            self.service.log.note(self.tenant, self.recipient, item.subject, self.purpose, CONSENTED,
                                  personal, item.consents, item.entity["id"])

