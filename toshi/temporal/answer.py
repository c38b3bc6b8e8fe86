"""The bodies of a temporal read (clauses 4.5.7-4.5.9, 4.5.19) and, when cut short, its Content-Range
(clause 6.3.10).

An answer holds at most `limit` instances (all attributes, datasetIds and entities together: the
setting temporal_instance_limit). When the selected history holds more, the answer is partial (206):
every attribute of every entity is cut at one instant, so that the range returned is complete —
forwards (no lastN) every instance before the first one left out, backwards (lastN) every instance
after the last one left out — and `Content-Range: date-time <range-start>-<range-end>/<size>` says
which range it covers. Forwards, range-start is timeAt (after, between) or the least recent instance
returned, range-end the most recent one, size `*`; backwards, range-start is timeAt (before) or
endTimeAt (between) or the most recent instance returned, range-end the least recent one, size lastN.
The client asks for the rest from range-end on. Every time is written as the client wrote it (the
query's timeAt, the instances' observedAt). When more than `limit` instances share the first instant
of the range, that instant is returned whole as far as each series was read (no answer is empty).
"""

from __future__ import annotations

from dataclasses import dataclass

from toshi.formats.ngsild_render import language_ranges
from toshi.temporal import represent
from toshi.temporal.history import SCOPE, HistoryRow, Series, TemporalHistory
from toshi.temporal.request import Reading
from toshi.temporal.selection import Selected, readable_series
from toshi.temporal.timequery import TimeQuery, written_like


@dataclass
class SeriesResult:
    series: Series
    rows: list[HistoryRow]
    more: bool                          # the history had more instances than returned
    cut: bool = False                   # the common cut of a partial answer left out some of them


def answer(history: TemporalHistory, tenant: str, page: list[Selected], reading: Reading, ctx,
           limit: int) -> tuple[list[dict], dict[str, str]]:
    """The bodies of the selected entities, and the response headers (Content-Range when cut short)."""
    if reading.aggregation is not None:
        return [_aggregated(history, tenant, s, reading, ctx) for s in page], {}
    # One more than the limit per series: a series read beyond the limit tells where the cut falls.
    found = [(s, [SeriesResult(series, *history.instances(series.id, reading.time, limit + 1))
                  for series in series_read(history, tenant, s, reading)])
             for s in page]
    headers = _cut_to_common_range([r for _, results in found for r in results], reading.time, limit)
    return [_instances_body(s, results, reading, ctx) for s, results in found], headers


def series_read(history: TemporalHistory, tenant: str, selected: Selected, reading: Reading) -> list[Series]:
    """The attribute histories of an entity the reading asks for and the reader may read."""
    series = history.series(tenant, selected.entity.id, reading.selected_attrs)
    return [s for s in readable_series(series, selected.state)
            if reading.member(s.attr) and reading.wants_dataset(s.dataset_id)]


def _header(selected: Selected, reading: Reading, ctx) -> dict:
    return represent.header(selected.entity, selected.state, ctx, sys_attrs=reading.sys_attrs,
                            member=reading.member)


def _instances_body(selected: Selected, results: list[SeriesResult], reading: Reading, ctx) -> dict:
    out = _header(selected, reading, ctx)
    prop = reading.time.timeproperty
    ranges = language_ranges(reading.lang) if reading.lang is not None else None
    groups: dict[str, list[dict]] = {}
    listed = reading.mode in ("normalized", "concise")
    for result in results:
        if not result.rows and not result.cut:
            continue
        group = groups.setdefault(ctx.compact_iri(result.series.attr), [])
        if listed:
            group.extend(represent.normalized(result.series.attr, result.rows, ctx, timeproperty=prop,
                                              sys_attrs=reading.sys_attrs, concise=reading.mode == "concise",
                                              ranges=ranges))
        else:
            group.append(represent.temporal_values(result.series, result.rows, ctx, timeproperty=prop,
                                                   ranges=ranges))
    if listed:
        out.update(groups)
    else:  # an attribute cut away entirely is one empty item, beside none that has instances
        out.update({name: represent.one_or_many([i for i in items if _pairs(i)] or items[:1])
                    for name, items in groups.items()})
    return out


def _pairs(item: dict) -> list:
    return item.get(represent.VALUES_KEYS.get(item.get("type"), "values")) or []


def _aggregated(history: TemporalHistory, tenant: str, selected: Selected, reading: Reading, ctx) -> dict:
    out = _header(selected, reading, ctx)
    series = [s for s in series_read(history, tenant, selected, reading) if s.attr != SCOPE]  # not aggregated
    time = reading.time
    found = history.time_range([s.id for s in series], time)
    if found is None:
        return out
    low, high = time.bounds()
    low_text, high_text = time.written_bounds()
    start, end = (found[0] if low is None else low), (found[1] if high is None else high)
    ids = [s.id for s in series]
    start_text = low_text or history.written_at(ids, time, start)
    end_text = high_text or history.written_at(ids, time, end)

    def write(ms: int) -> str:
        if ms == start:
            return start_text
        if ms == end:
            return end_text
        return written_like(ms, start_text)

    groups: dict[str, list[dict]] = {}
    for one in series:
        buckets = history.aggregate(one.id, time, reading.aggregation, start, end)
        if buckets:
            groups.setdefault(ctx.compact_iri(one.attr), []).append(
                represent.aggregated(one, buckets, reading.aggregation.methods, write))
    out.update({name: represent.one_or_many(items) for name, items in groups.items()})
    return out


def _cut_to_common_range(results: list[SeriesResult], time: TimeQuery, limit: int) -> dict[str, str]:
    """When the instances read exceed the limit, cut every series at one instant and say so.

    Forwards, `first_out` is the instant of the first instance beyond the limit (in time order over
    all series); every instance before it is kept. A series read beyond the limit (`more`) holds more
    than `limit` instances read, so at least one of them is at or after `first_out`: what was not read
    of it is after the cut too. Backwards (lastN) the same from the most recent instance down."""
    rows = sorted((row.time for r in results for row in r.rows), reverse=bool(time.last_n))
    if len(rows) <= limit:
        return {}
    first_out = rows[limit]
    if time.last_n:
        keep = (lambda t: t > first_out) if rows[0] != first_out else (lambda t: t >= first_out)
    else:
        keep = (lambda t: t < first_out) if rows[0] != first_out else (lambda t: t <= first_out)
    for r in results:
        kept = [row for row in r.rows if keep(row.time)]
        r.cut, r.rows = len(kept) < len(r.rows), kept
    kept = [row for r in results for row in r.rows]
    prop = time.timeproperty
    low_text, high_text = time.written_bounds()
    oldest = represent.written_time(min(kept, key=lambda row: row.time), prop)
    newest = represent.written_time(max(kept, key=lambda row: row.time), prop)
    if time.last_n:
        return {"Content-Range": f"date-time {high_text or newest}-{oldest}/{time.last_n}"}
    return {"Content-Range": f"date-time {low_text or oldest}-{newest}/*"}
