"""The server's log: text for people, JSON lines for log collectors (`log_format`), and a filter that
lets a repeated warning through once and then at most once a minute, saying how many were held back
(a receiver that is down, a broker that is lost: logged once with what to do, not a line a second)."""

from __future__ import annotations

import atexit
import logging
import threading
import time
from datetime import UTC, datetime

import orjson

REPEAT_EVERY = 60.0  # seconds between two lines of the same warning


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the access log's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


class OncePerMinute(logging.Filter):
    """Warnings and errors: the first of a kind passes, then one a minute with the count held back.
    A kind is the record's `once_per` (given with `extra=`), else its logger and message template."""

    def __init__(self, every: float = REPEAT_EVERY, clock=time.monotonic):
        super().__init__()
        self.every, self.clock = every, clock
        self._last: dict = {}  # kind -> [time shown, held back since]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        kind = getattr(record, "once_per", None) or (record.name, record.msg)
        now = self.clock()
        seen = self._last.get(kind)
        if seen is not None and now - seen[0] < self.every:
            seen[1] += 1
            return False
        if seen is not None and seen[1]:
            record.msg = f"{record.msg} ({seen[1]} more like this in the last {now - seen[0]:.0f} s)"
        self._last[kind] = [now, 0]
        if len(self._last) > 10_000:  # bounded: forget the oldest kinds
            for old in sorted(self._last, key=lambda k: self._last[k][0])[:5_000]:
                del self._last[old]
        return True


class Buffered(logging.StreamHandler):
    """A stream handler that writes each line without flushing it, and flushes twice a second (and at
    exit): one system call per request would be most of the access log's cost."""

    def __init__(self, stream=None, every: float = 0.5):
        super().__init__(stream)
        self._stop = threading.Event()
        threading.Thread(target=self._flusher, args=(every,), name="toshi-log-flush", daemon=True).start()
        atexit.register(self.flush)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)
        if record.levelno >= logging.WARNING:
            self.flush()

    def _flusher(self, every: float) -> None:
        while not self._stop.wait(every):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self.flush()
        super().close()


def tune() -> None:
    """What a log record costs, cut as the logging HOWTO's "Optimization" says: no caller lookup, no
    thread or process names (our lines name neither)."""
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


def logging_config(level: str, form: str) -> dict:
    """A logging.config.dictConfig for Toshi's and uvicorn's loggers (uvicorn applies it at start)."""
    formatter = {"()": JsonLines} if form == "json" else {
        "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    handler = {"()": Buffered, "stream": "ext://sys.stderr", "formatter": "toshi",
               "filters": ["once"]}
    loggers = {name: {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
               for name in ("toshi", "uvicorn", "uvicorn.error")}
    loggers["uvicorn.access"] = {"handlers": [], "level": "WARNING", "propagate": False}
    return {"version": 1, "disable_existing_loggers": False, "formatters": {"toshi": formatter},
            "filters": {"once": {"()": OncePerMinute}}, "handlers": {"stderr": handler}, "loggers": loggers}


def configure_logging(settings) -> dict:
    """Configure the log of this process from the settings; returns the config (for uvicorn)."""
    import logging.config

    config = logging_config(settings.log_level, settings.log_format)
    logging.config.dictConfig(config)
    return config
