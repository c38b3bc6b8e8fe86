"""toshi.core.times: reading, writing and comparing ISO 8601 times, and durations."""

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from toshi.core.errors import BadRequestData
from toshi.core.times import (
    Duration,
    add_months,
    format_instant,
    in_seconds,
    instant_key,
    is_datetime,
    local_time,
    normalize_instant,
    now_iso,
    parse_duration,
    parse_instant,
    time_key,
    to_iso,
    to_ms,
    utc_datetime,
    utc_seconds,
)

STORED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


# -- now


def test_now_iso_is_utc_with_milliseconds():
    assert STORED.fullmatch(now_iso())


def test_now_iso_is_now():
    assert abs(parse_instant(now_iso()) - datetime.now(UTC)) < timedelta(seconds=5)


def test_in_seconds_is_later_than_now():
    assert in_seconds(3600) > now_iso()


# -- utc_datetime: NGSI-LD's DateTime, as requests send it


def test_utc_datetime_without_fraction():
    assert utc_datetime("2026-11-24T09:00:00Z", "x") == "2026-11-24T09:00:00.000Z"


def test_utc_datetime_with_fraction_keeps_milliseconds():
    assert utc_datetime("2026-11-24T09:00:00.123456Z", "x") == "2026-11-24T09:00:00.123Z"


def test_utc_datetime_with_offset_is_moved_to_utc():
    assert utc_datetime("2026-11-24T09:00:00+09:00", "x") == "2026-11-24T00:00:00.000Z"


def test_utc_datetime_without_zone_is_utc():
    assert utc_datetime("2026-11-24T09:00:00", "x") == "2026-11-24T09:00:00.000Z"


def test_utc_datetime_rejects_a_date_naming_the_field():
    with pytest.raises(BadRequestData, match="expiresAt must be an ISO 8601 DateTime"):
        utc_datetime("2026-11-24", "expiresAt")


def test_utc_datetime_rejects_an_impossible_day():
    with pytest.raises(BadRequestData, match="not a valid DateTime"):
        utc_datetime("2026-02-30T00:00:00Z", "x")


def test_utc_datetime_rejects_a_non_string():
    with pytest.raises(BadRequestData):
        utc_datetime(20261124, "x")


# -- parse_instant / normalize_instant: whatever Python reads


def test_parse_instant_z():
    assert parse_instant("2026-11-24T09:00:00Z") == datetime(2026, 11, 24, 9, tzinfo=UTC)


def test_parse_instant_with_offset_is_utc():
    assert parse_instant("2026-11-24T09:00:00+09:00") == datetime(2026, 11, 24, 0, tzinfo=UTC)
    assert parse_instant("2026-11-24T09:00:00+09:00").tzinfo is UTC


def test_parse_instant_without_zone_is_utc():
    assert parse_instant("2026-11-24T09:00:00").tzinfo is UTC


def test_parse_instant_with_fraction():
    assert parse_instant("2026-11-24T09:00:00.5Z").microsecond == 500_000


def test_parse_instant_accepts_a_date():
    assert parse_instant("2026-11-24") == datetime(2026, 11, 24, tzinfo=UTC)


def test_parse_instant_rejects_text():
    with pytest.raises(ValueError, match="not an ISO 8601 time"):
        parse_instant("yesterday")


def test_parse_instant_rejects_none():
    with pytest.raises(ValueError):
        parse_instant(None)


def test_normalize_instant_truncates_to_milliseconds():
    assert normalize_instant("2026-11-24T18:00:00.123999+09:00") == "2026-11-24T09:00:00.123Z"


def test_format_instant_round_trip():
    assert normalize_instant(format_instant(datetime(2026, 11, 24, 9, 0, 0, 123000, tzinfo=UTC))) == \
        "2026-11-24T09:00:00.123Z"


def test_format_instant_moves_to_utc():
    moment = datetime(2026, 11, 24, 9, tzinfo=timezone(timedelta(hours=9)))
    assert format_instant(moment) == "2026-11-24T00:00:00.000Z"


# -- epoch seconds and milliseconds


def test_to_ms():
    assert to_ms("1970-01-01T00:00:01.500Z") == 1500


