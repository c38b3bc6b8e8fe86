"""The live streams' view of each reader (toshi/notify/live.py): an entity leaving it (no longer
matching, no longer readable) is a `removed` event with its id only; a change of rights makes each
listener read its view again (`removed` / `changed`, ids only); an entity the reader never saw is
never named."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from toshi.core.access import ReadPath
from toshi.notify.live import Listener, LiveStreams

HIDDEN = {"secret"}  # entity ids the test guard hides


class Guard:
    reads_everything = False

    def readable(self, entity):
        return None if entity["id"] in HIDDEN else entity


def entity(entity_id: str, zone: str = "in", **attrs) -> dict:
    return {"id": entity_id, "type": ["T"], "attrs": {"zone": [{"type": "Property", "value": zone}], **attrs}}


def record(seq: int, before, after) -> SimpleNamespace:
    return SimpleNamespace(seq=seq, tenant="t", before=before, after=after, at="2026-12-03T00:00:00Z")


def zone_of(e: dict) -> str:
    return e["attrs"]["zone"][0]["value"]


def events(listener: Listener) -> list[tuple[str, dict]]:
    out = []
    while not listener.queue.empty():
        event = listener.queue.get_nowait()
        out.append((event["operation"], event["entity"]))
    return out


def run(coroutine):
    return asyncio.run(coroutine)


def test_an_entity_leaving_the_query_or_the_readers_sight_is_removed_by_id_only():
    async def main():
        streams = LiveStreams(ReadPath())
        listener = Listener("t", SimpleNamespace(matches=lambda e: zone_of(e) == "in"), lambda e: e, guard=Guard())
        streams.add(listener)
        a = entity("a")
        streams.publish(record(1, None, a))
        out = entity("a", "out")
        streams.publish(record(2, a, out))
        streams.publish(record(3, out, entity("a", "out", note=[{"type": "Property", "value": 1}])))  # still out
        assert events(listener) == [("created", a), ("removed", {"id": "a"})]

        streams.publish(record(4, None, entity("secret")))  # never readable: never named
        streams.publish(record(5, entity("secret"), entity("secret", "out")))
        streams.publish(record(6, None, entity("b", "out")))  # never in the query: never named
        streams.publish(record(7, entity("b", "out"), None))
        assert events(listener) == []
    run(main())


def test_a_change_of_rights_reads_the_view_again():
    async def main():
        read_path = ReadPath()
        streams = LiveStreams(read_path)
        view = {"a": entity("a"), "b": entity("b")}

        async def now():
            return dict(view)
        guards = []  # the reader's guard made afresh on each change of rights
        listener = Listener("t", SimpleNamespace(matches=lambda e: True), lambda e: e, guard=Guard(), view=now,
                            regard=lambda: guards.append(Guard()) or guards[-1])
        streams.add(listener)
        await listener.seed()
        assert set(listener.shown) == {"a", "b"}

        del view["a"]                                            # a consent revoked: `a` hidden now
        view["b"] = entity("b", extra=[{"type": "Property", "value": 2}])  # more of `b` readable
        view["c"] = entity("c")                                  # `c` came into sight
        read_path.changed()
        read_path.changed()  # several changes: looked at once more, not once each
        await streams._looking
        assert sorted(events(listener), key=str) == sorted(
            [("removed", {"id": "a"}), ("changed", {"id": "b"}), ("changed", {"id": "c"})], key=str)
        assert set(listener.shown) == {"b", "c"}
        assert len(guards) == 1 and listener.guard is guards[0]

        read_path.changed()  # nothing changed: nothing said
        await streams._looking
        assert events(listener) == []
    run(main())
