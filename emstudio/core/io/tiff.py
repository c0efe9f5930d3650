"""Multi-page TIFF, ImageJ hyperstack TIFF, OME-TIFF (series 0, level 0) and BigTIFF volumes.

Data are read plane by plane (or, for uncompressed contiguous data, as one byte range per slab),
never the whole file. Voxel size comes from the OME-XML ``PhysicalSize*`` attributes, or from the
ImageJ ``spacing``/``unit`` entries plus the XResolution/YResolution tags (pixels per unit).
"""

from __future__ import annotations

import logging
import math
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import tifffile

from emstudio.core.errors import InputFileError
from emstudio.core.io.base import SourceInfo, VoxelSize
from emstudio.core.io.source_base import SourceBase, require_stack
from emstudio.core.io.units import nm_per_unit, to_nm, voxel_size_nm

TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8", ".tf2")

_AXIS_WORDS = {"C": "channels", "T": "time points", "Z": "slices", "S": "samples"}


class _Collect(logging.Filter):
    """Keeps tifffile's warnings/errors for our own message instead of printing them."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            self.messages.append(record.getMessage())
            return False
        return True


@contextmanager
def tifffile_messages() -> Iterator[list[str]]:
    """Collect the messages tifffile logs inside the block (they are not printed)."""
    logger = logging.getLogger("tifffile")
    collect = _Collect()
    logger.addFilter(collect)
    try:
        yield collect.messages
    finally:
        logger.removeFilter(collect)


def open_tiff(path: Path) -> tifffile.TiffFile:
    """Open ``path`` with tifffile; InputFileError when it is not a readable TIFF."""
    try:
        return tifffile.TiffFile(path)
    except (ImportError, MemoryError):
        raise
    except Exception as exc:
        raise InputFileError(
            path,
            "is not a readable TIFF: it is damaged, or another kind of file with a TIFF name "
            f"(the reader said: {exc})",
        ) from exc


def check_page_chain(path: Path, tif: tifffile.TiffFile, messages: list[str]) -> None:
    """Raise InputFileError when tifffile reported a broken page chain (truncated/damaged file)."""
    for message in messages:
        match = re.search(r"invalid page offset (\d+)", message)
        if match is not None:
            readable = len(tif.pages)
            if int(match.group(1)) >= os.path.getsize(path):
                raise InputFileError(path, f"is truncated: page {readable + 1} could not be read")
            raise InputFileError(
                path, f"is damaged: page {readable + 1} could not be read ({message})"
            )
    for message in messages:
        if "corrupted" in message or "truncated" in message:
            raise InputFileError(path, f"is damaged or truncated ({message})")


def tiff_voxel_size(tif: tifffile.TiffFile, notes: list[str]) -> VoxelSize:
    """Voxel size in nm from OME-XML or ImageJ metadata; unknown (with a note) otherwise."""
    if tif.is_ome and tif.ome_metadata:
        found = _ome_voxel_size(tif.ome_metadata, notes)
        if found is not None:
            return found
    if tif.is_imagej:
        return _imagej_voxel_size(tif, notes)
    return VoxelSize()


def _ome_voxel_size(xml: str, notes: list[str]) -> VoxelSize | None:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        notes.append(f"The OME-XML metadata could not be parsed ({exc}); voxel size unknown.")
        return None
    pixels = next((el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return None
    sizes: list[float | None] = []
    for axis in "ZYX":
        value = pixels.get(f"PhysicalSize{axis}")
        unit = pixels.get(f"PhysicalSize{axis}Unit", "µm")  # the OME schema's default
        size = None if value is None else to_nm(value, unit)
        if value is not None and size is None:
            notes.append(f"OME-XML PhysicalSize{axis}={value} {unit} is not a usable length.")
        sizes.append(size)
    if all(s is None for s in sizes):
        return None
    return voxel_size_nm(sizes, "ome-xml", notes, "OME-XML metadata")


def _imagej_voxel_size(tif: tifffile.TiffFile, notes: list[str]) -> VoxelSize:
    meta = tif.imagej_metadata or {}
    unit = _imagej_unit(meta.get("unit"))
    page = tif.pages.first
    sizes: dict[str, float | None] = {}
    for axis, tag in (("x", "XResolution"), ("y", "YResolution")):
        axis_unit = _imagej_unit(meta.get(f"{axis}unit", unit)) if axis == "y" else unit
        sizes[axis] = _per_pixel(page.tags.get(tag), axis_unit)
    spacing = meta.get("spacing")
    z_unit = _imagej_unit(meta.get("zunit", unit))
    sizes["z"] = None if spacing is None else to_nm(spacing, z_unit)
    if unit is not None and nm_per_unit(unit) is None and unit.lower() not in ("pixel", "pixels"):
        notes.append(f"ImageJ unit {unit!r} is not a length unit emstudio knows.")
    if all(v is None for v in sizes.values()):
        return VoxelSize()
    return voxel_size_nm([sizes["z"], sizes["y"], sizes["x"]], "imagej", notes, "ImageJ metadata")


def _imagej_unit(unit: object) -> str | None:
    if not isinstance(unit, str):
        return None
    # ImageJ writes micrometres as "micron" or as an escaped "\u00B5m"
    return unit.replace("\\u00B5", "µ").replace("\\u00b5", "µ").strip()


def _per_pixel(tag: tifffile.TiffTag | None, unit: str | None) -> float | None:
    """Pixel size in nm from a resolution tag (pixels per ``unit``)."""
    if tag is None or unit is None:
        return None
    value = tag.value
    try:
        per_unit = value[0] / value[1] if isinstance(value, tuple) else float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not math.isfinite(per_unit) or per_unit <= 0:
        return None
    return to_nm(1.0 / per_unit, unit)


def _page_end(page: tifffile.TiffPage | tifffile.TiffFrame) -> int:
    """File position just after the last byte of the page's image data (0 if unknown)."""
    offsets, counts = page.dataoffsets, page.databytecounts
    if not offsets or not counts:
        return 0
    return max(o + n for o, n in zip(offsets, counts, strict=True))


