"""The server's log: text for people, JSON lines for log collectors (`log_format`), written in batches
by a background thread (`Buffered`), and a filter that lets a repeated warning through once and then
at most once a minute, saying how many were held back (a receiver that is down, a broker that is lost:
logged once with what to do, not a line a second)."""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from datetime import UTC, datetime

import orjson

REPEAT_EVERY = 60.0  # seconds between two lines of the same warning


class TextLines(logging.Formatter):
    """`time level logger: message`, the time as logging writes it (local, with milliseconds)."""

    fields = False  # line() does not write the access log's fields

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._stamp = (-1, "")  # (a second, its local time written out)

    def line(self, created: float, levelname: str, name: str, message: str, fields: dict | None) -> str:
        """The line of a record never made (the access log's): what format() gives for it."""
        second = int(created)
        seen, stamp = self._stamp
        if second != seen:  # one strftime a second, not one a line
            stamp = time.strftime(self.default_time_format, time.localtime(second))
            self._stamp = (second, stamp)
        return f"{stamp},{int((created - second) * 1000):03d} {levelname} {name}: {message}"


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the access log's fields."""

    fields = True

    def format(self, record: logging.LogRecord) -> str:
        line = _json_object(record.created, record.levelname, record.name, record.getMessage(),
                            getattr(record, "fields", None))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()

    def line(self, created: float, levelname: str, name: str, message: str, fields: dict | None) -> str:
        """The line of a record never made (the access log's)."""
        return orjson.dumps(_json_object(created, levelname, name, message, fields)).decode()


def _json_object(created: float, levelname: str, name: str, message: str, fields: dict | None) -> dict:
    line = {"time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
            "level": levelname.lower(), "logger": name, "message": message}
    if fields:
        line.update(fields)
    return line


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
    """A stream handler that gathers lines in memory and writes them together: from a background
    thread every `every` seconds (0.1), at once for a warning or worse, when `most` lines wait, and on
    close and at exit — so a clean stop loses no line, and a kill -9 at most the last tenth of a
    second's. One write(2) per line was most of the access log's cost (stderr writes each line
    through). A write carries whole lines and at most PIPE_BUF bytes, so the lines of several worker
    processes sharing one pipe (journald's) never cut into each other."""

    CHUNK = 4096  # PIPE_BUF on Linux: a write to a pipe of at most this many bytes is atomic

    def __init__(self, stream=None, every: float = 0.1, most: int = 2_000):
        super().__init__(stream)
        self.most = most
        self._lines: deque[str] = deque()  # append and popleft are safe across threads
        self._writing = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._flusher, args=(every,), name="toshi-log-flush", daemon=True).start()
        atexit.register(self.flush)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING or len(self._lines) >= self.most:
            self.flush()

    def takes_lines(self, levelno: int) -> bool:
        """Whether line() may log at this level: the formatter is one of ours (it has `line`) and the
        level is not below the handler's own."""
        return levelno >= self.level and hasattr(self.formatter, "line")

    def line(self, levelno: int, name: str, message: str, fields: dict | None) -> None:
        """Log a line without making a LogRecord (the access log's, one a request; see takes_lines)."""
        self._lines.append(self.formatter.line(time.time(), logging.getLevelName(levelno), name, message, fields)
                           + self.terminator)
        if len(self._lines) >= self.most:
            self.flush()

    def flush(self) -> None:
        with self._writing:  # one writer at a time, so the lines keep their order
            lines = self._lines
            while lines:
                chunk = [lines.popleft()]
                size = len(chunk[0])
                while lines and size + len(lines[0]) <= self.CHUNK:
                    chunk.append(lines.popleft())
                    size += len(chunk[-1])
                try:
                    self.stream.write("".join(chunk))
                    self.stream.flush()
                except Exception:  # a closed or broken stream: these lines cannot be written anywhere
                    lines.clear()
                    return

    def _flusher(self, every: float) -> None:
        while not self._stop.wait(every):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self.flush()
        super().close()


def quick_handler(logger: logging.Logger) -> Buffered | None:
    """The one Buffered handler an info record of `logger` would reach, with nothing else on the way
    (no filter of a logger, no other handler); None when the record must go through logging."""
    found = None
    current = logger
    while current is not None:
        if current.filters or current.disabled:
            return None
        for handler in current.handlers:  # OncePerMinute lets every info line through
            if found is not None or type(handler) is not Buffered or \
                    not all(isinstance(f, OncePerMinute) for f in handler.filters):
                return None
            found = handler
        if not current.propagate:
            break
        current = current.parent
    return found


def tune() -> None:
    """What a log record costs, cut as the logging HOWTO's "Optimization" says: no caller lookup, no
    thread or process names (our lines name neither)."""
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


def logging_config(level: str, form: str) -> dict:
    """A logging.config.dictConfig for Toshi's and uvicorn's loggers (uvicorn applies it at start)."""
    formatter = {"()": JsonLines if form == "json" else TextLines}
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
