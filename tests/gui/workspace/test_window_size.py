"""Opening a project keeps a 1440 x 900 main window at that size (1440-wide screens), and no
stray dock tab bar is drawn over the views."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTabBar
from workspace_helpers import settle

from emstudio.core.crowd.importer import CrowdSource, import_crowd
from emstudio.core.crowd.simulate import SimulationOptions
from emstudio.core.crowd.simulate_labels import simulate_from_labels
from emstudio.core.measure.run import measure_segmentation
from emstudio.core.mesh.meshset import create_mesh_set
from emstudio.core.project import Project
from emstudio.core.synth.demo import add_demo_volumes

SCREEN = (1440, 900)
LONG_FOLDER = "a-folder-with-a-rather-long-name-as-projects-on-a-lab-share-have" * 2


@pytest.fixture(scope="module")
def full_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo with meshes, measurements and a crowd label set: every dock has content."""
    root = tmp_path_factory.mktemp("full")
    path = root / "full.emproj"
    with Project.create(path) as project:
        add_demo_volumes(project, shape=(8, 256, 256))
        create_mesh_set(project, "truth-mito-instances")
        measure_segmentation(project, "truth-mito-instances")
        simulate_from_labels(project, "truth-classes", root / "sim.csv",
                             SimulationOptions(volunteers=8, seed=0), slices=4)  # fmt: skip
        import_crowd(project, CrowdSource(str(root / "sim.csv")), image="em", name="crowd",
                     expert="truth-classes", expert_class="nuclear_envelope")  # fmt: skip
    return path


def stray_tab_bars(window) -> list[list[str]]:
    """Dock tab bars drawn in the window (Qt parks unused ones outside) that are not the one
    bar of a tab group: fewer than two tabs, or tabs of another drawn bar."""
    page = window.project_page
    drawn = [
        [bar.tabText(i) for i in range(bar.count())]
        for bar in page.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly)
        if bar.isVisible() and page.rect().intersects(bar.geometry())
    ]
    titles = [title for tabs in drawn for title in tabs]
    return [tabs for tabs in drawn if len(tabs) < 2 or any(titles.count(t) > 1 for t in tabs)]


@pytest.mark.parametrize("which", ["demo", "full"])
def test_opening_a_project_keeps_a_1440_by_900_window(
    make_window, qtbot, demo_template, full_template, tmp_path, which
):
    path = tmp_path / LONG_FOLDER / "project.emproj"  # the empty-project hint shows this path
    shutil.copytree(demo_template if which == "demo" else full_template, path)
    for attempt in ("first", "arrangement saved"):  # the second run restores the dock layout
        window = make_window()
        window.resize(*SCREEN)
        qtbot.waitUntil(lambda w=window: w.size().toTuple() == SCREEN)
        assert window.open_project(path)
        settle(qtbot, window)
        qtbot.wait(100)  # the docks placed one event later
        assert window.size().toTuple() == SCREEN, attempt
        assert window.minimumSizeHint().width() <= SCREEN[0], attempt
        assert stray_tab_bars(window) == [], attempt
        assert window.close_project() and window.close()
