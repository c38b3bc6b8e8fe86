"""Summarise py-spy "raw" (collapsed stack) output: where the samples went, by function.

    python3 bench/profile_summary.py bench/results/<stamp>-profile/get.txt [--top 20]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    print(summarise(args.raw.read_text(), args.top))


if __name__ == "__main__":
    main()
