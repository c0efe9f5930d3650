"""JSON-lines job events: progress (with ETA), log, metric, artifact, done, error."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

Listener = Callable[[dict[str, Any]], None]


class EventLog:
    """Writes each event as one JSON line to the job's events.jsonl and to listeners."""

    def __init__(
        self,
        path: Path | None,
        listeners: list[Listener] | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self._file = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115
        self._listeners = list(listeners or [])
        self._stream = stream
        self._start = time.monotonic()
        self._last_progress = 0.0

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
        """Progress with an ETA extrapolated from the elapsed time (rate-limited to 10/s)."""
        now = time.monotonic()
        if done < total and now - self._last_progress < 0.1:
            return
        self._last_progress = now
        elapsed = now - self._start
        eta = elapsed * (total - done) / done if done else None
        self.emit("progress", done=done, total=total, eta=eta and round(eta, 1), message=message)

    def log(self, message: str) -> None:
        self.emit("log", message=message)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
