"""A z-stack stored as one 2D image file per plane: a folder of slices or a list of files.

Accepted files: TIFF (``.tif``, ``.tiff``; read with tifffile), PNG and JPEG (``.png``, ``.jpg``,
``.jpeg``; read with imageio's Pillow plugin, a dependency of scikit-image). Files are ordered by
natural sort of their names (``img2.tif`` before ``img10.tif``); hidden files are skipped. Each
file must hold one grey or RGB(A) plane; grey+alpha PNGs keep the grey channel. All slices must
have the same size, channel count and dtype, checked at open from the file headers only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import imageio.v3 as iio
import natsort
import numpy as np

from emstudio.core.errors import InputFileError
from emstudio.core.io.base import SourceInfo, VoxelSize
from emstudio.core.io.source_base import SourceBase
from emstudio.core.io.tiff import TIFF_SUFFIXES, open_tiff, tiff_voxel_size, tifffile_messages

SLICE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg")
_FORMATS = {".tif": "tiff", ".tiff": "tiff", ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}


@dataclass(frozen=True)
class SliceHeader:
    """What one slice file holds, from its header."""

    y: int
    x: int
    channels: int  # 1, 3 or 4 after dropping a grey image's alpha
    dtype: np.dtype
    layout: str  # "yx", "yxc", "cyx" (planar TIFF) or "yxa" (grey + alpha)

    def describe(self) -> str:
        kind = {1: "grey", 3: "RGB", 4: "RGBA"}[self.channels]
        return f"{self.y} x {self.x} (Y x X) {kind} {self.dtype}"


def is_slice_file(path: Path) -> bool:
    """True for a visible file with one of the slice suffixes."""
    return (
        path.suffix.lower() in SLICE_SUFFIXES and not path.name.startswith(".") and path.is_file()
    )


def list_slice_files(folder: Path) -> list[Path]:
    """Slice files directly in ``folder``, naturally sorted by name."""
    files = [p for p in folder.iterdir() if is_slice_file(p)]
    return natsort.natsorted(files, key=lambda p: p.name, alg=natsort.ns.IGNORECASE)


def open_slice_folder(folder: str | Path) -> SliceStackSource:
    """A SliceStackSource over the slice files in ``folder`` (natural name order)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError(folder, "is not a folder")
    files = list_slice_files(folder)
    if not files:
        entries = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        if not entries:
            raise InputFileError(
                folder, "is empty; a folder of slices needs one image file per z plane"
            )
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise InputFileError(
            folder,
            f"contains no image slices ({', '.join(SLICE_SUFFIXES)}); found: {shown}",
        )
    return SliceStackSource(files, path=folder)


def open_slice_files(paths: Sequence[str | Path]) -> SliceStackSource:
    """A SliceStackSource over explicitly given files, put in natural order of their names.

    Shell wildcards sort lexically (img10 before img2), so the given order is not trusted; a
    note records it when the order changed.
    """
    files = [Path(p) for p in paths]
    for path in files:
        if path.suffix.lower() not in SLICE_SUFFIXES:
            raise InputFileError(
                path,
                "cannot be a slice of a stack: several files must all be 2D images "
                f"({', '.join(SLICE_SUFFIXES)})",
            )
    ordered = natsort.natsorted(files, key=lambda p: p.name, alg=natsort.ns.IGNORECASE)
    notes = []
    if ordered != files:
        notes.append("The given files were put in natural order of their names.")
    folders = {p.parent for p in files}
    label = files[0].parent if len(folders) == 1 else files[0]
    return SliceStackSource(ordered, path=label, notes=notes)


