"""The fixtures of the watch-over tests (the town they run in: watchover_town.py)."""

from watchover_town import watch_town  # noqa: F401 - fixtures
