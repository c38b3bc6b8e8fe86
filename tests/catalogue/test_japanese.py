"""Japanese dates, times and local government codes as municipal CSVs write them."""

import pytest

from toshi.catalogue.japanese import local_government_code, parse_date, parse_time


@pytest.mark.parametrize("text", ["令和6年4月1日", "R6.4.1", "2024/4/1", "2024-04-01", "2024年4月1日", "２０２４/４/１",
                                  "20240401"])
def test_dates_in_the_ways_japanese_data_writes_them(text):
    assert parse_date(text) == "2024-04-01"


def test_the_first_year_of_an_era_is_gannen():
    assert parse_date("令和元年5月1日") == "2019-05-01"
    assert parse_date("平成31年4月30日") == "2019-04-30"


@pytest.mark.parametrize("text", ["2024/2/30", "令和6年13月1日", "来週", ""])
def test_what_is_not_a_date(text):
    assert parse_date(text) is None


def test_times_of_day():
    assert [parse_time(t) for t in ("9:00", "09:30", "9時30分", "9時", "25:00")] == \
        ["09:00", "09:30", "09:30", "09:00", None]


def test_a_code_whose_leading_zero_a_spreadsheet_dropped_is_repaired():
    assert local_government_code("92011") == "092011"


def test_a_five_digit_code_gets_its_check_digit():
    assert local_government_code("13101") == "131016"


def test_a_six_digit_code_with_a_wrong_check_digit_is_refused():
    assert local_government_code("131017") is None
    assert local_government_code("131016") == "131016"
