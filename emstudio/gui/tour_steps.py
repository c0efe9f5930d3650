"""The steps of the guided tour, and how each finds the real menu action it triggers.

A step names its menu and words of its action's text instead of holding the action: the tour
then uses exactly what the menus offer (the Run menu is filled when a project opens) and does
not depend on how the dialogs behind them are built.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu


@dataclass(frozen=True)
class TourStep:
    """One step: what it is for, and the menu action its button triggers."""

    key: str
    title: str
    text: str  # for a biologist: what this step does and what to do in it
    button: str  # the text of the step's button
    menu: str  # the top-level menu that holds the action
    words: str  # the action is the first in ``menu`` whose text contains these words
    needs_project: bool = True
    dock: str | None = None  # object name of a workspace dock the step also shows


STEPS = (
    TourStep(
        "demo",
        "Open the demo project",
        "The demo project holds a small synthetic EM volume with mitochondria, nuclei and "
        "membranes, and its ground truth. It is safe to try everything on it: your own data "
        "is never touched. Creating it takes a few seconds the first time.",
        "Open the demo project",
        "File",
        "open demo project",
        needs_project=False,
    ),
    TourStep(
        "import",
        "Import a stack",
        "Bring your own stack into a project: a multi-page TIFF, a folder of slices, MRC, HDF5 "
        "or OME-Zarr. The import keeps the voxel size when the file records it, and asks for "
        "it otherwise. The demo already has its image, so you can close the dialog.",
        "Open the import dialog",
        "Project",
        "import volume",
    ),
    TourStep(
        "paint",
        "Paint a few slices",
        "Teach the computer what you see: pick a class in the Paint panel on the left (for "
        "example mitochondria) and paint a few objects in any of the three views. A few "
        "painted slices are enough to start. Strokes go into the label set shown in the "
        "Display panel (in the demo, its ground truth); with none shown, the first stroke "
        "creates one. Save labels keeps your work.",
        "Pick the brush",
        "Edit",
        "tool: brush",
        dock="dock-paint",
    ),
    TourStep(
        "train",
        "Train a model",
        "Train a neural network (a U-Net) on the painted slices. Choose the image and the "
        "label set, then start: the training runs in the background and the Jobs panel "
        "at the bottom shows its progress. A GPU makes it much faster, the CPU works too.",
        "Open the training dialog",
        "Run",
        "train",
    ),
    TourStep(
        "predict",
        "Predict",
        "Apply the trained model to the whole volume. The result is a probability map per "
        "class, shown over the image when the job is done.",
        "Open the prediction dialog",
        "Run",
        "predict",
    ),
    TourStep(
        "segment",
        "Segment objects",
        "Turn the probability maps into separate objects: each mitochondrion gets its own "
        "number (an instance segmentation).",
        "Open the segmentation dialog",
        "Run",
        "segment",
    ),
    TourStep(
        "mesh",
        "Make 3D meshes",
        "Build a 3D surface for every object, in nanometres, to look at in 3D or to open in "
        "other programs (Blender, ParaView, MeshLab).",
        "Open the mesh dialog",
        "Run",
        "mesh",
    ),
    TourStep(
        "measure",
        "Measure",
        "Measure every object (volume, surface area, shape) and get a table you can save as "
        "CSV and open in Excel, R or Prism.",
        "Open the measurement dialog",
        "Run",
        "measure",
    ),
)


def plain(text: str) -> str:
    """Menu text as words: no mnemonic ``&``, no trailing ellipsis, lower case."""
    return text.replace("&", "").replace("…", "").replace("...", "").strip().lower()


def find_menu(window: QMainWindow, title: str) -> QMenu | None:
    """The top-level menu of ``window`` called ``title`` (ignoring ``&``)."""
    for action in window.menuBar().actions():
        if action.menu() is not None and plain(action.text()) == plain(title):
            return action.menu()
    return None


def find_action(window: QMainWindow, step: TourStep) -> QAction | None:
    """The action a step triggers, searched in its menu and submenus; None if not there."""
    menu = find_menu(window, step.menu)
    return _search(menu, step.words) if menu is not None else None


def _search(menu: QMenu, words: str) -> QAction | None:
    for action in menu.actions():
        if action.menu() is not None:
            found = _search(action.menu(), words)
            if found is not None:
                return found
        elif not action.isSeparator() and words in plain(action.text()):
            return action
    return None
