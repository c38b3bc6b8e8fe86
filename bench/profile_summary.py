"""Summarise py-spy "raw" (collapsed stack) output: where the samples went, by function.

    python3 bench/profile_summary.py bench/results/<stamp>-profile/get.txt [--top 20]
    python3 bench/profile_summary.py bench/results/<stamp>-profile/update.txt --phases --rate 4500

`--phases` sorts every sample into one phase of a request (parse, expand, validate, the write's SQL,
index maintenance, change log, history, audit, render, HTTP, ...) by the deepest frame of the stack
that names one (PHASES below); with `--rate` (operations per second the profiled run achieved) it
also gives microseconds per operation, on the assumption that the server's CPU was saturated.

Each raw line is "frame;frame;...;frame COUNT" with frames like "name (path/file.py:123)". Line
numbers are dropped so one function is one entry. "self" counts samples with the function on top of
the stack, "total" samples with it anywhere in the stack.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE_NO = re.compile(r":\d+\)$")


def parse(raw: str) -> list[tuple[list[str], int]]:
    stacks = []
    for line in raw.splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append(([_LINE_NO.sub(")", f) for f in frames.split(";")], int(count)))
    return stacks


def tally(stacks: list[tuple[list[str], int]]) -> tuple[Counter, Counter, int]:
    own, total = Counter(), Counter()
    for frames, count in stacks:
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    return own, total, sum(count for _, count in stacks)


def summarise(raw: str, top: int = 20) -> str:
    own, total, samples = tally(parse(raw))
    if not samples:
        return "no samples"
    lines = [f"{samples} samples", "", "self %  function"]
    lines += [f"{100 * n / samples:5.1f}  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "total % function (toshi code only)"]
    mine = [(frame, n) for frame, n in total.most_common() if "toshi/" in frame or frame.startswith("toshi")]
    lines += [f"{100 * n / samples:5.1f}  {frame}" for frame, n in mine[:top]]
    return "\n".join(lines)


# (phase, patterns a frame may contain): the deepest frame of a stack that matches decides its phase.
PHASES = [
    ("HTTP server (uvicorn, Starlette, event loop)", ("uvicorn/", "starlette/", "asyncio/", "uvloop", "httptools")),
    ("middleware (gate, access log, web, consent)", ("toshi/auth/gate.py", "toshi/ops/", "toshi/web/middleware",
                                                    "toshi/consent/purpose.py", "toshi/auth/")),
    ("API handler, JSON body decoding (NGSI-LD / NGSI-v2)", ("toshi/ngsild/", "toshi/ngsiv2/", "toshi/formats/ngsild_http.py",
                                        "toshi/formats/ngsild_params.py")),
    ("parse payload", ("toshi/formats/ngsild_parse.py", "orjson", "toshi/ngsiv2/parse")),
    ("expand (JSON-LD)", ("toshi/jsonld/",)),
    ("validate (GeoJSON, values)", ("_geometry", "shapely", "geojson", "toshi/query/geo.py:check")),
    ("edit: merge into the entity", ("toshi/core/entity.py", "toshi/core/diff.py")),
    ("write path: group commit, guard", ("toshi/core/write.py", "toshi/core/access.py")),
    ("SQL: entity row", ("SqliteTransaction.put", "SqliteTransaction.delete", "PostgresTransaction.put",
                         "PostgresTransaction.delete", "toshi/store/pgsql.py", "load_entity")),
    ("SQL: index maintenance (types, values, geo)", ("_index_", "index_entity", "valueindex.py", "_geo_boxes",
                                                     "entity_bboxes", "_typed", "_value_rows")),
    ("change log (record, delta)", ("sql_changes.py", "toshi/core/delta.py")),
    ("SQL: the store's bulk flush (entity rows, indexes, change log: one executemany per table)",
     ("SqliteTransaction.flush", "PostgresTransaction.flush")),
    ("COMMIT (and BEGIN)", ("SqliteStore.transaction", "PostgresStore.transaction")),
    ("temporal history rows", ("toshi/temporal/",)),
    ("audit record (hash chain)", ("toshi/audit/", "Security.record_writes", "Security._write_record")),
    ("IoT commands listener", ("toshi/iot/",)),
    ("notifier (change-log consumer)", ("toshi/notify/", "toshi/subscriptions/")),
    ("render", ("ngsild_render", "render_cache")),
    ("WAL checkpoint (background thread)", ("Checkpointer._run",)),
]


def phase_of(frames: list[str]) -> str:
    for frame in reversed(frames):  # leaf first
        for name, patterns in PHASES[::-1]:  # the more specific phases are listed last
            if any(p in frame for p in patterns):
                return name
    return "other"


def phases(raw: str, rate: float | None = None) -> str:
    """Samples by phase (see PHASES), with microseconds per operation when `rate` is given."""
    stacks = parse(raw)
    counts, samples = Counter(), sum(n for _, n in stacks)
    for frames, n in stacks:
        counts[phase_of(frames)] += n
    if not samples:
        return "no samples"
    head = "| phase | share |" + (" µs per operation |" if rate else "")
    lines = [head, "| --- | ---: |" + (" ---: |" if rate else "")]
    for name, n in counts.most_common():
        share = n / samples
        lines.append(f"| {name} | {100 * share:.1f} % |" + (f" {share * 1e6 / rate:.1f} |" if rate else ""))
    lines.append(f"| all ({samples} samples) | 100 % |" + (f" {1e6 / rate:.1f} |" if rate else ""))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--phases", action="store_true", help="samples by phase of a request (PHASES)")
    parser.add_argument("--rate", type=float, help="operations/s of the profiled run (µs per operation)")
    args = parser.parse_args()
    if args.phases:
        print(phases(args.raw.read_text(), args.rate))
    else:
        print(summarise(args.raw.read_text(), args.top))


if __name__ == "__main__":
    main()
