"""Which stored volumes the viewers show: the image and one volume per overlay slot (Qt-free).

Overlay slots take volumes of one kind each: ``labels`` (semantic classes, the label set that
painting edits), ``instances`` (segmentations, uint32 ids) and ``probability`` (predictions,
uint8 0..255). A volume fits an image when it has the image's shape.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from emstudio.core.project import Project, VolumeRecord
from emstudio.core.volume.store import Volume
from emstudio.gui.planes import level_factors
from emstudio.gui.viewstate import OVERLAYS, ViewState

log = logging.getLogger(__name__)
SLOT_KINDS = {"labels": "labels", "instances": "segmentation", "probability": "prediction"}
SLOT_TITLES = {
    "labels": "Semantic labels",
    "instances": "Instances",
    "probability": "Probability map",
}


@dataclass
class Layer:
    """One displayed volume: its catalog record and its opened store."""

    record: VolumeRecord
    volume: Volume
    path: str = field(init=False)

    def __post_init__(self) -> None:
        self.path = str(self.volume.path)

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def classes(self) -> dict[int, str]:
        raw = self.record.attrs.get("classes") or {}
        return {int(k): str(v) for k, v in raw.items()}

    def factor(self, level: int) -> tuple[int, int, int]:
        """Voxels of level 0 per voxel of ``level``, along z, y, x."""
        return level_factors(self.volume)[level]

    def level_for(self, axes: tuple[int, int], nm_per_pixel: float) -> int:
        """The coarsest level still at least as fine as the screen along both in-plane axes."""
        chosen = 0
        for level in range(1, self.volume.levels):
            scale = self.volume.scales[level]
            if all(scale[a] <= nm_per_pixel * 1.01 for a in axes):
                chosen = level
        return chosen

    def index_at(self, axis: int, index: int, level: int) -> int:
        """The plane of ``level`` that holds plane ``index`` of level 0."""
        size = self.volume.level_shape(level)[axis]
        return min(index // self.factor(level)[axis], size - 1)


class LayerSet:
    """The image and overlay volumes of the open project, kept in step with a ViewState."""

    def __init__(self, state: ViewState) -> None:
        self.state = state
        self.project: Project | None = None
        self.image: Layer | None = None
        self.overlays: dict[str, Layer | None] = dict.fromkeys(OVERLAYS)
        self.problems: list[str] = []  # volumes that could not be opened, for the user

    def open(self, project: Project) -> None:
        """Show the project's first image with the newest overlay of each kind."""
        self.project = project
        self.problems.clear()
        images = project.catalog.volumes("image")
        self.show_image(images[0].name if images else None)

    def close(self) -> None:
        self.project = None
        self.image = None
        self.overlays = dict.fromkeys(OVERLAYS)

    def show_image(self, name: str | None) -> None:
        """Display another image (or none) and fill the overlay slots with what fits it."""
        assert self.project is not None
        record = self.project.catalog.volume(name) if name else None
        self.image = self._layer(record) if record else None
        if self.image is None:
            self.overlays = dict.fromkeys(OVERLAYS)
            self.state.set_image(None, (1, 1, 1), (1.0, 1.0, 1.0))
            return
        self.state.set_image(record.name, record.shape, self.image.volume.voxel_size.zyx)
        newest: tuple[str, str] | None = None
        for slot in OVERLAYS:
            fitting = self.candidates(slot)
            self.overlays[slot] = self._layer(fitting[-1]) if fitting else None
            if fitting and (newest is None or fitting[-1].created_at >= newest[1]):
                newest = (slot, fitting[-1].created_at)
        for slot in OVERLAYS:
            layer = self.overlays[slot]
            shown = layer is not None and (slot == "labels" or newest[0] == slot)  # type: ignore[index]
            self.state.set_overlay(slot, volume=layer.name if layer else None, visible=shown)

    def candidates(self, slot: str) -> list[VolumeRecord]:
        """Volumes that can fill ``slot`` for the current image (oldest first)."""
        if self.project is None or self.image is None:
            return []
        image = self.image.record
        return [
            r
            for r in self.project.catalog.volumes(SLOT_KINDS[slot])
            if tuple(r.shape) == tuple(image.shape) and r.image_id in (None, image.id)
        ]

    def assign(self, slot: str, name: str | None) -> None:
        """Put another volume (or none) into an overlay slot; it becomes visible."""
        assert self.project is not None
        record = self.project.catalog.volume(name) if name else None
        layer = self._layer(record) if record else None
        self.overlays[slot] = layer
        self.state.set_overlay(
            slot, volume=layer.name if layer else None, visible=layer is not None
        )

    def reload(self) -> None:
        """Re-read the records (after a rename, delete or new volume), keeping the choices (a
        deleted overlay's slot takes the newest other volume that fits)."""
        if self.project is None:
            return
        records = {r.id: r for r in self.project.catalog.volumes()}
        if self.image is None or self.image.record.id not in records:
            self.open(self.project)
            return
        self.image.record = records[self.image.record.id]
        self.state.image = self.image.name
        for slot, layer in self.overlays.items():
            if layer is None:
                continue
            record = records.get(layer.record.id)
            if record is None:  # deleted: the newest other volume that fits takes its place
                fitting = self.candidates(slot)
                successor = self._layer(fitting[-1]) if fitting else None
                self.overlays[slot] = successor
                visible = successor is not None and self.state.overlays[slot].visible
                self.state.set_overlay(
                    slot, volume=successor.name if successor else None, visible=visible
                )
            else:
                layer.record = record
                self.state.set_overlay(slot, volume=record.name)

    def layer(self, slot: str) -> Layer | None:
        return self.image if slot == "image" else self.overlays.get(slot)

    def _layer(self, record: VolumeRecord) -> Layer | None:
        """The opened volume, or None (noted in ``problems``) when its store cannot be read."""
        assert self.project is not None
        try:
            return Layer(record, Volume(self.project.resolve(record.path)))
        except Exception as exc:  # missing or damaged store: the app goes on without it
            log.warning("cannot open volume %r: %r", record.name, exc)
            self.problems.append(
                f"{record.name!r} cannot be read ({exc.__class__.__name__}: {exc})"
            )
            return None
