"""Entry point of the ``emstudio`` executable: GUI without a command, headless commands else.

Exit codes: 0 success, 2 bad input (one clear message, no traceback), 1 internal error.
"""

from __future__ import annotations

import argparse
import faulthandler
import multiprocessing
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import datetime

from emstudio import __version__
from emstudio.cli.commands import analysis, crowd, data, demo, jobs, ml, project, ui
from emstudio.cli.commands._common import FINISHED
from emstudio.core.errors import EmstudioError, environment_problem
from emstudio.core.paths import log_dir

COMMAND_MODULES = (project, data, demo, jobs, ui, crowd, analysis, ml)


class UsageError(EmstudioError):
    """Bad command-line usage found after parsing (e.g. a malformed value)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emstudio",
        description="Volume EM to segmentations, meshes and measurements. "
        "Without a command, opens the application window.",
    )
    parser.add_argument("--version", action="version", version=f"emstudio {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation: a tiny import -> train -> predict -> segment -> mesh "
        "run and one offscreen 3D frame; exit 0 when all works",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    multiprocessing.freeze_support()
    enable_faulthandler()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        from emstudio.cli.selftest import run_self_test

        return run_self_test()
    FINISHED.clear()
    try:
        if args.command is None:  # the window, like `emstudio gui`
            return ui.open_gui(None)
        return int(args.run(args) or 0)
    except EmstudioError as exc:
        print(f"emstudio: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if FINISHED:  # the interrupt came after the job's work was committed
            print(
                f"emstudio: interrupted after job {FINISHED[-1].job_id[:8]} had finished; "
                "its results are kept",
                file=sys.stderr,
            )
            return 0
        print("emstudio: cancelled", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of the output left (``emstudio info P | head``)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's final flush must not fail again
        return 141  # what a shell reports for a command stopped by SIGPIPE
    except Exception as exc:
        problem = environment_problem(exc)
        if problem is not None:  # a read-only place or a full disk: the user's to fix
            print(f"emstudio: error: {problem}", file=sys.stderr)
            return 2
        return report_internal_error()


def report_internal_error() -> int:
    """Keep the details of the exception being handled, tell the user where; exit code 1."""
    report = log_dir() / "last-crash.txt"
    try:  # the latest under a name people are told, and each one kept (a crash of another
        details = traceback.format_exc()  # project must not overwrite the one to send)
        report.write_text(details, encoding="utf-8")
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        (log_dir() / f"crash-{stamp}-{os.getpid()}.txt").write_text(details, encoding="utf-8")
        where = f" (details in {report})"
    except OSError:
        where = ""
    print(f"emstudio: internal error: {sys.exc_info()[1]!r}{where}", file=sys.stderr)
    traceback.print_exc(limit=3)
    return 1


def enable_faulthandler() -> None:
    """Write a native crash's stack to the log folder (and stderr)."""
    try:
        handle = open(log_dir() / "faulthandler.log", "a", encoding="utf-8")  # noqa: SIM115
        faulthandler.enable(handle)
    except OSError:
        faulthandler.enable()