def test_to_iso():
    assert to_iso(1500) == "1970-01-01T00:00:01.500Z"


def test_to_iso_before_the_epoch():
    assert to_iso(-1) == "1969-12-31T23:59:59.999Z"


def test_milliseconds_round_trip():
    assert to_iso(to_ms("2026-11-24T09:00:00.123Z")) == "2026-11-24T09:00:00.123Z"


def test_utc_seconds_is_the_whole_second_without_zone():
    assert utc_seconds(1.9) == "1970-01-01T00:00:01"


# -- local_time (IoT devices with a time zone)


def test_local_time_reads_a_time_without_offset_in_the_zone():
    assert local_time("2026-11-24T09:00:00", ZoneInfo("Asia/Tokyo")) == "2026-11-24T09:00:00.000+09:00"


def test_local_time_keeps_a_time_with_offset_as_sent():
    assert local_time("2026-11-24T09:00:00Z", ZoneInfo("Asia/Tokyo")) == "2026-11-24T09:00:00Z"


def test_local_time_keeps_an_unreadable_time_as_sent():
    assert local_time("yesterday", ZoneInfo("Asia/Tokyo")) == "yesterday"


def test_local_time_of_none_is_now_in_the_zone():
    assert local_time(None, ZoneInfo("Asia/Tokyo")).endswith("+09:00")


# -- instant keys (comparisons in q)


def test_instant_key_with_offset_equals_utc():
    assert instant_key("2024-01-01T09:00:00+09:00") == instant_key("2024-01-01T00:00:00Z")


def test_instant_key_pads_the_fraction_to_nine_digits():
    assert instant_key("2024-01-01T00:00:00.5Z") == "2024-01-01T00:00:00500000000"


def test_instant_key_of_a_date_is_midnight_utc():
    assert instant_key("2024-01-01") == instant_key("2024-01-01T00:00:00")


def test_instant_key_of_an_impossible_date_is_none():
    assert instant_key("2024-02-30") is None


def test_instant_key_before_year_one_is_none():
    assert instant_key("0001-01-01T00:30:00+01:00") is None


def test_instant_key_of_an_offset_beyond_14_hours_is_none():
    assert instant_key("2024-01-01T00:00:00+15:00") is None


def test_time_key():
    assert time_key("23:59:59.5Z") == "23:59:59500000000"


def test_time_key_of_an_impossible_hour_is_none():
    assert time_key("24:00:00") is None


def test_is_datetime():
    assert is_datetime("2024-01-01T00:00:00Z")


def test_a_date_is_not_a_datetime():
    assert not is_datetime("2024-01-01")


def test_a_non_string_is_not_a_datetime():
    assert not is_datetime(20240101)


# -- durations


def test_parse_duration_hours():
    assert parse_duration("PT1H") == Duration(0, 3_600_000)


def test_parse_duration_days_and_hours():
    assert parse_duration("P1DT12H") == Duration(0, 36 * 3_600_000)


def test_parse_duration_weeks():
    assert parse_duration("P2W") == Duration(0, 14 * 86_400_000)


def test_parse_duration_fractional_seconds():
    assert parse_duration("PT0.5S") == Duration(0, 500)
    assert parse_duration("PT0,25S") == Duration(0, 250)


def test_parse_duration_years_and_months_are_months():
    assert parse_duration("P1Y2M") == Duration(14, 0)


def test_zero_duration_is_whole():
    assert parse_duration("P0D").whole and parse_duration("PT0S").whole


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "1D", "PT1.5H", "", None, 3600])
def test_parse_duration_rejects(text):
    with pytest.raises(BadRequestData, match="ISO 8601 duration"):
        parse_duration(text)


def test_duration_after_backwards():
    assert Duration(0, 1000).after(5000, -1) == 4000


def test_add_months_clips_to_the_end_of_a_shorter_month():
    jan31 = to_ms("2026-01-31T00:00:00.000Z")
    assert to_iso(add_months(jan31, 1)) == "2026-02-28T00:00:00.000Z"


def test_duration_after_a_month():
    assert to_iso(parse_duration("P1M").after(to_ms("2026-03-15T00:00:00.000Z"))) == "2026-04-15T00:00:00.000Z"
