"""Write a stored volume out as TIFF (ImageJ or OME BigTIFF), OME-Zarr or HDF5, with voxel size.

Every writer streams slab by slab and writes to a temporary name next to the target, renamed
into place only when complete: a failed or interrupted export leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import h5py
import numpy as np
import tifffile

from emstudio.core.destinations import check_new_file
from emstudio.core.errors import DestinationError
from emstudio.core.progress import Progress, no_progress
from emstudio.core.project.atomic import TMP_PREFIX, remove_tree
from emstudio.core.project.labels import labelled_slices
from emstudio.core.project.project import Project
from emstudio.core.project.records import VolumeRecord
from emstudio.core.text import counted
from emstudio.core.volume.store import Volume, VolumeWriter

FORMATS = {".tif": "tiff", ".tiff": "tiff", ".zarr": "zarr", ".h5": "hdf5", ".hdf5": "hdf5"}
IMAGEJ_LIMIT = 2**32 - 2**25  # ImageJ TIFFs must stay below 4 GiB; larger ones become OME BigTIFF
IMAGEJ_DTYPES = ("uint8", "uint16", "float32")  # the others (uint32 segmentations): OME TIFF
NOT_LABELLED = 255  # a label set's voxels on no labelled plane, as ``import`` reads labels


def export_format(out: Path) -> str:
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise DestinationError(
            f"{out}: unknown output format {out.suffix!r}; use .tif, .zarr or .h5."
        )
    return fmt


@dataclass
class Exported:
    path: Path
    note: str = ""  # what a person should know about the file written ("" when nothing)


def export_record(
    project: Project, record: VolumeRecord, out: Path, progress: Progress = no_progress
) -> Exported:
    """Write a project volume to ``out``. A label set's voxels on none of its labelled slices
    (planes painted or traced) are written as 255, "not labelled", as ``import`` reads them."""
    volume = Volume(project.resolve(record.path))
    labelled = None
    if record.kind == "labels" and record.attrs.get("labelled_slices"):
        labelled = {axis: sorted(planes) for axis, planes in labelled_slices(record).items()}
    path = export_volume(volume, out, progress, project.path, labelled)
    if labelled is None:
        return Exported(path)
    count = sum(map(len, labelled.values()))
    return Exported(
        path,
        f"voxels off its {counted(count, 'labelled slice')} are {NOT_LABELLED}, 'not labelled' "
        "(0 is background).",
    )


def export_volume(
    volume: Volume,
    out: Path,
    progress: Progress = no_progress,
    project_root: Path | None = None,
    labelled: dict[str, list[int]] | None = None,
) -> Path:
    """Write level 0 of ``volume`` to ``out`` (never inside ``project_root``); returns the path
    written. ``labelled``: only these planes per axis ("z": XY, "y": XZ, "x": YZ) are written
    as they are, every other voxel as NOT_LABELLED."""
    fmt = export_format(Path(out))
    out = check_new_file(out, project_root)
    tmp = out.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex[:8]}-{out.name}")
    try:
        writers = {"tiff": _write_tiff, "zarr": partial(_write_zarr, name=out.stem)}
        slabs = partial(_slabs, volume, progress=progress, labelled=labelled)
        writers.get(fmt, _write_hdf5)(volume, tmp, slabs)
        _place(tmp, out)
    except FileExistsError:
        raise DestinationError(f"{out}: was made meanwhile (by another export?); kept as it is, "
                               "choose another name.") from None  # fmt: skip
    except OSError as exc:
        raise DestinationError(f"{out}: cannot write ({exc.strerror or exc}).") from exc
    finally:
        remove_tree(tmp)
    return out


def _place(tmp: Path, out: Path) -> None:
    """Give the finished file (or Zarr folder) its name, never over one made meanwhile
    (FileExistsError): a file by a hard link where the file system has them, a folder by a
    rename (which fails onto a folder that is not empty)."""
    if tmp.is_dir():
        if out.exists():
            raise FileExistsError(out)
        os.rename(tmp, out)
        return
    try:
        os.link(tmp, out)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links (FAT, some network shares)
        if out.exists():
            raise FileExistsError(out) from None
        os.replace(tmp, out)
        return
    tmp.unlink()


Slabs = Callable[[], Iterator[np.ndarray]]  # the volume's z slabs, in order, as written


def _slabs(
    volume: Volume, progress: Progress, labelled: dict[str, list[int]] | None
) -> Iterator[np.ndarray]:
    z = volume.shape[0]
    for z0, block in volume.iter_slabs():
        yield block if labelled is None else _only_labelled(block, z0, labelled)
        progress(min(z0 + block.shape[0], z), z, f"writing planes {z0 + block.shape[0]}/{z}")


def _only_labelled(block: np.ndarray, z0: int, labelled: dict[str, list[int]]) -> np.ndarray:
    """``block`` (planes z0...) with every voxel off the labelled planes set to NOT_LABELLED."""
    out = np.full_like(block, NOT_LABELLED)
    zs = [z - z0 for z in labelled["z"] if z0 <= z < z0 + block.shape[0]]
    out[zs] = block[zs]
    out[:, labelled["y"]] = block[:, labelled["y"]]
    out[:, :, labelled["x"]] = block[:, :, labelled["x"]]
    return out


def _write_tiff(volume: Volume, path: Path, slabs: Slabs) -> None:
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
        tif.write((plane for block in slabs() for plane in block), **options)


def _write_zarr(volume: Volume, path: Path, slabs: Slabs, name: str) -> None:
    """OME-Zarr named ``name`` (not after the temporary folder it is written in)."""
    kind = volume.attrs.get("kind", "image")
    with VolumeWriter(path, volume.shape, volume.dtype, volume.voxel_size, kind, name) as writer:
        z0 = 0
        for block in slabs():
            writer.write_slab(z0, block)
            z0 += block.shape[0]
        writer.finalize({k: v for k, v in volume.attrs.items() if k not in ("kind", "voxel_size")})


def _write_hdf5(volume: Volume, path: Path, slabs: Slabs) -> None:
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
        for block in slabs():
            data[z0 : z0 + block.shape[0]] = block
            z0 += block.shape[0]
        # element_size_um is what ilastik and Fiji's HDF5 plugin read (z, y, x in micrometres)
        if volume.voxel_size.known:
            data.attrs["element_size_um"] = np.array(volume.voxel_size.zyx) / 1000.0
        with contextlib.suppress(TypeError):
            data.attrs["axes"] = "zyx"
