"""JSON-lines job events: progress (with ETA), log, metric, artifact, done, error.

Writing: ``EventLog`` in the job process. Reading: ``EventReader`` in whoever watches the job;
it takes bytes as they come, keeps a half-written last line for later, and turns a line that is
not an event (a library printing to stdout, a crash message) into a ``log`` event.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

Listener = Callable[[dict[str, Any]], None]
EVENTS_FILE = "events.jsonl"


class EventLog:
    """Writes each event as one JSON line to the job's events.jsonl, a stream and listeners.

    ``check_cancel`` is called on every progress report; it raises to stop the job.
    """

    def __init__(
        self,
        path: Path | None,
        listeners: list[Listener] | None = None,
        stream: TextIO | None = None,
        check_cancel: Callable[[], None] | None = None,
    ) -> None:
        self._file = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115
        self._listeners = list(listeners or [])
        self._stream = stream
        self._check_cancel = check_cancel
        self._start = time.monotonic()
        self._last_progress = 0.0
        self._first_progress: tuple[float, int] | None = None  # (time, done) of the first report

    def emit(self, event: str, **fields: Any) -> None:
        record = {"event": event, "t": round(time.monotonic() - self._start, 3), **fields}
        line = json.dumps(record)
        for sink in (self._file, self._stream):
            if sink is not None:
                sink.write(line + "\n")
                sink.flush()
        for listener in self._listeners:
            listener(record)

    def progress(self, done: int, total: int, message: str = "") -> None:
        """Progress with an ETA (rate-limited to 10/s), extrapolated at the pace kept since the
        first report: a job's set-up (loading libraries and data) does not count as work."""
        if self._check_cancel is not None:
            self._check_cancel()
        now = time.monotonic()
        if self._first_progress is None:
            self._first_progress = (now, done)
        if done < total and now - self._last_progress < 0.1:
            return
        self._last_progress = now
        since, done_then = self._first_progress
        eta = (now - since) * (total - done) / (done - done_then) if done > done_then else None
        self.emit("progress", done=done, total=total, eta=eta and round(eta, 1), message=message)

    def log(self, message: str) -> None:
        self.emit("log", message=message)

    def warn(self, message: str) -> None:
        """Log ``message`` as a warning, where there is one ("" is none)."""
        if message:
            self.log(f"warning: {message}")

    def metric(self, name: str, step: int, value: float) -> None:
        self.emit("metric", name=name, step=step, value=value)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class EventReader:
    """Incremental parser of a JSON-lines byte stream (a file being appended, or a pipe)."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """Events of every complete line in ``data`` (plus what was pending)."""
        lines = (self._pending + data).split(b"\n")
        self._pending = lines.pop()  # b"" after a complete line; else a half-written line
        return [event for line in lines if (event := parse_line(line)) is not None]


def parse_line(line: bytes) -> dict[str, Any] | None:
    """One event from one line; garbage becomes a log event; blank lines are skipped."""
    text = line.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    try:
        event = json.loads(text)
    except ValueError:
        event = None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return {"event": "log", "message": text, "unparsed": True}
    return event


class EventTail:
    """Follows a job's events.jsonl: each ``poll()`` returns the events appended since."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._offset = 0
        self._reader = EventReader()

    def poll(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        self._offset += len(data)
        return self._reader.feed(data)
