"""Pick the reader for what the user named: a file, several slice files, or a folder.

- One TIFF file (.tif .tiff .btf .tf8 .tf2): TiffSource.
- .mrc .rec .map .st .ali .mrcs: MrcSource.
- .h5 .hdf5 .hdf .he5, optionally ``file.h5:/path/to/dataset``: Hdf5Source.
- A Zarr/OME-Zarr folder (.zgroup, .zarray or zarr.json inside, or named *.zarr), or its
  metadata file picked in a file dialog: ZarrSource. N5 folders: refused with a conversion hint.
- Any other folder: a folder of slices (natural name order).
- Several files: slices, put in natural order of their names (shell wildcards sort img10
  before img2); a note records when the given order was changed.
- One 2D image (PNG/JPEG, single-page TIFF): refused, a 3D stack is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from emstudio.core.errors import InputFileError
from emstudio.core.io.base import VolumeSource
from emstudio.core.io.hdf5 import HDF5_SUFFIXES, Hdf5Source, split_hdf5_path
from emstudio.core.io.mrc import MRC_SUFFIXES, MrcSource
from emstudio.core.io.slice_folder import (
    SLICE_SUFFIXES,
    open_slice_files,
    open_slice_folder,
    read_slice_header,
)
from emstudio.core.io.source_base import require_stack
from emstudio.core.io.tiff import TIFF_SUFFIXES, TiffSource
from emstudio.core.io.zarr_source import N5_HINT, ZarrSource, is_n5_dir, is_zarr_dir

SUPPORTED_FORMATS = (
    "TIFF / OME-TIFF / BigTIFF stacks (.tif, .tiff, .btf), a folder of 2D slices "
    "(.tif, .tiff, .png, .jpg), MRC (.mrc, .rec, .map, .st, .ali, .mrcs), "
    "HDF5 (.h5, .hdf5, .hdf, optionally file.h5:/dataset), Zarr / OME-Zarr folders"
)
_ZARR_METADATA_FILES = (".zgroup", ".zarray", ".zattrs", "zarr.json")


def open_source(paths: Sequence[str | Path] | str | Path) -> VolumeSource:
    """Open the volume named by ``paths`` (one path, or several slice files).

    Raises InputFileError for a missing path, an unknown format, a 2D image or bad content.
    """
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    if not items:
        raise ValueError("open_source needs at least one path")
    if len(items) > 1:
        for item in items:
            _require_exists(Path(item))
        folders = [p for p in items if Path(p).is_dir()]
        if folders:
            raise InputFileError(
                folders[0], "is a folder; give either one folder or several slice files"
            )
        return open_slice_files(items)
    return _open_one(items[0])


def _require_exists(path: Path) -> None:
    if not path.exists():
        raise InputFileError(path, "does not exist")


def _open_one(item: str | Path) -> VolumeSource:
    text = str(item)
    h5_path, dataset = split_hdf5_path(text)
    if h5_path.suffix.lower() in HDF5_SUFFIXES:
        _require_exists(h5_path)
        return Hdf5Source(h5_path, dataset)
    path = Path(item)
    _require_exists(path)
    if path.is_dir():
        if is_n5_dir(path):
            raise InputFileError(path, N5_HINT)
        if is_zarr_dir(path):
            return ZarrSource(path)
        return open_slice_folder(path)
    name, suffix = path.name.lower(), path.suffix.lower()
    if name in _ZARR_METADATA_FILES:
        return ZarrSource(path.parent)
    if name == "attributes.json" and is_n5_dir(path.parent):
        raise InputFileError(path.parent, N5_HINT)
    if suffix in TIFF_SUFFIXES:
        return TiffSource(path)
    if suffix in MRC_SUFFIXES:
        return MrcSource(path)
    if suffix in SLICE_SUFFIXES:
        header = read_slice_header(path)
        require_stack(path, (1, header.y, header.x))
    raise InputFileError(path, f"has an unknown format; supported: {SUPPORTED_FORMATS}")
