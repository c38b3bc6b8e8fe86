"""What `toshi status` shows: the town's figures (entities, subscriptions, devices, the notification
queue, dead letters, the last backup), from the running server or read from a stopped one's store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from toshi.ops.files import DIRECTORY

LAST_BACKUP = "last-backup.json"


def record_backup(data_dir: str | Path, file: str | Path, rows: int | None = None) -> None:
    """Note a finished backup in the data directory (for `toshi status`); never fails a backup."""
    try:
        where = Path(data_dir) / DIRECTORY
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        (where / LAST_BACKUP).write_text(json.dumps({
            "file": str(Path(file).resolve()), "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rows": rows}))
    except OSError:
        pass


def last_backup(data_dir: str | Path) -> dict | None:
    try:
        return json.loads((Path(data_dir) / DIRECTORY / LAST_BACKUP).read_text())
    except (OSError, ValueError):
        return None


def _count(db, table: str) -> int:
    try:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except Exception:  # the feature's table is not made yet: it holds nothing
        return 0


def town_figures(store, data_dir: str | Path) -> dict:
    db = store.db
    return {"entities": _count(db, "entities"), "subscriptions": _count(db, "subscriptions"),
            "devices": _count(db, "iot_devices"), "queued notifications": store.outbox.pending(),
            "dead letters": _count(db, "dead_letters"), "last backup": last_backup(data_dir)}


def render(status: dict) -> str:
    """`toshi status` as lines of `name: value`."""
    lines = []
    for name, value in status.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items() if v is not None)
        lines.append(f"{name + ':':<22} {'-' if value is None else value}")
    return "\n".join(lines)


def uptime(seconds: float) -> str:
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    return (f"{days} d " if days else "") + f"{hour:02d}:{minute:02d}:{second:02d}"
