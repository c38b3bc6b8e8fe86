"""The NGSI-v2 scenarios of bench/run.py: the same data, the same load, the /v2 API.

    python3 bench/v2_bench.py                 # every v2 scenario, 10 s each
    python3 bench/v2_bench.py --quick         # 3 s each
    python3 bench/v2_bench.py --scenario v2-get --duration 5

The data is loaded as bench/run.py loads it (1,000 Shelters, 100,000 WeatherObserved, through NGSI-LD
upserts: both APIs share one store), then wrk drives /v2: GET /v2/entities/{id}, PATCH
/v2/entities/{id}/attrs, GET /v2/entities?type=...&q=...&limit=100 and POST /v2/op/update batches
of 100 new entities. Options are those of bench/run.py (same harness, same report format).
"""

from __future__ import annotations

import sys
import time
from urllib.parse import quote

import bench_data
import run

V2 = "/v2"


def v2_query_path(q: str) -> str:
    return f"{V2}/entities?type={bench_data.WEATHER_TYPE}&q={quote(q)}&limit=100"


def v2_rows(query_entities: int) -> list[run.Row]:
    n = f"{query_entities:,}"
    shelters = f"{run.SHELTERS:,}"
    return [
        run.Row("v2-get", "get", "toshi", "get.lua",
                {**run.shelter_options(V2 + "/entities/{id}", "200"), "body_prefix": "{"},
                f"GET /v2/entities/{{id}}, random of {shelters} Shelters"),
        run.Row("v2-update", "update", "toshi", "v2_update.lua",
                {**run.shelter_options(V2 + "/entities/{id}/attrs", "204"), "attr": "occupancy"},
                f'PATCH /v2/entities/{{id}}/attrs {{"occupancy": {{"value": N}}}}, random of {shelters}'),
        run.Row("v2-query", "query", "toshi", "query.lua",
                {"path": v2_query_path(run.QUERY_BROAD), "expect": "200", "body_prefix": "[{"},
                f"GET /v2/entities?type=WeatherObserved&q={run.QUERY_BROAD}&limit=100 over {n}"),
        run.Row("v2-query-selective", "query", "toshi", "query.lua",
                {"path": v2_query_path(run.QUERY_SELECTIVE), "expect": "200", "body_prefix": "[{"},
                f"GET /v2/entities?type=WeatherObserved&q={run.QUERY_SELECTIVE}&limit=100 over {n}"),
        run.Row("v2-batch", "batch", "toshi", "v2_batch.lua",
                {"path": V2 + "/op/update", "size": str(run.BATCH_SIZE), "expect": "204"},
                f"POST /v2/op/update append, {run.BATCH_SIZE} new AirQualityObserved per request",
                per_request=run.BATCH_SIZE),
    ]


def v2_match_count(port: int, path: str) -> str:
    """bench/run.py's match_count with the v2 count (options=count, Fiware-Total-Count)."""
    started = time.perf_counter()
    run.request(port, "GET", path)
    alone_ms = (time.perf_counter() - started) * 1000
    status, headers, body = run.request(port, "GET", path.replace("limit=100", "limit=1") + "&options=count")
    if status != 200:
        return f"count check failed: HTTP {status} {body[:120]!r}"
    return (f"matches {int(headers.get('fiware-total-count', '0')):,} entities; "
            f"one page alone (no concurrent load) took {alone_ms:.1f} ms")


def main(argv: list[str] | None = None) -> int:
    run.all_rows = v2_rows
    run.match_count = v2_match_count
    return run.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
