"""CSV files of the standard datasets, written as a town would write them."""

from __future__ import annotations

import csv
import io

from toshi.catalogue import standards as std

# A valid cell of each kind, written as the CSV distribution writes it back (canonical).
CANONICAL = {std.TEXT: "値", std.INTEGER: "120", std.NUMBER: "12.5", std.DATE: "2024-04-01", std.TIME: "09:00",
             std.FLAG: "1", std.YESNO: "有", std.CODE: "273619", std.LIST: "余野;川尻",
             std.LATITUDE: "34.82", std.LONGITUDE: "135.47"}


def cell(column: std.Column, n: int) -> str:
    if column.header == std.ID_HEADER:
        return f"{n:03d}"
    if column.kind == std.TEXT:
        return f"{column.header}{n}"
    return CANONICAL[column.kind]


def full_row(standard: std.Standard, n: int) -> dict[str, str]:
    return {c.header: cell(c, n) for c in standard.columns}


def csv_bytes(headers: list[str], rows: list[dict[str, str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return buffer.getvalue().encode(encoding)


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "the CSV starts with a UTF-8 BOM"
    return list(csv.reader(io.StringIO(body[3:].decode("utf-8"))))


