"""ISO 8601 UTC timestamps with milliseconds (2026-11-24T09:00:00.123Z): the one spelling stored, so
stored times compare as strings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from toshi.core.entity import now_iso

__all__ = ["format_utc", "in_seconds", "normalize", "now_iso", "parse"]


def parse(value: str) -> datetime:
    """An ISO 8601 time; one without a zone is taken as UTC. ValueError when it is not a time."""
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"not an ISO 8601 time: {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def normalize(value: str) -> str:
    return format_utc(parse(value))


def in_seconds(seconds: float) -> str:
    """The time `seconds` from now."""
    return format_utc(datetime.now(UTC) + timedelta(seconds=seconds))