class SliceStackSource(SourceBase):
    """A volume whose z planes are separate 2D image files, in the order given."""

    def __init__(self, files: Sequence[Path], path: str | Path, notes: Sequence[str] = ()) -> None:
        self._files = [Path(f) for f in files]
        if len(self._files) < 2:
            name = self._files[0].name if self._files else "none"
            raise InputFileError(
                path,
                f"contains only one image slice ({name}); a 3D stack needs at least 2 slices",
            )
        first = read_slice_header(self._files[0])
        for file in self._files[1:]:
            header = read_slice_header(file)
            if header != first:
                this, that = header.describe(), first.describe()
                if this == that:  # same size and type, samples stored differently
                    this, that = f"{this} ({header.layout})", f"{that} ({first.layout})"
                raise InputFileError(
                    file,
                    f"is {this} but the first slice {self._files[0].name} is {that}; "
                    "all slices must have the same size and type",
                )
        self._first = first
        all_notes = list(notes)
        suffixes = {f.suffix.lower() for f in self._files}
        formats = sorted({_FORMATS[s] for s in suffixes})
        if "jpeg" in formats:
            all_notes.append("JPEG slices are lossy-compressed; prefer TIFF or PNG exports.")
        if first.layout == "yxa":
            all_notes.append("The slices are grey + alpha; the alpha channel is ignored.")
        self.info = SourceInfo(
            path=str(path),
            format=f"{formats[0]}-folder" if len(formats) == 1 else "image-folder",
            shape=(len(self._files), first.y, first.x),
            dtype=first.dtype,
            voxel_size=self._voxel_size(all_notes),
            channels=first.channels,
            notes=all_notes,
        )

    @property
    def files(self) -> list[Path]:
        """The slice files, in z order."""
        return list(self._files)

    def _voxel_size(self, notes: list[str]) -> VoxelSize:
        first_tiff = next((f for f in self._files if f.suffix.lower() in TIFF_SUFFIXES), None)
        if first_tiff is None:
            return VoxelSize()
        with tifffile_messages(), open_tiff(first_tiff) as tif:
            return tiff_voxel_size(tif, notes)

    def _read(self, z0: int, z1: int) -> np.ndarray:
        out = np.empty(self.slab_shape(z1 - z0), dtype=self.info.dtype)
        for z in range(z0, z1):
            out[z - z0] = self._read_plane(self._files[z])
        return out

    def _read_plane(self, path: Path) -> np.ndarray:
        try:
            if path.suffix.lower() in TIFF_SUFFIXES:
                with tifffile_messages(), open_tiff(path) as tif:
                    plane = tif.series[0].asarray()
            else:
                plane = iio.imread(path, plugin="pillow")
        except InputFileError:
            raise
        except (ImportError, MemoryError):
            raise
        except Exception as exc:
            raise InputFileError(path, f"could not be read: {exc}") from exc
        layout = self._first.layout
        if layout == "cyx":
            plane = np.moveaxis(plane, 0, -1)
        elif layout == "yxa":
            plane = plane[..., 0]
        expected = self.slab_shape(1)[1:]
        if plane.shape != expected or plane.dtype != self.info.dtype:
            raise InputFileError(
                path,
                f"holds {plane.shape} {plane.dtype}, expected {expected} {self.info.dtype} "
                "like the first slice",
            )
        return plane


def read_slice_header(path: Path) -> SliceHeader:
    """Size, channels and dtype of one slice file, from its header."""
    if path.suffix.lower() in TIFF_SUFFIXES:
        with tifffile_messages(), open_tiff(path) as tif:
            if not tif.series:
                raise InputFileError(path, "is a TIFF file without any image")
            series = tif.series[0]
            axes, shape = series.axes, tuple(series.shape)
            dtype = np.dtype(series.dtype).newbyteorder("=")
        if axes in ("YX", "YXS", "SYX"):
            layout = {"YX": "yx", "YXS": "yxc", "SYX": "cyx"}[axes]
            return _make_header(path, shape, layout, dtype)
        planes = int(np.prod([n for a, n in zip(axes, shape, strict=True) if a not in "YXS"]))
        raise InputFileError(
            path,
            f"holds {planes} planes (axes {axes}); each file of a slice stack must hold "
            "one 2D image",
        )
    try:
        props = iio.improps(path, plugin="pillow")
    except (ImportError, MemoryError):
        raise
    except Exception as exc:
        raise InputFileError(path, f"is not a readable image: {exc}") from exc
    shape = tuple(props.shape)
    layout = "yx" if len(shape) == 2 else "yxc"
    if len(shape) == 3 and shape[2] == 2:
        layout = "yxa"
    return _make_header(path, shape, layout, np.dtype(props.dtype))


def _make_header(path: Path, shape: tuple[int, ...], layout: str, dtype: np.dtype) -> SliceHeader:
    if layout == "cyx":
        channels, y, x = shape
    elif layout == "yx":
        (y, x), channels = shape, 1
    else:
        y, x, channels = shape
    if layout == "yxa":
        channels = 1
    elif channels not in (1, 3, 4):
        raise InputFileError(path, f"has {channels} channels; only grey and RGB(A) are supported")
    return SliceHeader(int(y), int(x), int(channels), dtype, layout)
