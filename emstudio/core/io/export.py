"""Write a stored volume out as TIFF (ImageJ or OME BigTIFF), OME-Zarr or HDF5, with voxel size.

Every writer streams slab by slab and writes to a temporary name next to the target, renamed
into place only when complete: a failed or interrupted export leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import h5py
import numpy as np
import tifffile

from emstudio.core.destinations import check_new_file
from emstudio.core.errors import DestinationError
from emstudio.core.progress import Progress, no_progress
from emstudio.core.project.atomic import TMP_PREFIX, remove_tree
from emstudio.core.volume.store import Volume, VolumeWriter

FORMATS = {".tif": "tiff", ".tiff": "tiff", ".zarr": "zarr", ".h5": "hdf5", ".hdf5": "hdf5"}
IMAGEJ_LIMIT = 2**32 - 2**25  # ImageJ TIFFs must stay below 4 GiB; larger ones become OME BigTIFF
IMAGEJ_DTYPES = ("uint8", "uint16", "float32")  # the others (uint32 segmentations): OME TIFF


def export_format(out: Path) -> str:
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise DestinationError(
            f"{out}: unknown output format {out.suffix!r}; use .tif, .zarr or .h5."
        )
    return fmt


def export_volume(
    volume: Volume, out: Path, progress: Progress = no_progress, project_root: Path | None = None
) -> Path:
    """Write level 0 of ``volume`` to ``out`` (never inside ``project_root``); returns the path
    written."""
    fmt = export_format(Path(out))
    out = check_new_file(out, project_root)
    tmp = out.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex[:8]}-{out.name}")
    try:
        writers = {"tiff": _write_tiff, "zarr": partial(_write_zarr, name=out.stem)}
        writers.get(fmt, _write_hdf5)(volume, tmp, progress)
        os.replace(tmp, out)
    except OSError as exc:
        raise DestinationError(f"{out}: cannot write ({exc.strerror or exc}).") from exc
    finally:
        remove_tree(tmp)
    return out


def _slabs(volume: Volume, progress: Progress) -> Iterator[np.ndarray]:
    z = volume.shape[0]
    for z0, block in volume.iter_slabs():
        yield block
        progress(min(z0 + block.shape[0], z), z, f"writing planes {z0 + block.shape[0]}/{z}")


def _planes(volume: Volume, progress: Progress) -> Iterator[np.ndarray]:
    for block in _slabs(volume, progress):
        yield from block


def _write_tiff(volume: Volume, path: Path, progress: Progress) -> None:
    """ImageJ hyperstack TIFF below 4 GiB (Fiji reads its calibration), OME BigTIFF above;
    OME TIFF for the types ImageJ TIFFs cannot hold (uint32 segmentations)."""
    vz, vy, vx = volume.voxel_size.zyx
    known = volume.voxel_size.known  # an unknown size is not written: re-import says unknown
    small = int(np.prod(volume.shape)) * volume.dtype.itemsize < IMAGEJ_LIMIT
    imagej = small and volume.dtype.name in IMAGEJ_DTYPES
    options: dict = {"shape": volume.shape, "dtype": volume.dtype}
    if imagej:
        options["metadata"] = {"axes": "ZYX", **({"spacing": vz, "unit": "nm"} if known else {})}
        if known:
            options["resolution"] = (1.0 / vx, 1.0 / vy)
    else:
        physical = {f"PhysicalSize{a}": v for a, v in zip("ZYX", (vz, vy, vx), strict=True)}
        units = {f"PhysicalSize{a}Unit": "nm" for a in "ZYX"}
        options["metadata"] = {"axes": "ZYX", **(physical | units if known else {})}
    with tifffile.TiffWriter(path, bigtiff=not small, imagej=imagej, ome=not imagej) as tif:
        tif.write(_planes(volume, progress), **options)


def _write_zarr(volume: Volume, path: Path, progress: Progress, name: str) -> None:
    """OME-Zarr named ``name`` (not after the temporary folder it is written in)."""
    kind = volume.attrs.get("kind", "image")
    with VolumeWriter(path, volume.shape, volume.dtype, volume.voxel_size, kind, name) as writer:
        z0 = 0
        for block in _slabs(volume, progress):
            writer.write_slab(z0, block)
            z0 += block.shape[0]
        writer.finalize({k: v for k, v in volume.attrs.items() if k not in ("kind", "voxel_size")})


def _write_hdf5(volume: Volume, path: Path, progress: Progress) -> None:
    chunks = tuple(min(c, s) for c, s in zip((16, 128, 128), volume.shape, strict=True))
    with h5py.File(path, "w") as f:
        data = f.create_dataset(
            "data",
            shape=volume.shape,
            dtype=volume.dtype,
            chunks=chunks,
            compression="gzip",
            compression_opts=1,
        )
        z0 = 0
        for block in _slabs(volume, progress):
            data[z0 : z0 + block.shape[0]] = block
            z0 += block.shape[0]
        # element_size_um is what ilastik and Fiji's HDF5 plugin read (z, y, x in micrometres)
        if volume.voxel_size.known:
            data.attrs["element_size_um"] = np.array(volume.voxel_size.zyx) / 1000.0
        with contextlib.suppress(TypeError):
            data.attrs["axes"] = "zyx"
