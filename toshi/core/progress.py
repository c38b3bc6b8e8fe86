"""Progress of a long command (backup, restore, migrate, import, extract, loading the demo town): a
live bar per step on a terminal (rich), plain lines when the output is a log or a pipe — one when a
step finishes, and one every few seconds while a long step goes on.

A command hands `Progress` (a callable) to the work: `progress(step, done, total)`; `total` may be
None when it is not known beforehand (the rows of a query read page by page)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    WIDTH = 30

    def __init__(self, out: TextIO | None = None, *, live: bool | None = None, plain_every: float = 5.0,
                 finished_lines: bool = True):
        self.out = sys.stderr if out is None else out
        isatty = getattr(self.out, "isatty", None)
        self.live = (bool(isatty()) if isatty is not None else False) if live is None else live
        self.plain_every = plain_every
        self.finished_lines = finished_lines  # plain: a line for each finished step too
        self._step: str | None = None
        self._finished = False
        self._shown = 0.0
        self._bar = None  # rich's Progress, made on the first live report
        self._task = None

    def __call__(self, step: str, done: int, total: int | None) -> None:
        if step != self._step:
            self._end_step()
            self._step, self._finished = step, False
            self._shown = time.monotonic()
            if self.live:
                self._task = self._rich().add_task(step, total=total)
        finished = total is not None and done >= total
        if self.live:
            self._bar.update(self._task, completed=done, total=total)
        elif finished and not self._finished and self.finished_lines:
            self._write(self.line(step, done, total))
        elif not finished and time.monotonic() - self._shown >= self.plain_every:
            self._write(self.line(step, done, total))
            self._shown = time.monotonic()
        self._finished = self._finished or finished

    @classmethod
    def line(cls, step: str, done: int, total: int | None) -> str:
        """One plain line: `  entities  [######....]  5000/10000  50%` (or `  rows  5000 done`)."""
        if total is None:
            return f"  {step:<26} {done:>9} done"
        share = done / total if total else 1.0
        filled = round(cls.WIDTH * share)
        return f"  {step:<26} [{'#' * filled}{'.' * (cls.WIDTH - filled)}] {done:>9}/{total:<9} {share:>4.0%}"

    def close(self) -> None:
        """End the current step (and the live display)."""
        self._end_step()
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _end_step(self) -> None:
        if self._bar is not None and self._task is not None:
            task = self._bar.tasks[-1]
            if task.total is None:  # a step of unknown length ends where it got to
                self._bar.update(self._task, total=task.completed)
            self._bar.refresh()
        self._step, self._task = None, None

    def _write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _rich(self):
        if self._bar is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            console = Console(file=self.out, force_terminal=True) if self.live else Console(file=self.out)
            self._bar = Bar(TextColumn("  {task.description:<26}"), BarColumn(), MofNCompleteColumn(),
                            TaskProgressColumn(), TimeRemainingColumn(), console=console)
            self._bar.start()
        return self._bar
