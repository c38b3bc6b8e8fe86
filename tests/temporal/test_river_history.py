"""A generated history with known answers: 1,000 PATCH updates of a river level, then the temporal API.

The level starts at 2026-03-01T00:00Z and is observed every 3 minutes (value_i = (37 i) mod 101 for
i = 0..1000), so it spans 50 hours: 480 points on the first day, 480 on the second, 41 on the third.
"""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, error_type, module_settings

from toshi.app import create_app

RIVER = "urn:ngsi-ld:WaterLevel:yodo"
URL = f"/ngsi-ld/v1/temporal/entities/{RIVER}"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
VALUES = [(37 * i) % 101 for i in range(1001)]


def at(i: int) -> str:
    return iso(T0 + timedelta(minutes=3 * i))


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture(scope="module", params=BACKENDS)
def river(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "river")
    with TestClient(create_app(settings)) as client:
        created = client.post("/ngsi-ld/v1/entities", json={
            "id": RIVER, "type": "WaterLevelObserved",
            "level": {"type": "Property", "value": VALUES[0], "unitCode": "MTR", "observedAt": at(0)}})
        assert created.status_code == 201, created.text
        for i in range(1, 1001):
            response = client.patch(f"/ngsi-ld/v1/entities/{RIVER}/attrs/level",
                                    json={"value": VALUES[i], "observedAt": at(i)})
            assert response.status_code == 204, response.text
        yield client


