"""The row check of a CSV import (csv_import.plan, nothing written): each cell of a typed or required
column is read as its column's kind, and each problem is reported by row, column and cell."""

from __future__ import annotations

from catalogue_samples import csv_bytes, full_row

from toshi.catalogue import csv_import
from toshi.catalogue import standards as std
from toshi.catalogue.datasets import Dataset

SHELTERS = Dataset(name="shelters", type="EvacuationSite")


def problems(standard: std.Standard, **changes) -> list[tuple]:
    """(row, column, cell, message) of each error of a file of one full row of `standard`, changed."""
    row = {**full_row(standard, 0), **changes}
    dataset = Dataset(name="data", type=standard.type, standard=standard.id)
    found = csv_import.plan(dataset, csv_bytes(standard.headers, [row]))
    return [(e["row"], e["column"], e["value"], e["message"]) for e in found.errors]


def test_a_local_government_code_with_a_wrong_check_digit_is_an_error_of_its_cell():
    assert problems(std.EVACUATION_SITES, **{std.CODE_HEADER: "273610"}) == [
        (2, std.CODE_HEADER, "273610", "is not a 全国地方公共団体コード (6 digits with a valid check digit)")]


def test_a_required_cell_of_spaces_alone_is_missing():
    assert problems(std.AED, 設置位置="   ") == [(2, "設置位置", None, "is required")]


def test_an_integer_column_refuses_a_fraction():
    assert problems(std.EVACUATION_SITES, 想定収容人数="1.5") == [(2, "想定収容人数", "1.5", "is not an integer")]


def test_an_integer_may_be_written_in_full_width_digits_with_separators():
    found = csv_import.plan(SHELTERS, csv_bytes(std.EVACUATION_SITES.headers, [
        {**full_row(std.EVACUATION_SITES, 0), "想定収容人数": "１,２００"}]))
    [attrs] = found.entities.values()
    assert found.error_count == 0 and attrs["maxCapacity"] == 1200


def test_a_number_column_refuses_text():
    assert problems(std.EVACUATION_SITES, 標高="高い") == [(2, "標高", "高い", "is not a number")]


def test_a_latitude_south_of_japan_names_the_bound():
    assert problems(std.EVACUATION_SITES, 緯度="19.9") == [
        (2, "緯度", "19.9", 'is outside Japan (constraint "minimum" is "20.0")')]


def test_a_longitude_east_of_japan_names_the_bound():
    assert problems(std.EVACUATION_SITES, 経度="154.5") == [
        (2, "経度", "154.5", 'is outside Japan (constraint "maximum" is "154.0")')]


def test_a_latitude_that_is_not_a_number_value_is_outside_both_bounds():
    assert [message for *_, message in problems(std.EVACUATION_SITES, 緯度="NaN")] == [
        'is outside Japan (constraint "minimum" is "20.0")', 'is outside Japan (constraint "maximum" is "46.0")']


def test_a_row_whose_checked_cells_are_all_empty_is_one_blank_row_error():
    emptied = {c.header: "" for c in std.EVACUATION_SITES.columns if c.required or c.kind in ("integer", "number",
                                                                                                 "latitude", "longitude")}
    assert problems(std.EVACUATION_SITES, **emptied) == [(2, None, None, "Blank Row")]


def test_a_row_of_fewer_cells_than_the_header_is_an_error_of_the_row():
    data = csv_bytes(std.AED.headers, []) + b"273619,001\r\n"
    found = csv_import.plan(Dataset(name="aed", type="AEDLocation"), data)
    assert [(e["row"], e["column"], e["message"]) for e in found.errors] == [
        (2, None, f"the row has 2 cells, the header {len(std.AED.headers)}")]
