"""The reader interface every input format implements, and the voxel-size record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from emstudio.core.errors import VoxelSizeError

ZYX = tuple[int, int, int]

MAX_VOXEL_NM = 1e6  # 1 mm: larger voxel sizes are typing mistakes (pm for nm, an exponent)


@dataclass(frozen=True)
class VoxelSize:
    """Physical voxel size in nanometres, axis order (z, y, x).

    ``known`` is False when no file metadata gave it and the user did not say: the value is then
    (1, 1, 1) and every display of it says "unknown".
    """

    z: float = 1.0
    y: float = 1.0
    x: float = 1.0
    known: bool = False
    origin: str = "unknown"  # where it came from: "ome-xml", "imagej", "mrc", "user", ...

    @property
    def zyx(self) -> tuple[float, float, float]:
        return (self.z, self.y, self.x)

    def describe(self) -> str:
        if not self.known:
            return "unknown (1 x 1 x 1 recorded)"
        return f"{self.z:g} x {self.y:g} x {self.x:g} nm (z, y, x; from {self.origin})"

    def to_json(self) -> dict:
        return {"zyx_nm": list(self.zyx), "known": self.known, "origin": self.origin}

    @classmethod
    def from_json(cls, data: dict) -> VoxelSize:
        z, y, x = (float(v) for v in data["zyx_nm"])
        return cls(z, y, x, known=bool(data["known"]), origin=str(data.get("origin", "unknown")))

    @classmethod
    def parse(cls, text: str) -> VoxelSize:
        """Parse a user's "Z,Y,X" (nm). Raises VoxelSizeError (a ValueError) with a readable
        message."""
        parts = [p.strip() for p in text.split(",")]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 3:
            raise VoxelSizeError(f"voxel size must be three numbers Z,Y,X in nm, got {text!r}")
        return cls.given(values)

    @classmethod
    def given(cls, values: Sequence[float], origin: str = "user") -> VoxelSize:
        """A voxel size a person gave as (z, y, x) nm; raises VoxelSizeError unless they are
        three positive, finite numbers."""
        shown = ", ".join(str(v) for v in values)
        if len(values) != 3 or not all(np.isfinite(v) and v > 0 for v in values):
            raise VoxelSizeError(
                f"voxel size values must be three positive, finite numbers of nm, got {shown}"
            )
        if max(values) > MAX_VOXEL_NM:
            raise VoxelSizeError(
                f"voxel size {shown} nm: a voxel over {MAX_VOXEL_NM / 1e6:g} mm is no "
                "microscope's; the values are nm (10 nm = 0.01 µm)"
            )
        z, y, x = (float(v) for v in values)
        return cls(z, y, x, known=True, origin=origin)


@dataclass
class SourceInfo:
    """What a reader found out about its input, before any voxel data is read."""

    path: str
    format: str  # e.g. "tiff", "ome-tiff", "tiff-folder", "png-folder", "mrc", "hdf5", "zarr"
    shape: ZYX
    dtype: np.dtype
    voxel_size: VoxelSize = field(default_factory=VoxelSize)
    channels: int = 1  # 3 or 4 for RGB(A) data; read_slab then returns (z, y, x, c)
    notes: list[str] = field(default_factory=list)  # things the user should know


@runtime_checkable
class VolumeSource(Protocol):
    """A 3D (z, y, x) volume on disk, read in z-slabs so memory stays bounded.

    ``read_slab`` returns the raw stored values for planes [z0, z1) with the source's own dtype,
    shaped (z1 - z0, y, x), or (z1 - z0, y, x, c) when ``info.channels`` > 1 (conversion to
    uint8/uint16 is done by the caller, see ``emstudio.core.io.dtypes``).
    Readers raise ``InputFileError`` naming the file for anything wrong with the input.
    """

    info: SourceInfo

    def read_slab(self, z0: int, z1: int) -> np.ndarray: ...

    def close(self) -> None: ...
