"""Travel times over the town's road graph (RoadNode, RoadSegment: undirected, length in metres)."""

from __future__ import annotations

import heapq
import math

BUS_METRES_PER_SECOND = 25_000 / 3600   # 25 km/h on the town's hill roads


class Roads:
    def __init__(self, metres_per_second: float = BUS_METRES_PER_SECOND):
        self.speed = metres_per_second
        self.edges: dict[str, list[tuple[str, float]]] = {}
        self._from: dict[str, dict[str, float]] = {}

    def add(self, a: str, b: str, metres: float) -> None:
        self.edges.setdefault(a, []).append((b, metres))
        self.edges.setdefault(b, []).append((a, metres))
        self._from.clear()

    def metres(self, a: str, b: str) -> float | None:
        if a == b:
            return 0.0
        if a not in self._from:
            self._from[a] = self._dijkstra(a)
        found = self._from[a].get(b)
        return None if found is None or found == math.inf else found

    def seconds(self, a: str, b: str) -> int | None:
        metres = self.metres(a, b)
        return None if metres is None else round(metres / self.speed)

    def _dijkstra(self, source: str) -> dict[str, float]:
        best = {source: 0.0}
        queue = [(0.0, source)]
        while queue:
            distance, node = heapq.heappop(queue)
            if distance > best.get(node, math.inf):
                continue
            for neighbour, length in self.edges.get(node, ()):
                through = distance + length
                if through < best.get(neighbour, math.inf):
                    best[neighbour] = through
                    heapq.heappush(queue, (through, neighbour))
        return best
