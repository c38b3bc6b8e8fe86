"""Read-side steps every store shares: access filtering of query results and discovery, and paging
over entities that SQL could not filter completely."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from toshi.core.access import judging
from toshi.query.planner import EntityQuery


def seen_through(guard, query: EntityQuery) -> Callable[[dict], bool] | None:
    """A predicate: the entity is readable, and still matches the query once its hidden attributes
    are gone (so a q over an attribute one may not read reveals nothing). None when the guard says
    hiding cannot change what the query matches (`keeps_matches`): the query then pages in SQL, and
    the store's views of the page are the one judgement of its entities."""
    keeps = getattr(guard, "keeps_matches", None)
    if keeps is not None and keeps(query):
        return None
    plain = dataclasses.replace(query, extra=[])

    def predicate(entity: dict) -> bool:
        mark = judging.set(True)
        try:
            seen = guard.readable(entity)
        finally:
            judging.reset(mark)
        return seen is not None and (seen is entity or plain.matches_residual(seen, types=True, attrs=True, q=True))
    return predicate


def page_of(candidates: Iterable[tuple[int, dict]], matches: Callable[[dict], bool],
            query: EntityQuery) -> tuple[list[dict], int | None]:
    """The query's page of the candidates ((position, entity) pairs) that match, and their count
    when the query asks for it; stops reading candidates once the page is full, unless counting.
    Sets `query.next_after` to the position of the page's last entity."""
    page: list[dict] = []
    matched = 0
    query.next_after = None
    for position, entity in candidates:
        if not matches(entity):
            continue
        if query.offset <= matched < query.offset + query.limit:
            page.append(entity)
            query.next_after = position
        matched += 1
        if not query.count and len(page) >= query.limit:
            break
    return page, matched if query.count else None


def visible_type_details(details: dict[str, dict], guard) -> dict[str, dict]:
    """type_details() as a guard lets one see it (None: all of it)."""
    if guard is None:
        return details
    return {t: {**d, "attrs": {a: k for a, k in d["attrs"].items() if guard.attribute_visible(a)}}
            for t, d in details.items() if guard.type_visible(t)}


def visible_attribute_details(details: dict[str, dict], guard) -> dict[str, dict]:
    """attribute_details() as a guard lets one see it (None: all of it)."""
    if guard is None:
        return details
    details = {a: {**d, "types": {t for t in d["types"] if guard.type_visible(t)}}
               for a, d in details.items() if guard.attribute_visible(a)}
    return {a: d for a, d in details.items() if d["types"]}
