"""`emstudio gui [PROJECT]` and the default (no command): the application window."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    gui = commands.add_parser("gui", help="open the application window")
    gui.add_argument("project", metavar="PROJECT", nargs="?")
    gui.add_argument(
        "--screenshot",
        metavar="OUT.png",
        help="save a screenshot of the main window once shown, then exit",
    )
    gui.set_defaults(run=lambda args: open_gui(args.project, args.screenshot))


def open_gui(project: str | None, screenshot: str | None = None) -> int:
    """Import the GUI only now: headless commands never load Qt."""
    from emstudio.gui.app import run_gui

    return run_gui(project=project, screenshot=screenshot)