def get(client, **params):
    response = client.get(URL, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_whole_history_normalized(river):
    body = get(river)
    assert body["id"] == RIVER and body["type"] == "WaterLevelObserved"
    level = body["level"]
    assert [inst["value"] for inst in level] == VALUES
    assert [inst["observedAt"] for inst in level] == [at(i) for i in range(1001)]
    assert all(inst["type"] == "Property" and inst["unitCode"] == "MTR" for inst in level)
    assert len({inst["instanceId"] for inst in level}) == 1001
    assert all(inst["instanceId"].startswith("urn:ngsi-ld:") for inst in level)


def test_last_n(river):
    level = get(river, lastN=100)["level"]
    assert [inst["value"] for inst in level] == VALUES[-100:]
    assert level[0]["observedAt"] == at(901) and level[-1]["observedAt"] == at(1000)


def test_last_n_within_a_range(river):
    values = get(river, lastN=5, timerel="before", timeAt=at(500), options="temporalValues")["level"]["values"]
    assert values == [[VALUES[i], at(i)] for i in range(495, 500)]


def test_between_is_half_open(river):
    level = get(river, timerel="between", timeAt=at(20), endTimeAt=at(40))["level"]
    assert [inst["value"] for inst in level] == VALUES[20:40]


def test_before_and_after(river):
    assert len(get(river, timerel="before", timeAt=at(100))["level"]) == 100
    assert len(get(river, timerel="after", timeAt=at(100))["level"]) == 901
    assert "level" not in get(river, timerel="after", timeAt="2030-01-01T00:00:00Z")


def test_temporal_values(river):
    level = get(river, options="temporalValues")["level"]
    assert level == {"type": "Property", "values": [[v, at(i)] for i, v in enumerate(VALUES)]}


def test_timeproperty_modified_at_has_every_update(river):
    level = get(river, timeproperty="modifiedAt", options="sysAttrs")["level"]
    assert len(level) == 1001
    assert [inst["modifiedAt"] for inst in level] == sorted(inst["modifiedAt"] for inst in level)
    assert all("createdAt" in inst for inst in level)


def expected(values: list[int]) -> dict:
    return {"totalCount": len(values), "distinctCount": len(set(values)), "sum": sum(values),
            "avg": statistics.fmean(values), "min": min(values), "max": max(values),
            "stddev": statistics.stdev(values) if len(values) > 1 else None, "sumsq": sum(v * v for v in values)}


METHODS = "totalCount,distinctCount,sum,avg,min,max,stddev,sumsq"


def check_periods(level: dict, periods: list[tuple[str, str, list[int]]]) -> None:
    assert level["type"] == "Property"
    for method in METHODS.split(","):
        got = level[method]
        assert [(start, end) for _, start, end in got] == [(start, end) for start, end, _ in periods], method
        for (value, _, _), (_, _, values) in zip(got, periods):
            want = expected(values)[method]
            assert value == (None if want is None else pytest.approx(want, rel=1e-12)), method


def test_daily_aggregation(river):
    body = get(river, options="aggregatedValues", aggrMethods=METHODS, aggrPeriodDuration="P1D",
               timerel="between", timeAt=iso(T0), endTimeAt=iso(T0 + timedelta(days=3)))
    days = [(iso(T0 + timedelta(days=d)), iso(T0 + timedelta(days=d + 1)), VALUES[480 * d:480 * (d + 1)])
            for d in range(3)]
    check_periods(body["level"], days)
    assert [len(values) for _, _, values in days] == [480, 480, 41]


def test_hourly_aggregation(river):
    body = get(river, options="aggregatedValues", aggrMethods=METHODS, aggrPeriodDuration="PT1H",
               timerel="after", timeAt=iso(T0))
    hours = [(iso(T0 + timedelta(hours=h)), iso(T0 + timedelta(hours=h + 1)), VALUES[20 * h:20 * (h + 1)])
             for h in range(51)]
    check_periods(body["level"], hours)


def test_whole_range_aggregation_without_duration(river):
    level = get(river, options="aggregatedValues", aggrMethods="sum,avg,max")["level"]
    assert level["sum"] == [[sum(VALUES), at(0), at(1000)]]
    assert level["avg"][0][0] == pytest.approx(statistics.fmean(VALUES))
    assert level["max"] == [[100, at(0), at(1000)]]
    zero = get(river, options="aggregatedValues", aggrMethods="sum", aggrPeriodDuration="PT0S")["level"]
    assert zero["sum"] == level["sum"]


def test_aggregation_periods_start_at_the_oldest_instance(river):
    # No timeAt: periods count from the first instance (00:00), 90 minutes long.
    level = get(river, options="aggregatedValues", aggrMethods="totalCount", aggrPeriodDuration="PT1H30M")["level"]
    assert level["totalCount"][0] == [30, at(0), at(30)]
    assert sum(count for count, _, _ in level["totalCount"]) == 1001


def test_aggregation_last_n_keeps_last_periods(river):
    level = get(river, options="aggregatedValues", aggrMethods="totalCount", aggrPeriodDuration="P1D",
                lastN=2, timerel="after", timeAt=iso(T0))["level"]
    assert [count for count, _, _ in level["totalCount"]] == [480, 41]


def test_aggregation_within_a_range(river):
    # 06:00-07:30 in 30-minute periods: 10 points each.
    start = T0 + timedelta(hours=6)
    body = get(river, options="aggregatedValues", aggrMethods="avg,stddev", aggrPeriodDuration="PT30M",
               timerel="between", timeAt=iso(start), endTimeAt=iso(start + timedelta(minutes=90)))
    for n, (avg, stddev) in enumerate(zip(body["level"]["avg"], body["level"]["stddev"])):
        values = VALUES[120 + 10 * n:130 + 10 * n]
        assert avg[0] == pytest.approx(statistics.fmean(values))
        assert stddev[0] == pytest.approx(statistics.stdev(values))
        assert avg[1] == iso(start + timedelta(minutes=30 * n))
    assert len(body["level"]["avg"]) == 3


def test_query_finds_the_river(river):
    response = river.get("/ngsi-ld/v1/temporal/entities", params={
        "type": "WaterLevelObserved", "q": "level==34", "lastN": 3, "options": "temporalValues"})
    assert response.status_code == 200, response.text
    [entity] = response.json()
    assert entity["level"]["values"] == [[VALUES[i], at(i)] for i in (998, 999, 1000)]
    none = river.get("/ngsi-ld/v1/temporal/entities", params={"type": "WaterLevelObserved", "q": "level>100"})
    assert none.json() == []


def test_query_q_sees_the_instances_of_the_time_window(river):
    """The level was 0 once, at the start (VALUES[0]); the last hour never saw it."""
    query = {"type": "WaterLevelObserved", "q": "level==0", "attrs": "level"}
    assert [e["id"] for e in river.get("/ngsi-ld/v1/temporal/entities", params=query).json()] == [RIVER]
    last_hour = river.get("/ngsi-ld/v1/temporal/entities", params={
        **query, "timerel": "after", "timeAt": at(980)})
    assert last_hour.json() == []
    assert 0 not in VALUES[980:]


@pytest.mark.parametrize("params", [
    {"timerel": "during", "timeAt": "2026-03-01T00:00:00Z"},
    {"timerel": "before"},
    {"timerel": "between", "timeAt": "2026-03-01T00:00:00Z"},
    {"timerel": "between", "timeAt": "2026-03-02T00:00:00Z", "endTimeAt": "2026-03-01T00:00:00Z"},
    {"timeAt": "2026-03-01T00:00:00Z"},
    {"timerel": "after", "timeAt": "yesterday"},
    {"timeproperty": "seenAt"},
    {"lastN": "0"},
    {"lastN": "ten"},
    {"options": "aggregatedValues"},
    {"options": "aggregatedValues", "aggrMethods": "median"},
    {"options": "aggregatedValues", "aggrMethods": "sum", "aggrPeriodDuration": "P1H"},
    {"options": "aggregatedValues", "aggrMethods": "sum", "aggrPeriodDuration": "1D"},
    {"options": "aggregatedValues", "aggrMethods": "sum", "aggrPeriodDuration": "PT"},
    {"options": "aggregatedValues", "aggrMethods": "sum", "aggrPeriodDuration": "2026-03-01T00:00:00Z/P1D"},
    {"options": "aggregatedValues,temporalValues", "aggrMethods": "sum"},
])
def test_bad_temporal_queries(river, params):
    response = river.get(URL, params=params)
    assert response.status_code == 400, (params, response.text)
    assert error_type(response) == "BadRequestData"


@pytest.mark.parametrize("params", [{"options": "keyValues"}, {"format": "invalidFormat"},
                                    {"options": "temporalValues,invalidOptions"},
                                    {"format": "temporalValues", "options": "aggregatedValues,invalidOptions"}])
def test_an_unrecognised_representation_is_invalid_request(river, params):
    response = river.get(URL, params=params)
    assert response.status_code == 400 and error_type(response) == "InvalidRequest", (params, response.text)


def test_duration_parsing():
    from toshi.core.times import Duration, add_months, parse_duration

    assert parse_duration("PT1H") == Duration(0, 3_600_000)
    assert parse_duration("P1DT12H") == Duration(0, 36 * 3_600_000)
    assert parse_duration("P2W") == Duration(0, 14 * 86_400_000)
    assert parse_duration("PT0.5S") == Duration(0, 500)
    assert parse_duration("P1Y2M") == Duration(14, 0)
    assert parse_duration("P0D").whole and parse_duration("PT0S").whole
    jan31 = int(datetime(2026, 1, 31, tzinfo=UTC).timestamp() * 1000)
    assert add_months(jan31, 1) == int(datetime(2026, 2, 28, tzinfo=UTC).timestamp() * 1000)
    assert math.isclose(add_months(jan31, 12), datetime(2027, 1, 31, tzinfo=UTC).timestamp() * 1000)
