"""Zarr arrays, plain Zarr groups and OME-Zarr (NGFF 0.4 and 0.5) images via ``zarr`` (v3 API).

- OME-Zarr group: multiscale 0, dataset 0 (full resolution). Its ``scale`` transform (times the
  multiscale-level one, if any) with each axis's ``unit`` gives the voxel size. Axes other than
  z, y, x (time, channel) must have length 1.
- Plain group: the one 3D array in it (searched recursively) is used.
- Plain array: used as (z, y, x); voxel size from its attributes (``emstudio.core.io.units``).
- N5 containers are refused with a conversion hint: zarr 3 does not read N5.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import zarr

from emstudio.core.errors import InputFileError
from emstudio.core.io.base import SourceInfo, VoxelSize
from emstudio.core.io.source_base import SourceBase, require_stack
from emstudio.core.io.units import to_nm, voxel_size_from_attrs, voxel_size_nm

ZARR_MARKERS = (".zgroup", ".zarray", "zarr.json")
N5_HINT = (
    "is an N5 container, which the installed zarr (version 3) cannot read. Convert it to "
    "OME-Zarr first, e.g. open it in Fiji (File > Import > HDF5/N5/Zarr/OME-NGFF, or "
    "BigDataViewer) and save it as OME-Zarr (File > Save As > HDF5/N5/Zarr/OME-NGFF)"
)


def is_zarr_dir(path: Path) -> bool:
    """True for a folder holding Zarr v2/v3 metadata, or named ``*.zarr``."""
    return path.is_dir() and (
        path.suffix.lower() == ".zarr" or any((path / m).is_file() for m in ZARR_MARKERS)
    )


def is_n5_dir(path: Path) -> bool:
    """True for an N5 root or dataset folder (``attributes.json``) or a folder named ``*.n5``."""
    if not path.is_dir():
        return False
    if path.suffix.lower() == ".n5":
        return True
    attributes = path / "attributes.json"
    if not attributes.is_file():
        return False
    try:
        meta = json.loads(attributes.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and ("n5" in meta or {"dimensions", "dataType"} <= meta.keys())


class ZarrSource(SourceBase):
    """A 3D volume from a Zarr array, a plain Zarr group or an OME-Zarr image."""

    _is_ome = False
    _lead: tuple[int, ...] = ()  # index 0 for each length-1 axis before z (time, channel)
    _shape: tuple[int, int, int] = (0, 0, 0)

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        if is_n5_dir(self._path):
            raise InputFileError(self._path, N5_HINT)
        notes: list[str] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                node = zarr.open(str(self._path), mode="r")
            except (ImportError, MemoryError):
                raise
            except Exception as exc:
                raise InputFileError(self._path, f"is not a readable Zarr store: {exc}") from exc
            if isinstance(node, zarr.Array):
                array, voxel = node, self._attrs_voxel_size(node, notes)
            else:
                array, voxel = self._from_group(node, notes)
        notes.extend(dict.fromkeys(f"zarr: {w.message}" for w in caught))
        self._array = array
        self.info = SourceInfo(
            path=str(self._path),
            format="ome-zarr" if self._is_ome else "zarr",
            shape=self._shape,
            dtype=np.dtype(array.dtype).newbyteorder("="),
            voxel_size=voxel,
            notes=notes,
        )

    def _attrs_voxel_size(self, array: zarr.Array, notes: list[str]) -> VoxelSize:
        self._set_axes(array, ["z", "y", "x"] if array.ndim == 3 else None)
        return voxel_size_from_attrs(array.attrs.asdict(), "zarr", notes) or VoxelSize()

    def _from_group(self, group: zarr.Group, notes: list[str]) -> tuple[zarr.Array, VoxelSize]:
        attrs = group.attrs.asdict()
        ome = attrs.get("ome", attrs)
        multiscales = ome.get("multiscales") if isinstance(ome, Mapping) else None
        if multiscales:
            self._is_ome = True
            return self._from_multiscales(group, multiscales[0], notes)
        arrays = [
            (name, a) for name, a in group.members(max_depth=None) if isinstance(a, zarr.Array)
        ]
        volumes = [(n, a) for n, a in arrays if a.ndim == 3]
        if len(volumes) == 1:
            return volumes[0][1], self._attrs_voxel_size(volumes[0][1], notes)
        found = ", ".join(f"{n} {a.shape} {a.dtype}" for n, a in (volumes or arrays)[:10])
        if not volumes:
            raise InputFileError(
                self._path, f"is a Zarr group without a 3D array; arrays found: {found or 'none'}"
            )
        raise InputFileError(
            self._path,
            f"is a Zarr group with several 3D arrays: {found}; "
            f"open one of them as {self._path}/{volumes[0][0]}",
        )

    def _from_multiscales(
        self, group: zarr.Group, multiscale: Mapping, notes: list[str]
    ) -> tuple[zarr.Array, VoxelSize]:
        datasets = multiscale.get("datasets") or []
        if not datasets:
            raise InputFileError(self._path, "is an OME-Zarr image without datasets")
        dataset = datasets[0]
        try:
            array = group[str(dataset["path"])]
        except (KeyError, TypeError) as exc:
            raise InputFileError(
                self._path, f"OME-Zarr dataset {dataset.get('path')!r} is missing"
            ) from exc
        if not isinstance(array, zarr.Array):
            raise InputFileError(self._path, f"OME-Zarr dataset {dataset['path']!r} is a group")
        axes = multiscale.get("axes")
        if axes is None:  # NGFF <= 0.2: always (t, c, z, y, x)
            axes = ["t", "c", "z", "y", "x"][-array.ndim :]
        names = [str(a["name"] if isinstance(a, Mapping) else a).lower() for a in axes]
        units = [a.get("unit") if isinstance(a, Mapping) else None for a in axes]
        if len(names) != array.ndim:
            raise InputFileError(
                self._path, f"OME-Zarr axes {names} do not match the array shape {array.shape}"
            )
        self._set_axes(array, names)
        scale = _scale(dataset, array.ndim)
        outer = _scale(multiscale, array.ndim)
        if scale is None:
            notes.append("The OME-Zarr image has no scale transform; voxel size unknown.")
            return array, VoxelSize()
        if outer is not None:
            scale = [a * b for a, b in zip(scale, outer, strict=True)]
        sizes = {n: to_nm(s, u) for n, s, u in zip(names, scale, units, strict=True)}
        zyx = [sizes[a] for a in "zyx"]
        if all(s is None for s in zyx):
            shown = ", ".join(
                f"{n}={s:g} {u or '(no unit)'}" for n, s, u in zip(names, scale, units, strict=True)
            )
            notes.append(f"The OME-Zarr scale ({shown}) has no length units; voxel size unknown.")
            return array, VoxelSize()
        return array, voxel_size_nm(zyx, "ome-zarr", notes, "OME-Zarr scale")

    def _set_axes(self, array: zarr.Array, names: Sequence[str] | None) -> None:
        """Record how array axes map to (z, y, x); refuse other non-trivial axes."""
        shape = tuple(int(n) for n in array.shape)
        if names is None and array.ndim == 2:
            require_stack(self._path, (1, *shape))
        if names is None:
            raise InputFileError(
                self._path, f"is a {array.ndim}D Zarr array {shape}; a 3D (z, y, x) array is needed"
            )
        if names[-2:] == ["y", "x"] and "z" not in names:
            require_stack(self._path, (1, shape[-2], shape[-1]))
        extra = [(n, s) for n, s in zip(names, shape, strict=True) if n not in "zyx" and s > 1]
        if names[-3:] != ["z", "y", "x"] or extra:
            described = ", ".join(f"{n}={s}" for n, s in zip(names, shape, strict=True))
            raise InputFileError(
                self._path,
                f"has axes ({described}); emstudio needs one z, y, x volume without "
                "channels or time points (other axes must have length 1)",
            )
        self._lead = (0,) * (array.ndim - 3)
        self._shape = (shape[-3], shape[-2], shape[-1])
        require_stack(self._path, self._shape)

    def _read(self, z0: int, z1: int) -> np.ndarray:
        try:
            block = self._array[(*self._lead, slice(z0, z1))]
        except (ImportError, MemoryError):
            raise
        except Exception as exc:
            raise InputFileError(
                self._path, f"planes {z0}..{z1 - 1} could not be read: {exc}"
            ) from exc
        return np.asarray(block, dtype=self.info.dtype)


def _scale(node: Mapping, ndim: int) -> list[float] | None:
    """The ``scale`` of a node's coordinateTransformations, or None."""
    for transform in node.get("coordinateTransformations") or []:
        if isinstance(transform, Mapping) and transform.get("type") == "scale":
            values = transform.get("scale")
            if isinstance(values, list) and len(values) == ndim:
                try:
                    return [float(v) for v in values]
                except (TypeError, ValueError):
                    return None
    return None
