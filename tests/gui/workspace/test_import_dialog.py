"""Import dialog: a real TIFF, detected and previewed, imported by a job of the job queue."""

from __future__ import annotations

import warnings

import numpy as np
import tifffile
from PySide6.QtCore import Qt
from workspace_helpers import settle

from emstudio.core.project import Project
from emstudio.core.volume.store import Volume
from emstudio.gui.import_dialog import preview_image


def test_import_a_tiff_as_a_queued_job(open_window, tmp_path, qtbot):
    data = np.random.default_rng(0).integers(0, 255, (8, 64, 80), dtype=np.uint8)
    stack = tmp_path / "cells.tif"
    tifffile.imwrite(
        stack,
        data,
        imagej=True,
        resolution=(100, 100),
        metadata={"spacing": 0.05, "unit": "um", "axes": "ZYX"},
    )
    path = tmp_path / "Cells.emproj"
    Project.create(path).close()
    window = open_window(path)
    page = window.project_page
    assert page.central.currentWidget() is page.empty_page
    dialog = page.open_import_dialog()
    dialog.set_paths([str(stack)])
    qtbot.waitUntil(dialog.import_button.isEnabled, timeout=10_000)
    assert "8 × 64 × 80" in dialog.detected.text() and "tiff" in dialog.detected.text()
    assert [s.value() for s in dialog.voxel] == [50, 10, 10] and not dialog.unknown.isChecked()
    assert dialog.name.text() == "cells"
    assert not dialog.preview.pixmap().isNull()
    dialog.voxel[0].setValue(40)  # the user corrects the section thickness
    manager = window.workbench.manager
    progress: list[int] = []
    manager.job_event.connect(
        lambda job, event: event["event"] == "progress" and progress.append(event["done"])
    )
    shown: list[int] = []  # the dialog's own bar follows the job (the dialog closes when done)
    dialog.progress.valueChanged.connect(shown.append)
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    job = dialog.job
    assert job in manager.active() and window.workbench.dock.isVisible()  # in the Jobs dock
    qtbot.waitUntil(lambda: page.import_dialog is None, timeout=60_000)
    assert shown
    assert window.project.catalog.job(job).status == "done"
    record = window.project.catalog.volume("cells")
    assert record.voxel_size.zyx == (40, 10, 10) and record.voxel_size.origin == "user"
    assert np.array_equal(Volume(window.project.resolve(record.path)).read(0, 8), data)
    assert page.panel.volume_item("cells") is not None
    settle(qtbot, window)
    assert page.state.image == "cells" and page.central.currentWidget() is page.viewer
    assert progress  # the job reported its progress while it ran

    again = page.open_import_dialog()  # the same name again: said in the dialog, no job
    again.set_paths([str(stack)])
    qtbot.waitUntil(again.import_button.isEnabled, timeout=10_000)
    again.name.setText("cells")
    jobs = len(window.project.catalog.jobs())
    qtbot.mouseClick(again.import_button, Qt.MouseButton.LeftButton)
    assert again.job is None and len(window.project.catalog.jobs()) == jobs
    assert "already exists" in again.message.text() and "--name" not in again.message.text()
    assert again.kind.currentData() == "image" and not again.like.isEnabled()
    again.kind.setCurrentIndex(again.kind.findData("labels"))  # labels: the image's voxel size
    assert again.like.isEnabled() and again.like.currentText() == "cells"
    assert [s.value() for s in again.voxel] == [40, 10, 10]
    assert not any(s.isEnabled() for s in again.voxel) and not again.unknown.isEnabled()
    assert again.spec().params["voxel_size_nm"] is None
    again.kind.setCurrentIndex(again.kind.findData("segmentation"))  # objects of that image
    assert again.like.isEnabled() and again.spec().inputs["like"] == "cells"  # same shape
    again.like.setCurrentIndex(again.like.findData(""))  # or one made elsewhere, alone
    assert again.spec().inputs["like"] is None and again.voxel[0].isEnabled()
    assert [s.value() for s in again.voxel] == [50, 10, 10] and again.like.isEnabled()  # file's
    again.kind.setCurrentIndex(again.kind.findData("labels"))  # labels always have an image
    assert again.like.findData("") < 0 and again.spec().inputs["like"] == "cells"
    assert again.class_names.isEnabled() and again.recode.isEnabled()
    again.name.setText("cells-labels")
    again.class_names.setText("1=membrane, oops")  # said in the dialog, no job
    qtbot.mouseClick(again.import_button, Qt.MouseButton.LeftButton)
    assert again.job is None and len(window.project.catalog.jobs()) == jobs
    assert "Class names takes VALUE=NAME items" in again.message.text()
    again.class_names.setText("1=membrane")
    again.recode.setText("0=1, 255=0")  # ISBI 2012's convention, as the guide has it
    params = again.spec().params
    assert params["classes"] == {"1": "membrane"} and params["recode"] == {"0": 1, "255": 0}
    again.kind.setCurrentIndex(again.kind.findData("image"))
    assert not again.class_names.isEnabled() and "classes" not in again.spec().params
    again.set_paths([str(stack)])  # another choice: what was said of the last one goes
    assert again.message.text() == ""
    again.reject()


def test_a_file_that_is_not_a_stack_is_explained(open_window, tmp_path, qtbot):
    path = tmp_path / "Cells.emproj"
    Project.create(path).close()
    window = open_window(path)
    dialog = window.project_page.open_import_dialog()
    flat = tmp_path / "flat.tif"
    tifffile.imwrite(flat, np.zeros((32, 32), np.uint8))
    dialog.set_paths([str(flat)])
    qtbot.waitUntil(lambda: "3D stack" in dialog.detected.text(), timeout=10_000)
    assert not dialog.import_button.isEnabled()
    dialog.reject()


def test_the_preview_of_a_float_plane_with_nan_shows_its_finite_values():
    plane = np.linspace(0.0, 1.0, 64 * 64).reshape(64, 64)
    plane[:8] = np.nan
    plane[8, :] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "invalid value encountered in cast"
        image = preview_image(plane)
    grey = np.array([[image.pixelColor(x, y).red() for x in range(64)] for y in range(64)])
    assert (grey[:9] == 0).all()  # NaN and infinities black
    assert grey[9:].max() == 255 and grey[9:].min() == 0  # the finite values stretched
