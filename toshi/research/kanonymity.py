"""k-anonymity over the quasi-identifiers: every combination of generalised quasi-identifier values
that is released is shared by at least k distinct residents (not merely k rows: one resident's
yearly check-ups would otherwise make a group of one). Records of rarer combinations are suppressed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence


def k_anonymous(rows: Sequence[dict], quasi: Sequence[str], k: int, person: str) -> tuple[list[dict], int]:
    """(the rows whose combination of `quasi` values is shared by at least k distinct `person`s, how
    many rows were suppressed)."""
    people: dict[tuple, set] = defaultdict(set)
    for row in rows:
        people[tuple(row[q] for q in quasi)].add(row[person])
    kept = [row for row in rows if len(people[tuple(row[q] for q in quasi)]) >= k]
    return kept, len(rows) - len(kept)
