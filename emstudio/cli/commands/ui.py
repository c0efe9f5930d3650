"""`emstudio gui [PROJECT]` and the default (no command): the application window."""

from __future__ import annotations

import argparse
import os

from emstudio.cli.commands._common import ArgumentValueError, has_display, parse_triple


def register(commands: argparse._SubParsersAction) -> None:
    gui = commands.add_parser("gui", help="open the application window")
    gui.add_argument("project", metavar="PROJECT", nargs="?")
    gui.add_argument(
        "--screenshot",
        metavar="OUT.png",
        help="save a screenshot of the main window once shown, then exit",
    )
    gui.add_argument(
        "--slice",
        metavar="Z,Y,X",
        help="voxel where the three views cross (the XY view shows plane Z, XZ plane Y, YZ X)",
    )
    gui.set_defaults(
        run=lambda args: open_gui(args.project, args.screenshot, parse_slice(args.slice))
    )


def parse_slice(text: str | None) -> tuple[int, int, int] | None:
    """ "Z,Y,X" -> (z, y, x) voxel indices (0 or more), or None when not given."""
    values = parse_triple(
        text, "--slice", int, lambda v: v < 0, "three voxel indices Z,Y,X (0 or more)"
    )
    return None if values is None else (values[0], values[1], values[2])


def open_gui(
    project: str | None,
    screenshot: str | None = None,
    slice_zyx: tuple[int, int, int] | None = None,
) -> int:
    """Import the GUI only now: headless commands never load Qt. Without a display a
    screenshot is drawn offscreen, and a window is refused with a message (Qt would abort)."""
    if not has_display() and not os.environ.get("QT_QPA_PLATFORM"):
        if screenshot is None:
            raise ArgumentValueError(
                "there is no display to open the window on (DISPLAY is not set). Run emstudio "
                "on the workstation's desktop, or use its commands: `emstudio run-demo` runs "
                "the demo pipeline without a window."
            )
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from emstudio.gui.app import run_gui

    return run_gui(project=project, screenshot=screenshot, slice_zyx=slice_zyx)
