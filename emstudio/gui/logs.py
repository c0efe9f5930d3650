"""The GUI's log files: Python logging, faulthandler crash traces, uncaught exceptions."""

from __future__ import annotations

import faulthandler
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType
from typing import IO

from emstudio.gui.locations import log_dir

LOG_FILE = "gui.log"
FAULT_FILE = "gui-crash.log"
_fault_stream: IO[str] | None = None  # must stay open for faulthandler
_handler: logging.Handler | None = None


def install_logging() -> Path:
    """Log to ``gui.log`` and send fatal-error tracebacks (segfaults...) to ``gui-crash.log``."""
    global _fault_stream, _handler
    folder = log_dir()
    if _handler is None:
        _handler = RotatingFileHandler(
            folder / LOG_FILE, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
        _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(_handler)
        root.setLevel(logging.INFO)
    if _fault_stream is None:
        _fault_stream = open(folder / FAULT_FILE, "a", encoding="utf-8")  # noqa: SIM115
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        _fault_stream.write(f"--- emstudio GUI started {started}, pid {os.getpid()}\n")
        _fault_stream.flush()
        faulthandler.enable(_fault_stream, all_threads=True)
    return folder


ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


def install_excepthook(show: Callable[[str], None]) -> ExceptHook:
    """Log uncaught exceptions with their traceback and tell the user in one sentence.

    Returns the previous hook, to put back when the GUI is gone.
    """

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, exc, tb))
        logging.getLogger("emstudio.gui").error("uncaught exception:\n%s", text)
        if sys.__stderr__ is not None:
            sys.__stderr__.write(text)
        if issubclass(kind, KeyboardInterrupt):
            return
        show(
            f"Something went wrong inside emstudio: {exc}\n\n"
            f"The details were written to {log_dir() / LOG_FILE}. "
            "Please include that file when you report the problem."
        )

    previous = sys.excepthook
    sys.excepthook = hook
    return previous
