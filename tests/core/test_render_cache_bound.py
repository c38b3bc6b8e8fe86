"""RenderCache (toshi/formats/render_cache.py) stays within its size, evicting the oldest renderings,
and a rendering is reused only for the very entity object it was made of."""

from __future__ import annotations

from toshi.formats.render_cache import RenderCache


def test_past_its_size_the_oldest_renderings_go_and_the_newest_are_reused():
    cache, ctx = RenderCache(max_entries=4), object()
    entities = [{"id": f"urn:e:{n}"} for n in range(10)]
    calls = []

    def render(entity):
        return lambda: calls.append(entity["id"]) or entity

    for entity in entities:
        cache.bytes_of(entity, ctx, (), render(entity))
    assert len(cache._entries) == 4
    calls.clear()
    assert cache.bytes_of(entities[9], ctx, (), render(entities[9])) == b'{"id":"urn:e:9"}'
    assert cache.bytes_of(entities[0], ctx, (), render(entities[0])) == b'{"id":"urn:e:0"}'
    assert calls == ["urn:e:0"]  # the newest was reused, the oldest rendered again
