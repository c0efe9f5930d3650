"""The three linked slice views (orthoviews) and the 1-or-3 views layout switch.

Layout of 3 views: XY top left, YZ (z across) to its right sharing its rows, XZ below it
sharing its columns, the legend in the fourth cell. Column and row sizes follow the physical
extents (an anisotropic stack gets thinner XZ/YZ views), within bounds that keep them usable.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from emstudio.gui.label_session import LabelSession
from emstudio.gui.layers import LayerSet
from emstudio.gui.legend import Legend
from emstudio.gui.plane_loader import PlaneLoader
from emstudio.gui.proofread_session import ProofreadSession
from emstudio.gui.slice_view import SliceView
from emstudio.gui.viewstate import AXIS_TITLES, LAYOUT, PLANE_AXES, VOLUME, ViewState

MIN_SHARE, MAX_SHARE = 0.2, 0.5  # of the width (height) given to the YZ column (XZ row)
FIT_MARGIN = 1.03


class ViewerGrid(QWidget):
    """Owns the three SliceViews; ``views[axis]``."""

    def __init__(
        self,
        state: ViewState,
        layers: LayerSet,
        loader: PlaneLoader,
        labels: LabelSession,
        proofread: ProofreadSession,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.views = [
            SliceView(axis, state, layers, loader, labels, proofread) for axis in range(3)
        ]
        for view in self.views:
            view.fit_requested = self.fit
            view.canvas.box.sigResized.connect(self._view_resized)
        self.legend = Legend(state, layers)
        self.top = QSplitter(Qt.Orientation.Horizontal)
        self.bottom = QSplitter(Qt.Orientation.Horizontal)
        self.rows = QSplitter(Qt.Orientation.Vertical)
        self.top.addWidget(self.views[0])
        self.top.addWidget(self.views[2])
        self.bottom.addWidget(self.views[1])
        self.bottom.addWidget(self.legend)
        self.rows.addWidget(self.top)
        self.rows.addWidget(self.bottom)
        for one, other in ((self.top, self.bottom), (self.bottom, self.top)):
            one.splitterMoved.connect(lambda *_, a=one, b=other: b.setSizes(a.sizes()))
        self._build_toolbar()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(self.toolbar)
        layout.addWidget(self.rows, 1)
        state.subscribe(self._on_state)

    @property
    def settled(self) -> bool:
        return all(view.settled for view in self.views if view.isVisibleTo(self))

    def fit(self) -> None:
        """Zoom out until every visible view shows its whole plane; centre on the volume."""
        shown = [view for view in self.views if view.isVisibleTo(self)] or self.views
        zoom = max(view.zoom_to_fit() for view in shown) * FIT_MARGIN
        centre = [n * v / 2 for n, v in zip(self.state.shape, self.state.voxel_size, strict=True)]
        self.state.set_camera(tuple(centre), zoom, fitted=True)  # type: ignore[arg-type]

    def actual_size(self) -> None:
        """One voxel (the finest in-plane size) per screen pixel, centred on the cursor."""
        voxel = self.state.voxel_size
        centre = [(c + 0.5) * v for c, v in zip(self.state.cursor, voxel, strict=True)]
        axes = {0, 1, 2} if self.state.views == 3 else set(PLANE_AXES[self.state.single_axis])
        self.state.set_camera(tuple(centre), min(voxel[a] for a in axes))  # type: ignore[arg-type]

    def _view_resized(self) -> None:
        if self.state.fitted:
            self.fit()

    # -- layout ---------------------------------------------------------------------------------
    def _on_state(self, topic: str) -> None:
        if topic == LAYOUT:
            self._apply_layout()
        elif topic == VOLUME:
            self._proportion()
            self.fit()

    def _apply_layout(self) -> None:
        single = self.state.views == 1
        axis = self.state.single_axis
        for view in self.views:
            view.setVisible(not single or view.axis == axis)
        self.legend.setVisible(not single)
        self.bottom.setVisible(not single or axis == 1)
        self.top.setVisible(not single or axis != 1)
        self.one_button.setChecked(single)
        self.three_button.setChecked(not single)
        self.plane_combo.setEnabled(single)
        self.plane_combo.setCurrentIndex(axis)
        for view in self.views:
            if view.isVisibleTo(self):
                view.refresh()
        if self.state.fitted:
            self.fit()

    def _proportion(self) -> None:
        z, y, x = (n * v for n, v in zip(self.state.shape, self.state.voxel_size, strict=True))
        across = min(MAX_SHARE, max(MIN_SHARE, z / (x + z)))
        down = min(MAX_SHARE, max(MIN_SHARE, z / (y + z)))
        total = 10_000
        self.top.setSizes([round(total * (1 - across)), round(total * across)])
        self.bottom.setSizes(self.top.sizes())
        self.rows.setSizes([round(total * (1 - down)), round(total * down)])

    def _build_toolbar(self) -> None:
        self.one_button = QPushButton("1 view")
        self.three_button = QPushButton("3 views")
        group = QButtonGroup(self)
        for button in (self.one_button, self.three_button):
            button.setCheckable(True)
            group.addButton(button)
        self.three_button.setChecked(True)
        self.one_button.setToolTip("Show one slice view, large (the plane chosen on the right)")
        self.three_button.setToolTip("Show the XY, XZ and YZ views, linked by the crosshair")
        self.one_button.clicked.connect(lambda: self.state.set_layout(1))
        self.three_button.clicked.connect(lambda: self.state.set_layout(3))
        self.plane_combo = QComboBox()
        self.plane_combo.setToolTip("The plane the single view shows (XY, XZ or YZ)")
        self.plane_combo.addItems(AXIS_TITLES)
        self.plane_combo.setEnabled(False)
        self.plane_combo.activated.connect(lambda axis: self.state.set_layout(1, axis))
        fit = QPushButton("Fit")
        fit.setToolTip("Show the whole plane in every view (or double-click a view)")
        fit.clicked.connect(self.fit)
        actual = QPushButton("1:1")
        actual.setToolTip("One voxel per screen pixel, around the cursor")
        actual.clicked.connect(self.actual_size)
        hint = QLabel("Wheel, PgUp/PgDn: slices · Ctrl+wheel: zoom · drag: pan")
        hint.setToolTip(
            "Click: move the crosshair (the other views follow) and select the object there\n"
            "Ctrl+click: add an object to the selection (or take it out)\n"
            "Wheel, arrow keys, PgUp/PgDn: previous/next slice (Shift: 10 at a time)\n"
            "Ctrl+wheel or right-drag: zoom · drag: pan · double-click: fit"
        )
        hint.setStyleSheet("color: palette(placeholder-text);")
        hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.toolbar = QHBoxLayout()
        self.toolbar.setContentsMargins(4, 4, 4, 0)
        for widget in (self.one_button, self.three_button, self.plane_combo, fit, actual):
            self.toolbar.addWidget(widget)
        self.toolbar.addSpacing(12)
        self.toolbar.addWidget(hint, 1)
