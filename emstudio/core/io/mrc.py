"""MRC volumes (.mrc, .rec, .map, .st, .ali, .mrcs).

mrcfile (``mrcfile.mmap``, ``permissive=False``) validates the header and gives shape, dtype and
the data offset; slabs are then read with plain file reads, so the resident memory stays at one
slab (reading through the memory map would keep every touched page resident).

The header's voxel size is in ångström (divided by 10 for nm); a zero voxel size means unknown.
Data are (sections, rows, columns) = (z, y, x) as stored; mode 0 is int8 and mode 6 uint16, as
mrcfile reads them. Complex modes are refused.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import mrcfile
import numpy as np

from emstudio.core.errors import InputFileError
from emstudio.core.io.base import SourceInfo, VoxelSize
from emstudio.core.io.source_base import SourceBase, require_stack
from emstudio.core.io.units import voxel_size_nm

MRC_SUFFIXES = (".mrc", ".rec", ".map", ".st", ".ali", ".mrcs")


class MrcSource(SourceBase):
    """A 3D volume from an MRC file, read through a memory map in z-slabs."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        notes: list[str] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                self._mrc = mrcfile.mmap(self._path, mode="r", permissive=False)
            except (ImportError, MemoryError):
                raise
            except ValueError as exc:
                if "mmap length" in str(exc) or "greater than file size" in str(exc):
                    raise InputFileError(
                        self._path, "is truncated: its header describes more data than it holds"
                    ) from exc
                raise InputFileError(self._path, f"is not a readable MRC file: {exc}") from exc
            except Exception as exc:
                raise InputFileError(self._path, f"is not a readable MRC file: {exc}") from exc
        notes.extend(dict.fromkeys(f"mrcfile: {w.message}" for w in caught))
        try:
            self.info = self._describe(notes)
            data = self._mrc.data
            self._file_dtype = data.dtype
            self._offset = int(data.offset) if isinstance(data, np.memmap) else None
        finally:
            self._mrc.close()
        if self._offset is None:  # pragma: no cover - mrcfile.mmap always gives a memmap
            raise InputFileError(self._path, "has no readable data block")
        _, y, x = self.info.shape
        self._plane_bytes = y * x * self._file_dtype.itemsize
        self._file = open(self._path, "rb")  # noqa: SIM115 - closed in _close()

    def _describe(self, notes: list[str]) -> SourceInfo:
        data, header = self._mrc.data, self._mrc.header
        if data is None or data.ndim < 2:
            raise InputFileError(self._path, "is an MRC file without image data")
        if data.ndim == 4:
            raise InputFileError(
                self._path, f"is a volume stack {data.shape}; only one 3D volume is supported"
            )
        if np.issubdtype(data.dtype, np.complexfloating):
            raise InputFileError(
                self._path, f"holds complex values (mode {int(header.mode)}); not an image"
            )
        shape = (1, *data.shape) if data.ndim == 2 else tuple(int(n) for n in data.shape)
        require_stack(self._path, shape)  # type: ignore[arg-type]
        mapping = (int(header.mapc), int(header.mapr), int(header.maps))
        if mapping != (1, 2, 3):
            notes.append(
                f"The header permutes the axes (MAPC, MAPR, MAPS = {mapping}); the stored order "
                "(sections, rows, columns) is used as (z, y, x)."
            )
        if self._mrc.is_image_stack():
            notes.append(
                "The file is an image stack (e.g. a tilt series); its images are used as z."
            )
        return SourceInfo(
            path=str(self._path),
            format="mrc",
            shape=shape,  # type: ignore[arg-type]
            dtype=np.dtype(data.dtype).newbyteorder("="),
            voxel_size=self._voxel_size(mapping, notes),
            notes=notes,
        )

    def _voxel_size(self, mapping: tuple[int, int, int], notes: list[str]) -> VoxelSize:
        size = self._mrc.voxel_size  # ångström along the file's x, y, z
        xyz = [float(size.x), float(size.y), float(size.z)]
        if not any(v > 0 for v in xyz) or not all(np.isfinite(xyz)):
            return VoxelSize()
        mapc, mapr, maps = mapping
        if sorted(mapping) != [1, 2, 3]:
            notes.append(f"Invalid axis mapping {mapping}; the voxel size is unknown.")
            return VoxelSize()
        zyx = [xyz[maps - 1], xyz[mapr - 1], xyz[mapc - 1]]
        if all(v == 1.0 for v in zyx):
            notes.append("The header gives 1 Å voxels, often a placeholder; check the voxel size.")
        nm = [v / 10.0 if v > 0 else None for v in zyx]
        return voxel_size_nm(nm, "mrc", notes, "MRC header")

    def _read(self, z0: int, z1: int) -> np.ndarray:
        nbytes = (z1 - z0) * self._plane_bytes
        data = np.empty(nbytes // self._file_dtype.itemsize, dtype=self._file_dtype)
        self._file.seek(self._offset + z0 * self._plane_bytes)
        got = self._file.readinto(memoryview(data).cast("B"))
        if got < nbytes:
            raise InputFileError(
                self._path, f"is truncated: plane {z0 + got // self._plane_bytes + 1} is missing"
            )
        if not self._file_dtype.isnative:
            data = data.byteswap(inplace=True).view(self.info.dtype)
        return data.reshape(self.slab_shape(z1 - z0))

    def _close(self) -> None:
        self._file.close()