def _describe_axes(axes: str, shape: tuple[int, ...]) -> str:
    parts = [
        f"{n} {_AXIS_WORDS.get(a, f'planes along axis {a}')}"
        for a, n in zip(axes, shape, strict=True)
        if a not in "YX"
    ]
    return ", ".join(parts)


class TiffSource(SourceBase):
    """A 3D volume from a multi-page, ImageJ, OME or Big TIFF file (series 0, level 0)."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        with tifffile_messages() as messages:
            self._tif = open_tiff(self._path)
            try:
                self._setup(messages)
            except BaseException:
                self._tif.close()
                raise

    def _setup(self, messages: list[str]) -> None:
        path, tif = self._path, self._tif
        if not tif.series:
            check_page_chain(path, tif, messages)
            raise InputFileError(path, "is a TIFF file without any image")
        series = tif.series[0]
        check_page_chain(path, tif, messages)
        axes, shape = series.axes, tuple(int(n) for n in series.shape)
        notes: list[str] = []
        if "Y" not in axes or "X" not in axes or axes.index("Y") > axes.index("X"):
            raise InputFileError(path, f"has an unsupported axis layout {axes} {shape}")
        others = [(a, n) for a, n in zip(axes, shape, strict=True) if a not in "YXS" and n > 1]
        kind = (
            "an OME-TIFF" if tif.is_ome else "an ImageJ hyperstack" if tif.is_imagej else "a TIFF"
        )
        if len(others) > 1 or (others and others[0][0] not in "ZIQ"):
            what = _describe_axes(axes, shape)
            hint = ""
            if len(others) == 1:
                hint = (
                    f" If these are really z slices, set Channels=1, Slices={others[0][1]}, "
                    "Frames=1 in Fiji (Image > Properties) and save again."
                )
            raise InputFileError(
                path,
                f"is {kind} with {what} (axes {axes}); emstudio needs one grey or RGB z-stack "
                f"without channels or time points. Save one channel/time point as a stack.{hint}",
            )
        channels = 1
        if "S" in axes:
            channels = shape[axes.index("S")]
            if channels not in (3, 4):
                raise InputFileError(
                    path,
                    f"has {channels} samples per pixel; only grey, RGB and RGBA images are "
                    "supported",
                )
        depth = others[0][1] if others else 1
        z_axis = axes.index(others[0][0]) if others else -1
        y, x = shape[axes.index("Y")], shape[axes.index("X")]
        self._planar = "S" in axes and axes.index("S") < axes.index("Y")
        if depth == 1 and self._planar:
            raise InputFileError(
                path,
                f"holds one {y} x {x} image with {channels} colour planes, not a z-stack. "
                f"If these are {channels} z slices, save them as a stack of {channels} pages "
                "(in Fiji: Image > Color > Stack to Images, then Image > Stacks > Images to "
                "Stack; in Python: tifffile.imwrite(path, stack, photometric='minisblack')).",
            )
        require_stack(path, (depth, y, x))
        self._series = series
        self._byteorder = tif.byteorder
        self._filesize = os.path.getsize(path)
        self._plane_bytes = y * x * channels * series.dtype.itemsize
        offset = series.dataoffset
        # contiguous data are read as byte ranges; the z axis must then be the slowest one
        self._offset = offset if offset is not None and z_axis == 0 else None
        if self._offset is None and len(series.pages) < depth:
            raise InputFileError(
                path, f"stores {depth} planes in {len(series.pages)} pages; not supported"
            )
        self._check_complete(depth)
        if len(tif.series) > 1 and not tif.is_ome:
            notes.append(
                f"The file holds {len(tif.series)} image series; only the first "
                f"({_describe_axes(axes, shape) or 'one plane'}, {y} x {x}) is read."
            )
        elif tif.is_ome and len(tif.series) > 1:
            notes.append(f"The OME-TIFF holds {len(tif.series)} images; only the first is read.")
        if messages:
            notes.append("tifffile: " + "; ".join(dict.fromkeys(messages)))
        voxel = tiff_voxel_size(tif, notes)
        self.info = SourceInfo(
            path=str(path),
            format="ome-tiff" if tif.is_ome else "tiff",
            shape=(depth, y, x),
            dtype=np.dtype(series.dtype).newbyteorder("="),
            voxel_size=voxel,
            channels=channels,
            notes=notes,
        )

    def _check_complete(self, depth: int) -> None:
        """Raise InputFileError now if the file is visibly shorter than its planes need."""
        if self._offset is not None:
            have = (self._filesize - self._offset) // self._plane_bytes
            if have < depth:
                self._truncated(int(have))
            return
        try:
            last = self._series.pages[depth - 1]
        except (IndexError, ValueError, OSError, KeyError):
            last = None
        if last is None:
            self._truncated(depth - 1)
        assert last is not None
        self._check_page_bytes(last, depth - 1)

    def _check_page_bytes(self, page: tifffile.TiffPage | tifffile.TiffFrame, index: int) -> None:
        if _page_end(page) > self._filesize:
            self._truncated(index)

    def _truncated(self, index: int) -> None:
        raise InputFileError(self._path, f"is truncated: page {index + 1} could not be read")

    def _read(self, z0: int, z1: int) -> np.ndarray:
        if self._offset is not None:
            return self._read_contiguous(z0, z1)
        out = np.empty(self.slab_shape(z1 - z0), dtype=self.info.dtype)
        for z in range(z0, z1):
            out[z - z0] = self._read_page(z)
        return out

    def _read_contiguous(self, z0: int, z1: int) -> np.ndarray:
        assert self._offset is not None
        file_dtype = self.info.dtype.newbyteorder(self._byteorder)
        nbytes = (z1 - z0) * self._plane_bytes
        data = np.empty(nbytes // file_dtype.itemsize, dtype=file_dtype)
        fh = self._tif.filehandle
        with fh.lock:
            fh.seek(self._offset + z0 * self._plane_bytes)
            got = fh.readinto(memoryview(data).cast("B"))
        if got < nbytes:
            self._truncated(z0 + got // self._plane_bytes)
        if not file_dtype.isnative:
            data = data.byteswap(inplace=True).view(self.info.dtype)
        _, y, x = self.info.shape
        if self._planar:
            block = data.reshape(z1 - z0, self.info.channels, y, x).transpose(0, 2, 3, 1)
            return np.ascontiguousarray(block)
        return data.reshape(self.slab_shape(z1 - z0))

    def _read_page(self, z: int) -> np.ndarray:
        page = None
        try:
            page = self._series.pages[z]
            if page is None:
                raise ValueError("page is missing")
            self._check_page_bytes(page, z)
            plane = page.asarray()
        except InputFileError:
            raise
        except (ImportError, MemoryError):
            raise
        except Exception as exc:
            if page is not None and _page_end(page) > os.path.getsize(self._path):
                raise InputFileError(
                    self._path, f"is truncated: page {z + 1} could not be read"
                ) from exc
            raise InputFileError(
                self._path, f"is damaged: page {z + 1} could not be read ({exc})"
            ) from exc
        if self._planar:
            plane = np.moveaxis(plane, 0, -1)
        return plane.reshape(self.slab_shape(1)[1:])

    def _close(self) -> None:
        self._tif.close()
