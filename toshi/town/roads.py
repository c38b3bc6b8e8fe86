"""A road graph: nodes with coordinates, undirected edges with lengths in metres, and Dijkstra.

Used by the generator (to place addresses and facilities on the graph) and by services (a service
rebuilds the graph from the RoadNode / RoadSegment entities it reads through the API)."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable

EARTH_RADIUS = 6_371_000.0


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lon, lat) points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS * math.asin(math.sqrt(h))


class RoadGraph:
    def __init__(self):
        self.position: dict[str, tuple[float, float]] = {}
        self.neighbours: dict[str, dict[str, float]] = {}

    def add_node(self, node: str, lon: float, lat: float) -> None:
        self.position[node] = (lon, lat)
        self.neighbours.setdefault(node, {})

    def add_edge(self, a: str, b: str, length: float) -> None:
        shortest = min(length, self.neighbours[a].get(b, math.inf))
        self.neighbours[a][b] = self.neighbours[b][a] = shortest

    def edges(self) -> Iterable[tuple[str, str, float]]:
        for a, around in self.neighbours.items():
            for b, length in around.items():
                if a < b:
                    yield a, b, length

    def distances_from(self, source: str) -> dict[str, float]:
        """Shortest road distance from `source` to every reachable node (Dijkstra with a heap)."""
        best = {source: 0.0}
        queue = [(0.0, source)]
        while queue:
            distance, node = heapq.heappop(queue)
            if distance > best[node]:
                continue
            for neighbour, length in self.neighbours[node].items():
                candidate = distance + length
                if candidate < best.get(neighbour, math.inf):
                    best[neighbour] = candidate
                    heapq.heappush(queue, (candidate, neighbour))
        return best

    def path(self, source: str, target: str) -> list[str]:
        """The nodes of a shortest path from `source` to `target` ([] when unreachable)."""
        best, before = {source: 0.0}, {}
        queue = [(0.0, source)]
        while queue:
            distance, node = heapq.heappop(queue)
            if node == target:
                break
            if distance > best[node]:
                continue
            for neighbour, length in self.neighbours[node].items():
                if distance + length < best.get(neighbour, math.inf):
                    best[neighbour], before[neighbour] = distance + length, node
                    heapq.heappush(queue, (distance + length, neighbour))
        if target not in best:
            return []
        nodes = [target]
        while nodes[-1] != source:
            nodes.append(before[nodes[-1]])
        return nodes[::-1]

    def nearest_node(self, lon: float, lat: float) -> str:
        return min(self.position, key=lambda node: metres(self.position[node], (lon, lat)))

    def connected(self) -> bool:
        if not self.position:
            return True
        return len(self.distances_from(next(iter(self.position)))) == len(self.position)
