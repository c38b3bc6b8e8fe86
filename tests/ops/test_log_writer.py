"""The server's log handler (toshi/ops/logs.py Buffered): lines wait in memory and are written
together by a background thread, at once for a warning, and on close, in whole lines of at most
PIPE_BUF bytes a write; the access log's lines made without a LogRecord are the lines logging would
have written."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
from support import wait_until

from toshi.ops.logs import Buffered, JsonLines, OncePerMinute, TextLines, quick_handler

HOUR = 3600.0  # a writer that does not wake during a test: what it writes, flush() or a warning wrote


class Writes(io.StringIO):
    """A stream that remembers each write."""

    def __init__(self):
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


@pytest.fixture
def logger():
    """A logger of its own with one Buffered handler whose writer sleeps; closed afterwards."""
    # outside logging's registry (as `child` below): no dictConfig, logger class or disabling that an
    # earlier test or another thread of this worker applies can reach it
    made = logging.Logger(f"toshi.test-log-writer.{uuid.uuid4().hex}")
    made.propagate = False
    made.setLevel(logging.INFO)
    handler = Buffered(Writes(), every=HOUR)
    handler.setFormatter(TextLines())
    made.addHandler(handler)
    yield made
    made.removeHandler(handler)
    handler.close()


def stream(logger) -> Writes:
    return logger.handlers[0].stream


def test_info_lines_wait_until_the_writer_runs(logger):
    logger.info("one")
    logger.info("two")
    assert stream(logger).getvalue() == ""
    logger.handlers[0].flush()
    assert [line.rsplit(": ", 1)[1] for line in stream(logger).getvalue().splitlines()] == ["one", "two"]
    assert len(stream(logger).writes) == 1  # both lines in one write


def test_the_background_writer_writes_without_being_asked():
    handler = Buffered(Writes(), every=0.01)
    handler.setFormatter(TextLines())
    try:
        handler.handle(logging.LogRecord("toshi.test", logging.INFO, "", 0, "by itself", (), None))
        assert wait_until(lambda: "by itself" in handler.stream.getvalue(), 10)
    finally:
        handler.close()


def test_a_warning_writes_what_waits_at_once_in_order(logger):
    logger.info("before")
    logger.warning("trouble")
    assert [line.rsplit(": ", 1)[1] for line in stream(logger).getvalue().splitlines()] == ["before", "trouble"]


def test_closing_writes_every_line_left(logger):
    for n in range(5):
        logger.info("line %d", n)
    handler = logger.handlers[0]
    handler.close()
    assert [line.rsplit(": ", 1)[1] for line in handler.stream.getvalue().splitlines()] == \
        [f"line {n}" for n in range(5)]


def test_too_many_waiting_lines_are_written_without_the_writer():
    handler = Buffered(Writes(), every=HOUR, most=10)
    handler.setFormatter(TextLines())
    try:
        for n in range(10):
            handler.handle(logging.LogRecord("toshi.test", logging.INFO, "", 0, f"n{n}", (), None))
        assert handler.stream.getvalue().count("\n") == 10
    finally:
        handler.close()


def test_a_write_carries_whole_lines_and_at_most_pipe_buf_bytes(logger):
    for n in range(300):
        logger.info("%04d %s", n, "x" * 80)
    logger.handlers[0].flush()
    writes = stream(logger).writes
    assert len(writes) > 1
    assert all(len(chunk.encode()) <= Buffered.CHUNK and chunk.endswith("\n") for chunk in writes)
    assert [line.split(": ", 1)[1][:4] for line in "".join(writes).splitlines()] == [f"{n:04d}" for n in range(300)]


def test_a_broken_stream_does_not_fail_the_caller():
    class Broken(io.StringIO):
        def write(self, text):
            raise OSError("EPIPE")

    handler = Buffered(Broken(), every=HOUR)
    handler.setFormatter(TextLines())
    try:
        handler.handle(logging.LogRecord("toshi.test", logging.WARNING, "", 0, "lost", (), None))
        handler.flush()
    finally:
        handler.close()


ACCESS = {"method": "GET", "path": "/ngsi-ld/v1/types", "query": ["type"], "status": 200, "duration_ms": 1.25,
          "bytes": 12, "tenant": "toyono", "principal": "local", "request_id": "r1"}


def access_record(created: float) -> logging.LogRecord:
    record = logging.LogRecord("toshi.access", logging.INFO, "", 0, "%s", ("GET /ngsi-ld/v1/types?type 200",), None)
    record.created, record.msecs, record.fields = created, (created % 1) * 1000, ACCESS
    return record


@pytest.mark.parametrize("created", [1_764_000_000.0, 1_764_000_000.999, 1_764_000_123.4567])
def test_a_text_line_made_without_a_record_is_the_line_logging_writes(created):
    record = access_record(created)
    made = TextLines().line(created, "INFO", "toshi.access", record.getMessage(), ACCESS)
    assert made == TextLines().format(record)


def test_a_json_line_made_without_a_record_is_the_line_logging_writes():
    record = access_record(1_764_000_000.25)
    made = JsonLines().line(record.created, "INFO", "toshi.access", record.getMessage(), ACCESS)
    assert json.loads(made) == json.loads(JsonLines().format(record))
    assert json.loads(made)["tenant"] == "toyono"


def test_the_quick_way_is_taken_only_when_nothing_else_would_see_the_record(logger):
    child = logging.Logger(logger.name + ".access")  # outside logging's registry: nothing global reaches it
    child.parent = logger
    assert quick_handler(child) is logger.handlers[0]
    logger.handlers[0].addFilter(OncePerMinute())  # the server's own filter lets info lines through
    assert quick_handler(child) is logger.handlers[0]
    other = logging.NullHandler()
    logger.addHandler(other)
    try:
        assert quick_handler(child) is None
    finally:
        logger.removeHandler(other)
    child.addFilter(lambda record: True)
    try:
        assert quick_handler(child) is None
    finally:
        child.filters.clear()


def test_a_handler_takes_quick_lines_only_with_its_own_formatter_and_level():
    handler = Buffered(Writes(), every=HOUR)
    handler.setFormatter(logging.Formatter("%(message)s"))
    try:
        assert not handler.takes_lines(logging.INFO)
        handler.setFormatter(TextLines())
        assert handler.takes_lines(logging.INFO)
        handler.setLevel(logging.WARNING)
        assert not handler.takes_lines(logging.INFO)
    finally:
        handler.close()
