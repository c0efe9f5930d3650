"""A terminal progress bar for long CLI work (redrawn in place on a TTY, sparse lines otherwise)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from emstudio.core.progress import Progress

WIDTH = 30


class ProgressBar:
    """Listener for job events that draws ``[#####.....]  45%  message  ETA 12 s``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last_decile = -1
        self._last_draw = 0.0
        self._drawn = False

    def __call__(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "progress":
            self._progress(event)
        elif kind == "log":
            self._line(str(event.get("message", "")))

    def as_progress(self) -> Progress:
        """The same bar as a core ``Progress`` callback (for work that is not a job)."""
        return lambda done, total, message: self(
            {"event": "progress", "done": done, "total": total, "message": message}
        )

    def _progress(self, event: dict) -> None:
        done, total = int(event["done"]), max(int(event["total"]), 1)
        fraction = min(done / total, 1.0)
        eta = event.get("eta")
        text = (
            f"[{'#' * int(WIDTH * fraction):{'.'}<{WIDTH}}] {fraction:4.0%}  "
            f"{event.get('message', '')}" + (f"  ETA {eta:.0f} s" if eta else "")
        )
        if self.tty:
            now = time.monotonic()
            if done < total and now - self._last_draw < 0.1:
                return
            self._last_draw = now
            self.stream.write("\r" + text[:120].ljust(120))
            self._drawn = done < total
            if not self._drawn:
                self.stream.write("\n")
        elif int(fraction * 10) != self._last_decile:
            self._last_decile = int(fraction * 10)
            self.stream.write(text + "\n")
        self.stream.flush()

    def _line(self, message: str) -> None:
        if self._drawn:
            self.stream.write("\n")
            self._drawn = False
        self.stream.write(message + "\n")
        self.stream.flush()
