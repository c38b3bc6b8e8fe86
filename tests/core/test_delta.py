"""The change log's delta rebuilds exactly the previous state."""

from toshi.core.delta import entity_delta, previous_state

T = "2026-11-24T00:00:00.000Z"


def entity(**attrs) -> dict:
    return {"id": "urn:x:1", "type": ["https://t/T"], "createdAt": T, "modifiedAt": T,
            "attrs": {k: [{"type": "Property", "value": v}] for k, v in attrs.items()}}


def test_round_trips():
    before = entity(a=1, b=2, c=3)
    cases = [entity(a=1, b=5, c=3), entity(a=1, c=3), entity(a=1, b=2, c=3, d=4), entity()]
    for after in cases:
        after["modifiedAt"] = "2026-11-24T01:00:00.000Z"
        assert previous_state(after, entity_delta(before, after)) == before
    scoped = {**entity(a=1), "scope": ["/Osaka"]}
    assert previous_state(entity(a=1), entity_delta(scoped, entity(a=1))) == scoped
    assert previous_state(scoped, entity_delta(entity(a=1), scoped)) == entity(a=1)


def test_delta_holds_only_what_changed():
    delta = entity_delta(entity(a=1, b=2, c=3), entity(a=1, b=5, c=3))
    assert delta == {"attrs": {"b": [{"type": "Property", "value": 2}]}}
